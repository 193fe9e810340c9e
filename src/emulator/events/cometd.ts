/**
 * The Streaming API over CometD/Bayeux (`POST /cometd/{version}`, long-polling only): handshake, connect,
 * subscribe with the replay extension, unsubscribe and disconnect, for the event bus's `/data/…` and
 * `/event/…` channels. Events go out in `/meta/connect` responses as JSON (only the carried fields, ISO `Z`
 * dates, `changedFields` decoded to names), with `data.event.replayId` as a number.
 *
 * A connect is held until an event is due or the hold (110 s, `advice.timeout`) ends. A client that has not
 * come back within 40 s of its last response is forgotten: its next message gets `403::Unknown client` and
 * `advice.reconnect: handshake`, as does every client after the `drop` fault, and a client the `streamDrop`
 * fault closes instead of delivering to it.
 */
import { randomBytes } from 'node:crypto';
import type { Ctx } from '../app.ts';
import { json } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { Org } from '../org.ts';
import type { SessionStore } from '../oauth/sessions.ts';
import { resolveTopic, toCometData, type Topic } from './topics.ts';

/** How long a `/meta/connect` is held with nothing to deliver (Salesforce: 110 s). */
export const DEFAULT_CONNECT_HOLD_MS = 110_000;
/** A client that does not reconnect within this long after a response is dropped. */
export const CLIENT_EXPIRY_MS = 40_000;
/** Events per connect response at most. */
const MAX_BATCH = 500;

interface Subscription {
  topic: Topic;
  position: number;
}

interface Client {
  id: string;
  token: string;
  subs: Map<string, Subscription>;
  /** When the last response went out (a client not back within CLIENT_EXPIRY_MS is forgotten). */
  lastResponse: number;
  /** Wakes the held connect, if any. */
  wake: (() => void) | null;
  /** False until the first /meta/connect, which is answered at once. */
  connected: boolean;
}

type Message = Record<string, unknown> & { channel?: string; id?: string; clientId?: string };

class CometdServer {
  readonly #org: Org;
  readonly #sessions: SessionStore;
  readonly #clients = new Map<string, Client>();
  holdMs = DEFAULT_CONNECT_HOLD_MS;

