// Starts a benchmark worker the way bin/sfbridge.js starts the CLI: with Node's module compile cache on, so
// TypeScript is stripped once and later runs load cached code (without it every process pays for the
// type-stripping compiler, ~30 MB). BENCH_NO_COMPILE_CACHE=1 turns it off. Usage: run.mjs WORKER.ts ARGS MODE
import module from 'node:module';

if (process.env.BENCH_NO_COMPILE_CACHE !== '1') module.enableCompileCache?.();
await import(new URL(process.argv[2], import.meta.url).href);
