#!/usr/bin/env node
// No V8 flags on this line: `#!/usr/bin/env -S node --max-semi-space-size=8` would save ~35 MB on large
// queries (docs/BENCHMARKS.md, "Client vs jsforce") but BusyBox env (Alpine, the node:alpine images) has no
// -S and the CLI would not start at all. Set NODE_OPTIONS=--max-semi-space-size=8 for big exports instead.
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
