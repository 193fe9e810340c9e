#!/usr/bin/env node
// No V8 flags on this line: `#!/usr/bin/env -S node --max-semi-space-size=8` breaks on BusyBox env (Alpine,
// the node:alpine images: no -S) and the CLI would not start at all. What that flag bought is set below instead.
// The bin is plain JS so any launcher can start it; it then loads the TypeScript CLI, which Node 24 runs
// natively (type stripping). npm puts the project's Node 24 (the `node` devDependency) first on PATH.
/** Commands that stream large data, and the V8 heap settings they run with (see below). */
const STREAMING_COMMANDS = new Set(['query', 'bulk']);
const STREAMING_V8_FLAGS = '--semi-space-growth-factor=1 --heap-growing-percent=20';
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`sfbridge needs Node.js 24 or newer (this is ${process.version}). Run it through npm/npx in the project (which uses the bundled Node 24), or install Node 24.`);
  process.exit(1);
}
// Cache compiled (and type-stripped) modules on disk: later starts skip the TypeScript stripper, which
// saves ~30 MB of RSS and most of the startup time.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// Streaming commands (a 1,000,000-row export, a 200,000-row load) allocate garbage fast. With V8's defaults
// that costs RSS twice: the young generation doubles up to 64 MB of semi-spaces, and the old generation (and
// the dead Buffers it holds) may grow well past what is live before a full GC. The young generation's size
// limit (--max-semi-space-size) is fixed at startup, and flags on the shebang line break BusyBox env, but these
// two are read each time the heap decides to grow, so they take effect when set here: growth factor 1 keeps
// the young generation at its initial 1 MB semi-spaces, and a 20% heap growing factor collects the old
// generation before it doubles. Measured (docs/BENCHMARKS.md, "Bulk API 2.0"): peak RSS of a 1,000,000-row
// `query --bulk` export 163 → 134 MB, of a 200,000-row `bulk upsert` ~180 → ~140 MB, at the same speed. Only
// for the streaming commands: the emulator and sync keep V8's defaults. SFBRIDGE_V8_DEFAULTS=1 turns it off.
if (STREAMING_COMMANDS.has(process.argv[2]) && process.env.SFBRIDGE_V8_DEFAULTS !== '1') {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString(STREAMING_V8_FLAGS);
}
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'ExperimentalWarning') console.warn(w); });
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
