/** `sfbridge comments run` and `preview` in-process against the emulator: config, output, errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { commentsCommand, sideBySide } from '../../src/cli/comments.ts';
import { BASE, clientFor, emulator } from '../engine/helpers.ts';

function out(): Writable & { text: string } {
  const w = new Writable({ write(chunk, _e, cb) { w.text += chunk.toString(); cb(); } }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('sfbridge comments', async () => {
  const emu = await emulator();
  const c = clientFor(emu, { governor: false });
  const kase = (await c.create('Case', { Subject: 'Pump leaking', Status: 'Escalated', Priority: 'Medium' })).id;
  const email = (await c.create('EmailMessage', { ParentId: kase, Incoming: true, Subject: 'Re: Pump leaking', FromAddress: 'maria@example.com', TextBody: 'It leaks again since 2 pm.\n\nThanks,\nMaria\n\nOn Mon, Mar 4, 2024 at 9:12 AM Daniel <d@example.com> wrote:\n> A technician comes on Tuesday.\n' })).id;
  const dir = mkdtempSync(join(tmpdir(), 'sfbridge-cli-comments-'));
  const connection = ['--instance-url', BASE, '--client-id', emu.org.clientId, '--client-secret', emu.org.clientSecret];
  const io = () => ({ stdout: out(), stderr: out(), env: {}, fetch: (i: RequestInfo | URL, init?: RequestInit) => emu.fetch(new Request(i, init)) });

  it('run: delivers comments to the configured file and prints the table; a second run emits nothing', async () => {
    const cfg = join(dir, 'sfbridge.yaml');
    const file = join(dir, 'comments.jsonl');
    writeFileSync(cfg, `store: sqlite:${join(dir, 's.db')}\ncomments:\n  objects: [EmailMessage, CaseComment]\n  jsonl: ${file}\n`);
    const a = io();
    assert.equal(await commentsCommand(['run', '--config', cfg, ...connection], a), 0, a.stderr.text);
    assert.match(a.stdout.text, /^EmailMessage\s+1\s+1\s+0\s+0\s+ok$/m);
    assert.match(a.stdout.text, /^CaseComment\s+0\s+0\s+0\s+0\s+ok$/m);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.id, l.messages[0].body, l.messages[0].signature, l.user_properties['string:Case Status'], l.user_properties['number:Priority']]), [[email, 'It leaks again since 2 pm.', 'Thanks,\nMaria', 'Escalated', 2]]);
    const b = io();
    assert.equal(await commentsCommand(['run', '--config', cfg, ...connection], b), 0);
    assert.match(b.stdout.text, /^EmailMessage\s+1\s+0\s+1\s+0\s+ok$/m);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1);
  });

  it('preview: raw and cleaned side by side, or JSON', async () => {
    const a = io();
    assert.equal(await commentsCommand(['preview', '--object', 'EmailMessage', '--id', email, ...connection], a), 0, a.stderr.text);
    const first = a.stdout.text.split('\n')[0];
    assert.match(first, new RegExp(`^RAW \\(EmailMessage ${email}\\)\\s+│ CLEANED$`));
    assert.match(a.stdout.text, /> A technician comes on Tuesday\.\s+│/);
    assert.match(a.stdout.text, /│ It leaks again since 2 pm\./);
    assert.match(a.stdout.text, /│ string:Case Status = Escalated/);
    const j = io();
    assert.equal(await commentsCommand(['preview', '--object', 'emailmessage', '--id', email, '--format', 'json', ...connection], j), 0);
    const parsed = JSON.parse(j.stdout.text);
    assert.match(parsed.raw, /^It leaks again/);
    assert.equal(parsed.comment.messages[0].body, 'It leaks again since 2 pm.');
  });

  it('errors name the fix', async () => {
    await assert.rejects(commentsCommand(['preview', '--object', 'EmailMessage', '--id', 'nope', ...connection], io()), { message: '--id: "nope" is not a Salesforce Id (15 or 18 letters and digits)' });
    await assert.rejects(commentsCommand(['preview', '--object', 'Invoice__c', '--id', email, ...connection], io()), /--object Invoice__c: not a comments source; use one of EmailMessage, CaseComment, FeedItem, FeedComment, Task, or configure it under comments.objects in --config/);
    const cfg = join(dir, 'none.yaml');
    writeFileSync(cfg, 'store: "sqlite::memory:"\n');
    await assert.rejects(commentsCommand(['run', '--config', cfg, ...connection], io()), /config: no comments: block; add one/);
    writeFileSync(cfg, 'comments:\n  objects: [EmailMessage]\n');
    await assert.rejects(commentsCommand(['run', '--config', cfg, ...connection], io()), /comments: needs a destination/);
    writeFileSync(cfg, 'comments:\n  objects: [Emails]\n  queue: { kind: nats }\n');
    await assert.rejects(commentsCommand(['run', '--config', cfg, ...connection], io()), /config: comments\.objects\.0: /);
    writeFileSync(cfg, 'comments:\n  queue: { kind: nats }\n');
    await assert.rejects(commentsCommand(['run', '--config', cfg, ...connection], io()), { message: 'config: comments.queue.name: a nats sink needs name: the subject to publish to, e.g. name: indexing_documents' });
  });

  it('side by side wraps long lines and stacks on a narrow terminal', () => {
    const text = sideBySide('L', 'word '.repeat(12).trim(), 'R', 'x', 83);
    assert.deepEqual(text.split('\n').slice(0, 4), [`L${' '.repeat(39)} │ R`, `-${' '.repeat(39)} │ -`, `word word word word word word word word  │ x`, `word word word word${' '.repeat(21)} │`]);
    assert.equal(sideBySide('L', 'a', 'R', 'b', 60), 'L\n=\na\n\nR\n=\nb\n');
  });
});
