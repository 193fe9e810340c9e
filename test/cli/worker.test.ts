/** `sfbridge worker` and `serve --workers` refuse what cannot work, naming the fix, before touching any store. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.SFBRIDGE_STORE;
  delete env.SFBRIDGE_CONFIG;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('sfbridge worker: bad input', () => {
  it('needs a Postgres store', async () => {
    const none = await run(['worker']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--store is required.*postgres:\/\//);
    const sqlite = await run(['worker', '--store', 'sqlite:./nowhere.db']);
    assert.equal(sqlite.code, 2);
    assert.match(sqlite.stderr, /--store must be a postgres:\/\/… URL/);
  });

  it('checks --concurrency, and serve --workers needs Postgres and no --concurrency', async () => {
    const c = await run(['worker', '--store', 'postgres://u@127.0.0.1:1/db', '--concurrency', '0']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--concurrency must be a whole number 1-32, got "0"/);
    const s = await run(['serve', '--workers', '2', '--store', 'sqlite:./nowhere.db', '--port', '0']);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /--workers needs a postgres:\/\/ store/);
    const both = await run(['serve', '--workers', '2', '--concurrency', '2']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /leave out --concurrency/);
    const help = await run(['worker', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: sfbridge worker --store postgres:/);
  });
});
