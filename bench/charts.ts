/**
 * Bar charts (hand-written SVG, no dependency) from the figures the benches write with `--json FILE`:
 *
 *   npx node bench/charts.ts [--client bench/results/client-vs-jsforce.json] [--sync bench/results/sync.json]
 *                            [--out docs/charts]
 *
 * - from `bench/client-vs-jsforce.ts --json`: peak RSS, CPU (user + system) and records/s of the sfbridge
 *   library, the sfbridge CLI and jsforce for each query, plus the upsert throughput
 *   (client-vs-jsforce-memory.svg, -cpu.svg, -throughput.svg; a chart is left out when its figure is missing);
 * - from `bench/sync.ts --json`: initial sync vs raw read records/s per repetition (sync-throughput.svg).
 *
 * The files under bench/results/ are such JSON documents; each names the command that produced its figures.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    client: { type: 'string', default: 'bench/results/client-vs-jsforce.json' },
    sync: { type: 'string', default: 'bench/results/sync.json' },
    out: { type: 'string', default: 'docs/charts' },
  },
});

interface Variant {
  name: string;
  lib: string;
  wallMs: number | null;
  cpuMs: number | null;
  maxRssBytes: number | null;
  apiCalls?: number;
}
interface ClientFigures {
  bench: 'client-vs-jsforce';
  command: string;
  date: string;
  note?: string;
  queries: { fields: number; rows: number; variants: Variant[] }[];
  baseline?: Record<string, { cpuMs: number | null; maxRssBytes: number | null }>;
  upserts?: { client: string; records: number; ms: number; recordsPerSecond: number; apiCalls: number; maxRssBytes: number | null }[];
}
interface SyncFigures {
  bench: 'sync';
  command: string;
  date: string;
  note?: string;
  seed: string;
  repetitions: { order: string; syncSeconds: number; rawSeconds: number; written: number; rawRecords: number; recordsPerSecond?: number; rawRecordsPerSecond?: number }[];
  ratioMedian: number;
  /** The goal for the ratio, as text (e.g. "≤ 1.15"), when there is one. */
  goal?: string;
  peakRssBytes?: number | null;
}

/** One bar: its label, value and colour; `group` starts a labelled block of bars. */
interface Bar {
  label: string;
  value: number;
  colour: string;
  text: string;
}
interface Group {
  title: string;
  bars: Bar[];
}

const COLOURS: Record<string, string> = { sfbridge: '#1f6feb', cli: '#54aeff', jsforce: '#9a6700', 'jsforce-await': '#d4a72c', raw: '#8c959f' };

function esc(s: string): string {
  return s.replace(/`/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`;

/** Lines of at most `max` characters, broken at spaces (a long command stays readable). */
function wrap(line: string, max = 118): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur && cur.length + 1 + word.length > max) {
      out.push(cur);
      cur = `  ${word}`;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * A horizontal grouped bar chart: one row per bar, groups one after another, a linear scale from 0 shared by
 * every group (or, with `perGroupScale`, one per group: bars compare within their group only).
 */
function barChart(title: string, lines: string[], unit: string, groups: Group[], perGroupScale = false): string {
  const subtitle = [unit, ...lines].flatMap((l) => wrap(l));
  const width = 760;
  const labelW = 300;
  const valueW = 140;
  const barH = 18;
  const gap = 6;
  const groupGap = 14;
  const top = 34 + subtitle.length * 16 + 10;
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), 1e-9);
  const room = width - labelW - valueW - 20;
  const out: string[] = [];
  let y = top;
  for (const g of groups) {
    const scale = room / (perGroupScale ? Math.max(...g.bars.map((b) => b.value), 1e-9) : max);
    out.push(`<text x="10" y="${y + 12}" class="group">${esc(g.title)}</text>`);
    y += 20;
    for (const b of g.bars) {
      const w = Math.max(1, b.value * scale);
      out.push(`<text x="${labelW - 8}" y="${y + barH - 5}" class="label" text-anchor="end">${esc(b.label)}</text>`);
      out.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.colour}" rx="2"><title>${esc(`${b.label}: ${b.text}`)}</title></rect>`);
      out.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 5}" class="value">${esc(b.text)}</text>`);
      y += barH + gap;
    }
    y += groupGap;
  }
  const height = y + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    '<style>text{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;fill:#1f2328}.title{font-size:16px;font-weight:600}.sub{font-size:11px;fill:#59636e}.group{font-size:12px;font-weight:600}.label{font-size:12px}.value{font-size:12px;fill:#59636e}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" class="title">${esc(title)}</text>`,
    ...subtitle.map((s, i) => `<text x="10" y="${40 + i * 16}" class="sub">${esc(s)}</text>`),
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function colourOf(v: Variant): string {
  if (v.lib === 'jsforce') return /await/.test(v.name) ? COLOURS['jsforce-await'] : COLOURS.jsforce;
  return v.lib === 'cli' ? COLOURS.cli : COLOURS.sfbridge;
}

