import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createProgress, renderLine } from '../../src/cli/progress.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  return { stream, text: () => chunks.join('') };
}

test('draws nothing when the stream is not a TTY', () => {
  const { stream, text } = sink(false);
  const p = createProgress(stream);
  const t = p.task('Account', 10);
  t.update(5);
  t.finish();
  p.close();
  assert.equal(p.enabled, false);
  assert.equal(text(), '');
});

test('on a TTY redraws lines in place with bar, percentage and counts', () => {
  const { stream, text } = sink(true);
  let clock = 0;
  const p = createProgress(stream, { now: () => clock });
  const a = p.task('Account', 200);
  const c = p.task('Contact');
  clock = 1000;
  a.update(50);
  c.update(1234, 'page 2');
  a.finish();
  p.close();
  const out = text();
  assert.match(out, /Account\s+\[######-+\]\s+25%\s+50\/200/);
  assert.match(out, /Contact\s+1,234\s+1,234\/s\s+page 2/);
  assert.match(out, /\x1b\[2A/, 'moves the cursor up over the two task lines to redraw');
  assert.match(out, /100%\s+200\/200|25%\s+50\/200\s+done/);
});

test('renderLine truncates to the terminal width', () => {
  const line = renderLine({ label: 'X'.repeat(200), total: undefined, done: 1, status: '', finished: true, started: 0 }, 1, 40);
  assert.equal(line.length, 39);
  assert.ok(line.endsWith('…'));
});
