/**
 * Fault injection for tests and demos. A spec is a comma list: `http503=0.05,lockrow=0.1,latency=20,
 * commitDelay=500,tokenTtl=3600,dailyLimit=15000,streamDrop=0.1,gap=0.05,overflow=1000`. Probabilities are
 * 0..1; times are milliseconds except tokenTtl (seconds). The same settings can be changed at runtime through
 * `/__emulator/faults`.
 */
export interface FaultSettings {
  http503: number;
  http429: number;
  lockrow: number;
  reset: number;
  latency: number;
  commitDelay: number;
  tokenTtl: number;
  dailyLimit: number;
  /**
   * Concurrent long-running API requests allowed (§2.10: 25 in production orgs, 5 in Developer Edition);
   * a request arriving while this many have run for `longRequestMs` or more gets 403 REQUEST_LIMIT_EXCEEDED.
   */
  concurrentLongLimit: number;
  /** When a running request counts as long-running (Salesforce: 20 s). */
  longRequestMs: number;
  /**
   * Event streams: the chance that the server closes a subscription instead of delivering its next batch
   * (Pub/Sub: UNAVAILABLE; CometD: the client is forgotten, `403::Unknown client`). Nothing is lost: the
   * batch is delivered again to a client that resubscribes from its last replay id.
   */
  streamDrop: number;
  /** The chance that a record change is published as its header-only gap event (`GAP_UPDATE` for an update …). */
  gap: number;
  /**
   * Change events one transaction publishes per object before the rest become one `GAP_OVERFLOW` event
   * with no record ids (Salesforce: 100,000).
   */
  overflow: number;
}

export const DEFAULT_FAULTS: FaultSettings = {
  http503: 0,
  http429: 0,
  lockrow: 0,
  reset: 0,
  latency: 0,
  commitDelay: 0,
  tokenTtl: 7200,
  dailyLimit: 100_000,
  concurrentLongLimit: 25,
  longRequestMs: 20_000,
  streamDrop: 0,
  gap: 0,
  overflow: 100_000,
};

const PROBABILITIES = new Set(['http503', 'http429', 'lockrow', 'reset', 'streamDrop', 'gap']);
/** Counts that must be whole and at least 1. */
const POSITIVE_INTEGERS = new Set(['overflow']);

/** Parses a fault spec; throws an Error naming the bad entry and the accepted keys. */
export function parseFaultSpec(spec: string, base: FaultSettings = DEFAULT_FAULTS): FaultSettings {
  const out: FaultSettings = { ...base };
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, raw] = part.split('=');
    if (!(key in DEFAULT_FAULTS)) {
      throw new Error(`unknown fault "${key}" in "${spec}": use one of ${Object.keys(DEFAULT_FAULTS).join(', ')} (e.g. http503=0.1,latency=50)`);
    }
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new Error(`fault "${key}" needs a non-negative number, got "${raw ?? ''}" (e.g. ${key}=${PROBABILITIES.has(key) ? '0.1' : '100'})`);
    }
    if (PROBABILITIES.has(key) && value > 1) throw new Error(`fault "${key}" is a probability between 0 and 1, got ${value}`);
    if (POSITIVE_INTEGERS.has(key) && (!Number.isInteger(value) || value < 1)) throw new Error(`fault "${key}" is a count of at least 1, got ${raw} (e.g. ${key}=1000)`);
    out[key as keyof FaultSettings] = value;
  }
  return out;
}

export class Faults {
  settings: FaultSettings;
  readonly #random: () => number;
  constructor(settings: FaultSettings = DEFAULT_FAULTS, random: () => number = Math.random) {
    this.settings = { ...settings };
    this.#random = random;
  }
  roll(key: 'http503' | 'http429' | 'lockrow' | 'reset' | 'streamDrop' | 'gap'): boolean {
    const p = this.settings[key];
    return p > 0 && this.#random() < p;
  }
  /** When a write stamped at `now` becomes visible to queries (commitDelay: up to N ms later). */
  visibleAt(now: number): number {
    const d = this.settings.commitDelay;
    return d > 0 ? now + Math.floor(this.#random() * d) : 0;
  }
}

/** How long the cut response waits after its partial body before failing, so the bytes reach the client first. */
const CUT_FLUSH_MS = 20;

/**
 * The `reset` fault: the response starts normally (status, headers, the first half of its first chunk) and
 * then the connection drops, as when a load balancer or the network fails mid-transfer. The request has been
 * fully processed, so a write did happen: clients must not assume a failed call changed nothing.
 * A response with no body is dropped before anything is sent (`reset` is thrown).
 */
export function cutMidResponse(res: Response, reset: symbol): Response {
  if (!res.body) throw reset;
  const reader = res.body.getReader();
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sent) {
        sent = true;
        const { value } = await reader.read();
        const part = value ? value.subarray(0, Math.floor(value.length / 2)) : new Uint8Array();
        if (part.length > 0) {
          controller.enqueue(part);
          return;
        }
      }
      void reader.cancel().catch(() => {});
      await new Promise((r) => setTimeout(r, CUT_FLUSH_MS));
      controller.error(Object.assign(new Error('connection reset by the emulator (reset fault)'), { code: 'ECONNRESET' }));
    },
    cancel() {
      void reader.cancel().catch(() => {});
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