/** Short variant label: "sfbridge library", "sfbridge CLI", "jsforce stream", … */
function labelOf(v: Variant): string {
  return v.name.replace(/\s*`[^`]*`/g, '').replace(/\s*\(all records\)/, '').replace(/\.on\('record'\)/, 'stream').trim();
}

function clientCharts(f: ClientFigures): Record<string, string> {
  const sub = [`${f.command}`, `${f.date.slice(0, 10)}${f.note ? ` · ${f.note}` : ''}`];
  const charts: Record<string, string> = {};
  const queryTitle = (q: ClientFigures['queries'][number]) => `Query ${fmt(q.rows)} Accounts, ${q.fields} fields → JSONL file`;
  const rssGroups: Group[] = f.queries
    .map((q) => ({ title: queryTitle(q), bars: q.variants.filter((v) => v.maxRssBytes != null).map((v) => ({ label: labelOf(v), value: v.maxRssBytes!, colour: colourOf(v), text: mb(v.maxRssBytes!) })) }))
    .filter((g) => g.bars.length);
  if (f.baseline) {
    const names: Record<string, [string, string]> = { sfbridge: ['sfbridge library', COLOURS.sfbridge], cli: ['sfbridge CLI', COLOURS.cli], jsforce: ['jsforce', COLOURS.jsforce] };
    const bars = Object.entries(f.baseline).filter(([, b]) => b.maxRssBytes != null).map(([k, b]) => ({ label: names[k]?.[0] ?? k, value: b.maxRssBytes!, colour: names[k]?.[1] ?? COLOURS.raw, text: mb(b.maxRssBytes!) }));
    if (bars.length) rssGroups.push({ title: 'Baseline: load the library, run a one-row query', bars });
  }
  if (f.upserts?.some((u) => u.maxRssBytes != null)) {
    rssGroups.push({ title: `Upsert ${fmt(f.upserts[0].records)} Accounts via sObject Collections`, bars: f.upserts.filter((u) => u.maxRssBytes != null).map((u) => ({ label: u.client, value: u.maxRssBytes!, colour: u.client === 'jsforce' ? COLOURS.jsforce : COLOURS.sfbridge, text: mb(u.maxRssBytes!) })) });
  }
  if (rssGroups.length) charts['client-vs-jsforce-memory.svg'] = barChart('Peak RSS: sfbridge vs jsforce (lower is better)', sub, 'Peak RSS of each process (GNU time), one process per variant', rssGroups);

  const cpuGroups: Group[] = f.queries
    .map((q) => ({ title: queryTitle(q), bars: q.variants.filter((v) => v.cpuMs != null).map((v) => ({ label: labelOf(v), value: v.cpuMs! / 1000, colour: colourOf(v), text: `${fmt(v.cpuMs! / 1000, 2)} s` })) }))
    .filter((g) => g.bars.length);
  if (cpuGroups.length) charts['client-vs-jsforce-cpu.svg'] = barChart('CPU time: sfbridge vs jsforce (lower is better)', sub, 'User + system CPU of each process (GNU time), start-up included', cpuGroups);

  const tputGroups: Group[] = f.queries
    .map((q) => ({ title: queryTitle(q), bars: q.variants.filter((v) => v.wallMs).map((v) => { const r = q.rows / (v.wallMs! / 1000); return { label: labelOf(v), value: r, colour: colourOf(v), text: `${fmt(r)} records/s` }; }) }))
    .filter((g) => g.bars.length);
  if (f.upserts?.length) tputGroups.push({ title: `Upsert ${fmt(f.upserts[0].records)} Accounts via sObject Collections`, bars: f.upserts.map((u) => ({ label: u.client, value: u.recordsPerSecond, colour: u.client === 'jsforce' ? COLOURS.jsforce : COLOURS.sfbridge, text: `${fmt(u.recordsPerSecond)} records/s` })) });
  if (tputGroups.length) charts['client-vs-jsforce-throughput.svg'] = barChart('Throughput: sfbridge vs jsforce (higher is better)', sub, 'Records per second of process wall time (queries) or of the upsert; each group has its own scale', tputGroups, true);
  return charts;
}

function syncCharts(f: SyncFigures): Record<string, string> {
  const sub = [`${f.command}`, `${f.date.slice(0, 10)} · seed ${f.seed} · median ratio sync / raw read ${f.ratioMedian.toFixed(2)}${f.goal ? ` (goal ${f.goal})` : ''}${f.note ? ` · ${f.note}` : ''}`];
  const groups: Group[] = f.repetitions.map((r, i) => {
    const sync = r.recordsPerSecond ?? r.written / r.syncSeconds;
    const raw = r.rawRecordsPerSecond ?? r.rawRecords / r.rawSeconds;
    return {
      title: `Repetition ${i + 1} (${r.order}), ${fmt(r.written)} records`,
      bars: [
        { label: 'raw read (same queries, records discarded)', value: raw, colour: COLOURS.raw, text: `${fmt(raw)} records/s, ${fmt(r.rawSeconds, 1)} s` },
        { label: 'initial sync into SQLite', value: sync, colour: COLOURS.sfbridge, text: `${fmt(sync)} records/s, ${fmt(r.syncSeconds, 1)} s` },
      ],
    };
  });
  return { 'sync-throughput.svg': barChart('Initial sync vs raw read of the same records (higher is better)', sub, 'Records per second; the raw read runs the same queries as the sync and discards the records', groups) };
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

const client = readJson<ClientFigures>(values.client!);
const sync = readJson<SyncFigures>(values.sync!);
if (!client && !sync) throw new Error(`no figures: neither ${values.client} nor ${values.sync} exists (write them with the benches' --json FILE)`);
if (client && client.bench !== 'client-vs-jsforce') throw new Error(`${values.client}: not the output of bench/client-vs-jsforce.ts --json`);
if (sync && sync.bench !== 'sync') throw new Error(`${values.sync}: not the output of bench/sync.ts --json`);
const files = { ...(client ? clientCharts(client) : {}), ...(sync ? syncCharts(sync) : {}) };
mkdirSync(values.out!, { recursive: true });
for (const [name, svg] of Object.entries(files)) {
  writeFileSync(join(values.out!, name), svg);
  console.log(`wrote ${join(values.out!, name)}`);
}
