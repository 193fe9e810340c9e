/**
 * The dashboard's page shell: server-rendered HTML with hono's `html` template (every interpolated value
 * is escaped), one stylesheet, no build step. Pages pass a title, their body and, when signed in, the
 * session's CSRF token, which every form carries and `fetch` calls send as `X-CSRF-Token`.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageOptions {
  title: string;
  body: Html;
  /** Signed-in pages: the CSRF token, and the nav is shown. */
  csrf?: string;
  /** Highlighted nav entry. */
  active?: string;
  /** More elements for <head> (scripts and stylesheets of one page). */
  head?: Html;
}

/** Navigation of signed-in pages. */
export const NAV: ReadonlyArray<{ href: string; label: string }> = [
  { href: '/', label: 'Overview' },
  { href: '/connections', label: 'Connections' },
  { href: '/pipelines', label: 'Pipelines' },
  { href: '/runs', label: 'Runs' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/two-way', label: 'Two-way' },
  { href: '/usage', label: 'API usage' },
  { href: '/changes', label: 'Live changes' },
  { href: '/api/v1/docs', label: 'API reference' },
];

export const STYLES = `
:root{--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--bg:#fff;--accent:#0b5cad;--ok:#1a7f37;--warn:#9a6700;--err:#b3261e;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg)}
body{margin:0;background:#f6f8fa}
header{background:#0f2942;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff;text-decoration:none}header a[aria-current=page]{text-decoration:underline}
header .brand{font-weight:600;margin-right:1rem}header form{margin-left:auto}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:var(--bg);border:1px solid var(--line)}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}th{background:#eef1f4;font-weight:600}
.muted{color:var(--muted)}.ok{color:var(--ok)}.warn{color:var(--warn)}.err{color:var(--err)}
.card{background:var(--bg);border:1px solid var(--line);padding:1rem 1.2rem;border-radius:6px;max-width:40rem}
button,.button{font:inherit;padding:.3rem .8rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--accent)}button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #f0b400;outline-offset:1px}
label{display:block;margin:.6rem 0}input[type=password],input[type=text]{font:inherit;padding:.35rem;width:100%;max-width:24rem;box-sizing:border-box}
code{background:#eef1f4;padding:.05rem .3rem;border-radius:3px}form.inline{display:inline}
.alert{border-left:4px solid var(--err);background:#fff;padding:.6rem 1rem;margin:1rem 0}
.notice{border-left:4px solid var(--accent);background:#fff;padding:.6rem 1rem;margin:1rem 0}
meter{width:8rem}
caption{text-align:left;padding:.3rem 0}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:var(--accent);padding:.4rem .8rem}.skip:focus{left:.5rem;z-index:9}
nav[aria-label=Main] a{margin-right:.9rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
progress{width:9rem;vertical-align:middle}
.row{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-end}.row label{margin:.2rem 0}
select,textarea{font:inherit;padding:.3rem}textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem}
pre{background:#fff;border:1px solid var(--line);padding:.6rem;overflow:auto;max-height:24rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;background:#fff;border:1px solid var(--line);padding:.8rem 1rem;border-radius:6px;margin:0 0 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.fix{border-left:4px solid var(--warn);background:#fffbea;padding:.5rem .9rem;margin:.5rem 0}
.chart{background:#fff;border:1px solid var(--line);padding:.5rem;margin:.5rem 0 1rem;min-height:2rem}
.pager{margin:.8rem 0}.pager a{margin-right:1rem}
select:focus-visible,textarea:focus-visible,button:focus-visible{outline:3px solid #f0b400;outline-offset:1px}
`;

export function page(opts: PageOptions): Html {
  const nav = opts.csrf
    ? html`<header>
        <a class="brand" href="/">sfbridge</a>
        <nav aria-label="Main">${NAV.map((n) => html`<a href="${n.href}" ${opts.active === n.href ? raw('aria-current="page"') : ''}>${n.label}</a> `)}</nav>
        <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${opts.csrf}"><button class="secondary" type="submit">Sign out</button></form>
      </header>`
    : html`<header><span class="brand">sfbridge</span></header>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.csrf ? html`<meta name="csrf-token" content="${opts.csrf}">` : ''}
<title>${opts.title} · sfbridge</title>
<link rel="stylesheet" href="/assets/app.css">
${opts.head ?? ''}
${opts.csrf ? html`<script src="/assets/app.js" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${nav}
<main id="main">
${opts.body}
</main>
</body>
</html>`;
}

/** A small page with a heading and paragraphs: errors and outcomes (OAuth callback, login). */
export function messagePage(title: string, body: Html, csrf?: string): Html {
  return page({ title, csrf, body: html`<h1>${title}</h1><div class="card">${body}</div>` });
}

/** `2026-03-05T10:00:00.000Z` → `2026-03-05 10:00:00 UTC`; null → em dash. */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '—';
}
