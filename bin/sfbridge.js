#!/usr/bin/env node
// No V8 flags on this line: `#!/usr/bin/env -S node --max-semi-space-size=8` breaks on BusyBox env (Alpine,
// the node:alpine images: no -S) and the CLI would not start at all. What that flag bought is set below instead.
// The bin is plain JS so any launcher can start it; it then loads the TypeScript CLI, which Node 24 runs
// natively (type stripping), or its compiled copy in dist/ (the packed package). bin/sfbridge, the `sfbridge`
// command, starts it on the Node 24 that comes with sfbridge (the `node` package).
/** The lean V8 heap settings: the Bulk API commands' default, every command's with SFBRIDGE_HEAP=lean (see below). */
const LEAN_V8_FLAGS = '--semi-space-growth-factor=1 --heap-growing-percent=20';
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  // Started on an older Node: through `node bin/sfbridge.js`, or by bin/sfbridge when the Node 24 that comes with
  // sfbridge (the `node` package, whose install script puts the binary in place) is missing.
  const bundled = new URL('../node_modules/node/bin/node', import.meta.url).pathname;
  const { existsSync } = await import('node:fs');
  const here = `sfbridge needs Node.js 24 or newer, and this is ${process.execPath} ${process.version}.`;
  console.error(process.env.SFBRIDGE_NODE
    ? `${here} SFBRIDGE_NODE=${process.env.SFBRIDGE_NODE} names it: point it at a Node.js 24 binary, or unset it to use the Node 24 that comes with sfbridge.`
    : existsSync(bundled)
    ? `${here} Start it as \`sfbridge\` (bin/sfbridge), which runs the Node 24 that comes with it (${bundled}).`
    : `${here} The Node 24 that comes with sfbridge (the \`node\` package) is missing: ${bundled} is not there, because that package's install script did not run.
Fix one of:
  - reinstall without --ignore-scripts (npm 11 runs that script by default; in a checkout: npm install);
  - put Node.js 24 on PATH (e.g. from https://nodejs.org), or set SFBRIDGE_NODE to a Node.js 24 binary.`);
  process.exit(1);
}
// Cache compiled (and type-stripped) modules on disk: later starts skip the TypeScript stripper, which
// saves ~30 MB of RSS and most of the startup time. The cache lives in sfbridge's cache directory
// ($SFBRIDGE_CACHE_DIR, else $SFBRIDGE_HOME/cache, else $XDG_CACHE_HOME/sfbridge or ~/.cache/sfbridge, as
// src/cli/cache.ts) under node-compile-cache/, unless NODE_COMPILE_CACHE names one; with SFBRIDGE_CACHE_DIR=off
// it is Node's default (the temporary directory).
const { enableCompileCache } = await import('node:module');
const { homedir } = await import('node:os');
const { join } = await import('node:path');
const env = process.env;
const cacheDir = env.SFBRIDGE_CACHE_DIR === 'off' ? undefined
  : env.SFBRIDGE_CACHE_DIR || (env.SFBRIDGE_HOME ? join(env.SFBRIDGE_HOME, 'cache') : join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sfbridge'));
enableCompileCache?.(env.NODE_COMPILE_CACHE || (cacheDir && join(cacheDir, 'node-compile-cache')) || undefined);
// The Bulk API commands (`bulk …`, `query --bulk`) move millions of rows through short-lived objects. With
// V8's defaults that costs RSS twice: the young generation doubles up to 64 MB of semi-spaces, and the old
// generation (and the dead Buffers it holds) grows well past what is live before a full GC. The young
// generation's size limit (--max-semi-space-size) is fixed at startup, and flags on the shebang line break
// BusyBox env, but these two are read each time the heap decides to grow, so they take effect when set here:
// growth factor 1 keeps the young generation small, and a 20% heap growing factor collects the old generation
// before it doubles. Measured (docs/BENCHMARKS.md, "Bulk API 2.0"): peak RSS of a 1,000,000-row `query --bulk`
// export ~157 → ~110 MB at ~10% more time, of a 200,000-row `bulk upsert` ~180 → ~140 MB. Not for `sync`,
// which gets start-up flags from the bin/sfbridge launcher instead (a capped young generation and a 20%
// growing factor: a 1M-record sync ~300 → ~150 MB), nor the emulator; a REST `query` sets the same two itself
// once its first page shows more pages follow (src/cli/heap.ts holds the same string).
// SFBRIDGE_HEAP chooses: `auto` (this), `lean` (every command) or `default` (V8's defaults everywhere, the
// launcher's flags too). NODE_OPTIONS cannot carry these two flags (Node refuses them there), hence the variable.
const HEAP_MODES = ['auto', 'lean', 'default'];
const heap = process.env.SFBRIDGE_HEAP || 'auto';
if (!HEAP_MODES.includes(heap)) {
  console.error(`SFBRIDGE_HEAP=${heap} is not a heap mode: use one of ${HEAP_MODES.join(', ')} (or unset it for auto).`);
  process.exit(2);
}
const args = process.argv.slice(2);
const bulkCommand = args[0] === 'bulk' || (args[0] === 'query' && args.includes('--bulk'));
if (heap === 'lean' || (heap === 'auto' && bulkCommand)) {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString(LEAN_V8_FLAGS);
}
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'ExperimentalWarning') console.warn(w); });
// SIGTERM (systemd, Docker, `timeout`) stops a command the way Ctrl-C does: sync commits the batch in hand and
// records the run, bulk prints how to resume; a second one quits at once. Commands that handle SIGTERM themselves (serve,
// worker, the emulator) keep their own handling.
process.on('SIGTERM', () => {
  if (process.listenerCount('SIGTERM') === 1) process.kill(process.pid, 'SIGINT');
});
// npm exec (npx) and npm run start a command through `sh -c`, and dash (Debian's and Ubuntu's sh) does not pass
// on the SIGTERM that npm forwards when npm itself is told to stop: the shell dies and sfbridge, orphaned,
// would keep running. So when npm started it, a parent that goes away means stop, as on SIGTERM. Checked every
// 200 ms; the timer never keeps the process alive. (A checkout's .npmrc sets script-shell=bash, which execs
// the command, so there npm signals sfbridge itself, SIGINT included.)
if (env.npm_lifecycle_event) {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGINT');
  }, 200);
  watch.unref();
}
// A checkout runs the TypeScript sources; the packed package (npm pack) ships them compiled to dist/, because
// Node does not strip types of files under node_modules, where npm installs it.
const { existsSync } = await import('node:fs');
const source = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
await main(args);
