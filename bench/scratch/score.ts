import { loadCorpus, scoreCorpus } from '../lib-emails.ts';
const corpus = loadCorpus();
for (const [label, opts] of [['erp alone', { quotes: 'email-reply-parser', rules: false }], ['planer alone', { quotes: 'planer', rules: false }], ['erp+rules', { quotes: 'email-reply-parser' }], ['planer+rules', { quotes: 'planer' }]] as const) {
  const s = scoreCorpus(corpus, opts);
  console.log(label, s.exact, '/', s.cases, 'body', s.bodyExactRate.toFixed(3), 'P', s.precision.toFixed(3), 'R', s.recall.toFixed(3));
  if (process.argv[2] === label) for (const f of s.failures) console.log('  ✗', f.name, { body: f.bodyExact, sig: f.signatureExact, fwd: f.forwardedExact });
}
