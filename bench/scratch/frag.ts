import EmailReplyParser from 'email-reply-parser';
import { loadCorpus } from '../lib-emails.ts';
import { cleanEmail } from '../../src/engine/comments/clean.ts';
const c = loadCorpus().find((x) => x.name === process.argv[2])!;
const r = cleanEmail({ text: c.text, html: c.html, subject: c.subject }, { signatures: false });
console.log(JSON.stringify(r.text));
for (const f of new EmailReplyParser().read(r.text).getFragments()) console.log(JSON.stringify({ q: f.isQuoted(), s: f.isSignature(), h: f.isHidden(), c: f.getContent() }));
