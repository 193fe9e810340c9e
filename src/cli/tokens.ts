/**
 * `sfbridge tokens create|list|revoke`: API tokens for `sfbridge serve` (`Authorization: Bearer …`). A new
 * token is printed once; the store keeps only its SHA-256.
 */
import type { Writable } from 'node:stream';
import { parseCallInScope } from '../engine/patterns/call-in.ts';
import { Auth } from '../server/auth.ts';
import { parseFlags, UsageError } from './args.ts';
import { openServiceStore, redactUrl } from './store-flags.ts';

const USAGE = `Usage: sfbridge tokens <create|list|revoke> [--name NAME] [--store URL]

  sfbridge tokens create --name ci     prints the token once (keep it in your CI's secret store)
  sfbridge tokens create --name erp --call-in Contact:create,upsert --call-in Account:*
                                       a token that may only write those objects through /api/v1/call-in
  sfbridge tokens list                 names, prefixes, creation and last use
  sfbridge tokens revoke --name ci     the token stops working at once
`;

export async function tokensCommand(argv: string[], io: { stdout?: Writable; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const { values, positionals } = parseFlags(argv, { name: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' }, 'call-in': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } }, USAGE);
  const [action] = positionals;
  if (values.help || !action) {
    stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const { store, url } = await openServiceStore(values.store, env);
  try {
    const state = await store.serviceState();
    const auth = new Auth({ state });
    switch (action) {
      case 'create': {
        if (!values.name) throw new UsageError(`tokens create needs --name NAME\n\n${USAGE}`);
        let created;
        try {
          const scopes = ((values['call-in'] as string[] | undefined) ?? []).map(parseCallInScope);
          created = await auth.createToken(values.name, { scopes });
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        if (values.json) stdout.write(`${JSON.stringify({ name: created.name, token: created.token })}\n`);
        else stdout.write(`${created.token}\n\nAPI token "${created.name}" created in ${redactUrl(url)}. It is shown only now; send it as: Authorization: Bearer <token>\n`);
        return 0;
      }
      case 'list': {
        const tokens = await state.listTokens();
        if (values.json) {
          stdout.write(`${JSON.stringify(tokens.map((t) => ({ name: t.name, prefix: t.prefix, scopes: t.scopes, created_at: t.createdAt, last_used_at: t.lastUsedAt, revoked_at: t.revokedAt })))}\n`);
          return 0;
        }
        if (!tokens.length) stdout.write('no API tokens; create one with: sfbridge tokens create --name NAME\n');
        for (const t of tokens) stdout.write(`${t.name.padEnd(20)} ${t.prefix}…  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.scopes ? `  scopes ${t.scopes.join(' ')}` : ''}${t.revokedAt ? `  revoked ${t.revokedAt}` : ''}\n`);
        return 0;
      }
      case 'revoke': {
        if (!values.name) throw new UsageError(`tokens revoke needs --name NAME\n\n${USAGE}`);
        if (!(await state.revokeToken(values.name, new Date().toISOString()))) throw new UsageError(`no active token named "${values.name}" (see sfbridge tokens list)`);
        stdout.write(`API token "${values.name}" revoked\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown action "${action}": use create, list or revoke\n\n${USAGE}`);
    }
  } finally {
    await store.close();
  }
}
