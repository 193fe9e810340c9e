/**
 * README code blocks marked runnable (```sh runnable) are run, line by line, against the emulator through the
 * real launcher, so the documented commands cannot rot: each must exit 0, and what a comment promises as
 * output ({"count":500}) must appear.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cliOrg, workdir, type CliOrg } from './helpers.ts';

let org: CliOrg;

before(async () => {
  org = await cliOrg({ seed: 'demo' });
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
    assert.ok(lines.length >= 5, 'the quick start is marked runnable');
    const cwd = await workdir();
    // `npx sfbridge` → the launcher under test, through a `sfbridge` on PATH.
    const binDir = await workdir();
    await writeFile(join(binDir, 'sfbridge'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(join(binDir, 'sfbridge'), 0o755);
    const env = { ...org.env, PATH: `${binDir}:${org.env.PATH}` };
    for (const { command, comment } of lines) {
      const cmd = command.replace(/^npx sfbridge\b/, 'sfbridge');
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('bash', ['-c', cmd], { cwd, env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
      assert.equal(r.code, 0, `${command}\n${r.stderr}`);
      const promised = /^(\{.*\})/.exec(comment)?.[1];
      if (promised) assert.equal(r.stdout.trim(), promised, command);
    }
  });
});
