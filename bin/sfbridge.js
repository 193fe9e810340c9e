#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8 (MB) caps V8's young generation. Streaming a large query allocates fast and
// everything dies young; with the default cap V8 grows the young generation to ~48 MB of mostly garbage, plus
// the network buffers awaiting collection. Capped, `sfbridge query` over 200k Accounts peaks ~25 MB lower at
// no measurable cost in time (docs/BENCHMARKS.md, "Client vs jsforce"). Starting the file some other way
// (`node bin/sfbridge.js`) just runs without the cap.
// The bin is plain JS so any launcher can start it; it then loads the TypeScript CLI, which Node 24 runs
// natively (type stripping). npm puts the project's Node 24 (the `node` devDependency) first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`sfbridge needs Node.js 24 or newer (this is ${process.version}). Run it through npm/npx in the project (which uses the bundled Node 24), or install Node 24.`);
  process.exit(1);
}
// Cache compiled (and type-stripped) modules on disk: later starts skip the TypeScript stripper, which
// saves ~30 MB of RSS and most of the startup time.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'ExperimentalWarning') console.warn(w); });
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
