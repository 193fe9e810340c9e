// Preloaded (`node --import`) into a benchmarked process: on exit, writes the process's peak RSS as
// `maxrss-kb=N` to fd 3 (a pipe the benchmark opens), so the process's own stdout/stderr stay untouched.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  try {
    writeSync(3, `maxrss-kb=${process.resourceUsage().maxRSS}\n`);
  } catch {
    // fd 3 not open: not run by a benchmark.
  }
});
