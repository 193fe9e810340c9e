/**
 * A killed Bulk load leaves its spool directory (a copy of the rows) in the temp directory; the next load
 * removes the spools of processes that no longer run and keeps those of live ones.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { removeOrphanSpools } from '../../src/client/index.ts';

it('removes spool directories of dead processes, keeps live ones and foreign directories', async () => {
  const base = mkdtempSync(join(tmpdir(), 'sfb-spools-'));
  // A real process that has exited: its pid is free.
  const child = spawn(process.execPath, ['-e', 'process.exit(0)']);
  const dead = child.pid!;
  await new Promise((r) => child.on('exit', r));
  const orphan = join(base, `sfbridge-bulk-${dead}-abc123`);
  const mine = join(base, `sfbridge-bulk-${process.pid}-def456`);
  const other = join(base, 'sfbridge-bulk-xyz789');
  for (const d of [orphan, mine, other]) {
    mkdirSync(d);
    writeFileSync(join(d, 'job-0.jsonl'), '{"LastName":"x"}\n');
  }
  assert.equal(await removeOrphanSpools(base), 1);
  assert.equal(existsSync(orphan), false, 'the dead process spool is gone');
  assert.equal(existsSync(mine), true, 'a live process keeps its spool');
  assert.equal(existsSync(other), true, 'a directory without a pid is not ours to judge');
});
