/**
 * README code blocks marked runnable are run against the emulator through the real launcher, so the documented
 * commands cannot rot. The convention, for whoever writes the README:
 *
 * - A block opens with three backticks and `sh runnable` (a plain `sh` block is not run: synopses with
 *   placeholders, long-running commands such as `sfbridge emulator` or `serve`, commands that need a real org,
 *   Postgres or a message broker).
 * - Every line is one command, run with `bash -c` in one scratch folder shared by all blocks in README order
 *   (a file written by one line is there for the next; `\` continues a line). Each must exit 0.
 * - `export …` lines are skipped: the test's environment already points SF_INSTANCE_URL, SF_CLIENT_ID and
 *   SF_CLIENT_SECRET at an emulator like `sfbridge emulator --seed demo` (its data and fields), and `sfbridge` (or `npx sfbridge`) is the
 *   launcher under test. The emulator's documented URL, http://127.0.0.1:8484, becomes the test emulator's.
 * - A comment after a command (two spaces, `#`, a space) may promise output: `# {"count":500}` (a JSON
 *   document) must be the whole of stdout; `# prints "TEXT"` must appear in stdout or stderr. Any other
 *   comment is prose.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cliOrg, workdir, type CliOrg } from './helpers.ts';
import { EMULATOR_USAGE } from '../../src/cli/emulator.ts';
import { DEFAULT_FAULTS } from '../../src/emulator/faults.ts';
import { DEMO_SCHEMA } from '../../src/emulator/seed/demo.ts';

let org: CliOrg;

before(async () => {
  org = await cliOrg({ seed: 'demo', objects: DEMO_SCHEMA }); // as `sfbridge emulator --seed demo`
});

after(async () => {
  await org.close();
});

/** The lines of every ```sh runnable block (continuations joined, comments kept apart). */
async function runnableLines(): Promise<{ command: string; comment: string }[]> {
  const text = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
  const out: { command: string; comment: string }[] = [];
  for (const m of text.matchAll(/```sh runnable\n([\s\S]*?)```/g)) {
    for (const raw of m[1].replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith('export ')) continue; // the test provides the environment
      const hash = line.search(/\s{2,}#\s/);
      out.push({ command: hash > 0 ? line.slice(0, hash).trim() : line, comment: hash > 0 ? line.slice(hash).replace(/^\s*#\s*/, '') : '' });
    }
  }
  return out;
}

describe('README runnable blocks', () => {
  it('every command exits 0 and prints what its comment promises', async () => {
    const lines = await runnableLines();
    assert.ok(lines.length >= 12, 'the quick start, query, bulk and publish examples are marked runnable');
    const cwd = await workdir();
    // `npx sfbridge` → the launcher under test, through a `sfbridge` on PATH.
    const binDir = await workdir();
    await writeFile(join(binDir, 'sfbridge'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(join(binDir, 'sfbridge'), 0o755);
    const env = { ...org.env, PATH: `${binDir}:${org.env.PATH}` };
    for (const { command, comment } of lines) {
      const cmd = command.replace(/^npx sfbridge\b/, 'sfbridge').replaceAll('http://127.0.0.1:8484', org.server.url);
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('bash', ['-c', cmd], { cwd, env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
      assert.equal(r.code, 0, `${command}\n${r.stderr}`);
      const promised = /^(\{.*\})/.exec(comment)?.[1];
      if (promised) assert.equal(r.stdout.trim(), promised, command);
      const printed = /^prints "(.*)"/.exec(comment)?.[1];
      if (printed) assert.ok(`${r.stdout}${r.stderr}`.includes(printed), `${command}: expected "${printed}" in\n${r.stdout}${r.stderr}`);
    }
  });
});

describe('README claims', () => {
  it('every fault the emulator accepts is in `sfbridge emulator --help` and in the README', async () => {
    const readme = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
    const faults = /\*\*Faults\*\*[\s\S]*?\n\n/.exec(readme)?.[0] ?? '';
    for (const key of Object.keys(DEFAULT_FAULTS)) {
      assert.match(EMULATOR_USAGE, new RegExp(`\\b${key}=`), `emulator --help lists ${key}`);
      assert.match(faults, new RegExp(`\`${key}=`), `the README's Faults paragraph lists ${key}`);
    }
  });
});