  constructor(org: Org, sessions: SessionStore) {
    this.#org = org;
    this.#sessions = sessions;
    org.bus.on('commit', () => {
      for (const c of this.#clients.values()) c.wake?.();
    });
    org.bus.on('drop', () => {
      for (const c of this.#clients.values()) c.wake?.();
      this.#clients.clear();
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, c] of this.#clients) if (!c.wake && now - c.lastResponse > CLIENT_EXPIRY_MS) this.#clients.delete(id);
  }

  async handle(ctx: Ctx): Promise<Response> {
    const header = ctx.req.headers.get('authorization') ?? '';
    const token = /^(?:OAuth|Bearer)\s+(.+)$/i.exec(header.trim())?.[1] ?? '';
    let body: unknown;
    try {
      body = JSON.parse(await ctx.req.text());
    } catch {
      return json([{ channel: '/meta/unknown', successful: false, error: '400::Bad request: the body must be a JSON array of Bayeux messages' }], 400);
    }
    const messages = (Array.isArray(body) ? body : [body]) as Message[];
    this.#sweep();
    const authed = token !== '' && this.#sessions.validate(token) !== null;
    const out: Message[] = [];
    let connect: { msg: Message; client: Client } | null = null;
    for (const msg of messages) {
      const base = { channel: msg.channel, ...(msg.id !== undefined ? { id: msg.id } : {}) };
      if (!authed) {
        out.push({ ...base, successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none' } });
        continue;
      }
      if (msg.channel === '/meta/handshake') {
        const id = randomBytes(21).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 28);
        this.#clients.set(id, { id, token, subs: new Map(), lastResponse: Date.now(), wake: null, connected: false });
        const ext = (msg.ext as Record<string, unknown> | undefined)?.replay ? { ext: { replay: true, 'payload.format': true } } : {};
        out.push({ ...base, successful: true, version: '1.0', minimumVersion: '1.0', clientId: id, supportedConnectionTypes: ['long-polling'], advice: { reconnect: 'retry', interval: 0, timeout: this.holdMs }, ...ext });
        continue;
      }
      const client = this.#clients.get(String(msg.clientId ?? ''));
      if (!client) {
        out.push({ ...base, ...(msg.channel === '/meta/subscribe' ? { subscription: msg.subscription } : {}), successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } });
        continue;
      }
      client.token = token;
      if (msg.channel === '/meta/connect') connect = { msg, client };
      else if (msg.channel === '/meta/subscribe') out.push(this.#subscribe(client, msg, base));
      else if (msg.channel === '/meta/unsubscribe') {
        for (const s of [msg.subscription].flat()) client.subs.delete(String(s));
        out.push({ ...base, clientId: client.id, subscription: msg.subscription, successful: true });
      } else if (msg.channel === '/meta/disconnect') {
        this.#clients.delete(client.id);
        client.wake?.();
        out.push({ ...base, clientId: client.id, successful: true });
      } else {
        out.push({ ...base, clientId: client.id, successful: false, error: '403::Publishing is not supported on the Streaming API; publish platform events through REST or the Pub/Sub API' });
      }
    }
    if (connect) out.push(...(await this.#connect(ctx, connect.client, connect.msg, out.length > 0)));
    for (const m of out) if (m.clientId) {
      const c = this.#clients.get(String(m.clientId));
      if (c) c.lastResponse = Date.now();
    }
    return json(out);
  }

  #subscribe(client: Client, msg: Message, base: Message): Message {
    const channel = String(msg.subscription ?? '');
    const topic = resolveTopic(this.#org, channel);
    const reply = { ...base, clientId: client.id, subscription: channel };
    if (!topic) return { ...reply, successful: false, error: `403::Unknown channel` };
    const replay = ((msg.ext as Record<string, unknown> | undefined)?.replay as Record<string, unknown> | undefined)?.[channel];
    const from = replay === undefined || replay === null ? -1 : Number(replay);
    let position: number;
    if (from === -1) position = this.#org.bus.tip;
    else if (from === -2) {
      this.#org.bus.purgeExpired();
      position = this.#org.bus.purgedThrough;
    } else {
      const start = Number.isSafeInteger(from) ? this.#org.bus.validReplayStart(from) : null;
      if (start === null) return { ...reply, successful: false, error: `400::The replayId {${String(replay)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.` };
      position = start;
    }
    client.subs.set(channel, { topic, position });
    client.wake?.();
    return { ...reply, successful: true };
  }

  /** True when a subscription of the client has an event to deliver. */
  #pending(client: Client): boolean {
    for (const [channel, sub] of client.subs) if (this.#org.bus.read(channel, sub.position, 1).length > 0) return true;
    return false;
  }

  /** Events due for a client, moving its positions. */
  #due(client: Client): Message[] {
    const out: Message[] = [];
    for (const [channel, sub] of client.subs) {
      const tip = this.#org.bus.tip;
      const events = this.#org.bus.read(channel, sub.position, MAX_BATCH - out.length);
      for (const ev of events) out.push({ channel, data: toCometData(this.#org, ev) });
      sub.position = events.length ? events[events.length - 1].replayId : Math.max(sub.position, tip);
      if (out.length >= MAX_BATCH) break;
    }
    return out;
  }

  /** The streamDrop fault: the client is forgotten before a delivery (its positions stay where they were). */
  #dropped(client: Client, reply: Message): Message[] | null {
    if (!this.#org.faults.roll('streamDrop')) return null;
    this.#clients.delete(client.id);
    return [{ ...reply, successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } }];
  }

  async #connect(ctx: Ctx, client: Client, msg: Message, immediate: boolean): Promise<Message[]> {
    const reply = { channel: '/meta/connect', ...(msg.id !== undefined ? { id: msg.id } : {}), clientId: client.id, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: this.holdMs } };
    if (this.#pending(client)) {
      const dropped = this.#dropped(client, reply);
      if (dropped) return dropped;
    }
    let events = this.#due(client);
    // The first connect after a handshake, or one batched with other messages, answers at once.
    const first = !client.connected || (msg.advice as Record<string, unknown> | undefined)?.timeout === 0;
    client.connected = true;
    if (events.length === 0 && !immediate && !first) {
      client.wake?.();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.holdMs);
        const onAbort = () => done();
        function done() {
          clearTimeout(timer);
          ctx.req.signal.removeEventListener('abort', onAbort);
          if (client.wake === done) client.wake = null;
          resolve();
        }
        ctx.req.signal.addEventListener('abort', onAbort);
        client.wake = done;
      });
      if (!this.#clients.has(client.id)) {
        return [{ ...reply, successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } }];
      }
      if (this.#pending(client)) {
        const dropped = this.#dropped(client, reply);
        if (dropped) return dropped;
      }
      events = this.#due(client);
    }
    return [...events, reply];
  }
}

const servers = new WeakMap<Org, CometdServer>();

/** The CometD endpoint of an org (created on first use); `holdMs` shortens the connect hold for tests. */
export function cometd(org: Org, sessions: SessionStore): CometdServer {
  let s = servers.get(org);
  if (!s) {
    s = new CometdServer(org, sessions);
    servers.set(org, s);
  }
  return s;
}

export function registerCometdRoutes(router: Router<Ctx>): void {
  router.on('POST', '/cometd/:version', (ctx) => cometd(ctx.org, ctx.sessions).handle(ctx));
  router.on('POST', '/cometd/replay/:version', (ctx) => cometd(ctx.org, ctx.sessions).handle(ctx));
}
