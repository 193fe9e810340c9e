/**
 * "Grant access to Salesforce": the OAuth 2.0 web-server flow for `kind: web` connections.
 *
 * `GET /oauth/authorize/:connection` sends the browser to `{login_url}/services/oauth2/authorize` with a
 * PKCE S256 challenge and a `state` that is signed (HMAC with a key derived from the service key),
 * expires in {@link STATE_TTL_MS}, is single use (its record is taken from the store) and, when a dashboard
 * session started the flow, bound to that session. `/oauth/callback` trades the code (with the verifier)
 * for tokens, keeps the refresh token sealed in the store and shows the user and org it connected. Every
 * way this can go wrong gets a page that says what to change, including the callback URL to paste into
 * the connected app.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { html } from 'hono/html';
import { ConnectionError } from '../../engine/connections/registry.ts';
import { connectionProxy } from '../../engine/connections/schema.ts';
import type { Service } from '../../engine/service.ts';
import { sha256 } from '../auth.ts';
import { messagePage, type Html } from '../ui/layout.ts';

/** How long a started Grant access stays valid. */
export const STATE_TTL_MS = 10 * 60_000;
export const CALLBACK_PATH = '/oauth/callback';

const b64url = (buf: Buffer): string => buf.toString('base64url');

function sign(service: Service, text: string): string {
  return b64url(createHmac('sha256', service.box.derive('oauth-state')).update(text).digest());
}

/** Builds the authorize URL and records the pending grant. */
export async function startGrant(service: Service, connection: string, opts: { baseUrl: string; sessionHash?: string; now?: number }): Promise<string> {
  const { spec, secrets } = await service.connections.spec(connection);
  if (spec.kind !== 'web') throw new ConnectionError('NOT_WEB', 409, `connection "${connection}" logs in with ${spec.kind}; Grant access is for kind: web connections (a connected app with a callback URL)`);
  void secrets;
  const now = opts.now ?? Date.now();
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const nonce = b64url(randomBytes(24));
  const exp = (now + STATE_TTL_MS).toString(36);
  const state = `${nonce}.${exp}.${sign(service, `${nonce}.${exp}`)}`;
  const redirectUri = `${opts.baseUrl}${CALLBACK_PATH}`;
  await service.state.putOneTime('oauth', sha256(nonce), { connection, verifier: service.box.seal({ verifier }), redirect_uri: redirectUri, session: opts.sessionHash ?? null }, new Date(now + STATE_TTL_MS).toISOString());
  const url = new URL('/services/oauth2/authorize', spec.login_url);
  url.search = new URLSearchParams({ response_type: 'code', client_id: spec.client_id, redirect_uri: redirectUri, scope: spec.scope, state, code_challenge: challenge, code_challenge_method: 'S256', prompt: 'login consent' }).toString();
  return url.toString();
}

interface Outcome {
  status: number;
  page: Html;
}

const fixCallback = (callback: string, loginUrl?: string) => html`<p>Register this exact callback URL in the connected app:</p>
  <p><code>${callback}</code></p>
  <p class="muted">In Salesforce: Setup → App Manager → your connected app → Edit → API (Enable OAuth Settings) → Callback URL. Changes can take up to 10 minutes to apply${loginUrl ? html` on <code>${loginUrl}</code>` : ''}. Then start Grant access again.</p>`;

/** Handles the redirect back from Salesforce. */
export async function finishGrant(service: Service, query: URLSearchParams, opts: { baseUrl: string; sessionHash?: string; csrf?: string; now?: number }): Promise<Outcome> {
  const now = opts.now ?? Date.now();
  const bad = (title: string, body: Html, status = 400): Outcome => ({ status, page: messagePage(title, body, opts.csrf) });
  const callback = `${opts.baseUrl}${CALLBACK_PATH}`;
  const state = query.get('state') ?? '';
  const [nonce, exp, sig] = state.split('.');
  const signed = nonce && exp && sig && safeEqual(sig, sign(service, `${nonce}.${exp}`));
  if (!signed) {
    // No valid state: this callback did not come from a Grant access this service started.
    if (query.get('error') === 'redirect_uri_mismatch') return bad('The callback URL is not registered', fixCallback(callback));
    return bad('Sign-in could not be matched', html`<p>The <code>state</code> of this callback is missing or was not issued by this service, so the answer from Salesforce was not used.</p><p>Start again from the dashboard with <b>Grant access</b>. If this keeps happening, check that the dashboard and the callback use the same address (<code>${callback}</code>).</p>`);
  }
  if (parseInt(exp, 36) <= now) return bad('This sign-in expired', html`<p>Grant access has to finish within ${STATE_TTL_MS / 60_000} minutes. Start again from the dashboard with <b>Grant access</b>.</p>`);
  const taken = await service.state.takeOneTime('oauth', sha256(nonce), new Date(now).toISOString());
  if (!taken.ok) {
    const why = taken.reason === 'used' ? 'was already used (a reload or a second tab)' : taken.reason === 'expired' ? 'expired' : 'is unknown to this service (was it started on another sfbridge?)';
    return bad('Sign-in could not be matched', html`<p>This sign-in ${why}, so the answer from Salesforce was not used. Start again from the dashboard with <b>Grant access</b>.</p>`);
  }
  const data = taken.data as { connection: string; verifier: string; redirect_uri: string; session: string | null };
  if (data.session && data.session !== opts.sessionHash) {
    return bad('Sign-in could not be matched', html`<p>Grant access was started in another browser session than this one. Start it again here, from the dashboard.</p>`);
  }
  const name = data.connection;
  let spec;
  let secrets;
  try {
    ({ spec, secrets } = await service.connections.spec(name));
  } catch (err) {
    return bad('Unknown connection', html`<p>${(err as Error).message}</p>`, 404);
  }
  if (spec.kind !== 'web') return bad('Not a web connection', html`<p>Connection <b>${name}</b> is no longer a web connection.</p>`, 409);
  const error = query.get('error');
  if (error) {
    const description = query.get('error_description') ?? '';
    if (error === 'access_denied') {
      return bad('Access was denied', html`<p>Salesforce answered <code>access_denied</code>${description ? html` (${description})` : ''}: Deny was chosen on the approval page, or the user may not use this connected app.</p>
        <p>To connect <b>${name}</b>, choose <b>Grant access</b> again and then <b>Allow</b>. If Salesforce never offers Allow, an admin must permit the user: Setup → Connected Apps → Manage Connected Apps → your app → Edit Policies → Permitted Users, and add the user's profile or permission set.</p>`, 403);
    }
    if (error === 'redirect_uri_mismatch') return bad('The callback URL is not registered', fixCallback(data.redirect_uri, spec.login_url));
    return bad('Salesforce refused the sign-in', html`<p>Salesforce answered <code>${error}</code>${description ? html`: ${description}` : ''}.</p><p>Check the connected app (consumer key <code>${spec.client_id}</code>, OAuth scopes including <code>refresh_token</code>) and start Grant access again.</p>`);
  }
  const code = query.get('code');
  if (!code) return bad('No authorization code', html`<p>Salesforce returned without a <code>code</code>. Start Grant access again.</p>`);
  const verifier = String(service.box.unseal(data.verifier).verifier);
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, client_id: spec.client_id, redirect_uri: data.redirect_uri, code_verifier: verifier });
  if (secrets.client_secret) form.set('client_secret', secrets.client_secret);
  let token: Record<string, unknown>;
  try {
    const res = await service.fetchFor(connectionProxy(spec, secrets))(new URL('/services/oauth2/token', spec.login_url).toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() });
    token = (await res.json().catch(() => ({ error: `HTTP ${res.status}`, error_description: 'the token endpoint did not answer JSON' }))) as Record<string, unknown>;
  } catch (err) {
    return bad('Salesforce could not be reached', html`<p>The code could not be exchanged at <code>${spec.login_url}</code>: ${(err as Error).message}. Check the connection's login_url and the network (proxy), then start Grant access again.</p>`, 502);
  }
  if (typeof token.access_token !== 'string') {
    const err = String(token.error ?? 'unknown_error');
    const description = String(token.error_description ?? '');
    if (err === 'redirect_uri_mismatch') return bad('The callback URL is not registered', fixCallback(data.redirect_uri, spec.login_url));
    if (err === 'invalid_client' || err === 'invalid_client_id') return bad('The connected app refused the credentials', html`<p>Salesforce answered <code>${err}</code> (${description}). Check the consumer key and secret of connection <b>${name}</b> (Setup → App Manager → your app → View → Manage Consumer Details), then start Grant access again.</p>`);
    return bad('The code could not be exchanged', html`<p>Salesforce answered <code>${err}</code>${description ? html`: ${description}` : ''}. Start Grant access again; a code is valid for a few minutes and only once.</p>`);
  }
  if (typeof token.refresh_token !== 'string') {
    return bad('Salesforce returned no refresh token', html`<p>Without a refresh token sfbridge could only work until the session expires. Add the scope <b>Perform requests at any time (refresh_token, offline_access)</b> to the connected app's Selected OAuth Scopes, keep <code>refresh_token</code> in the connection's scope (<code>${spec.scope}</code>), then start Grant access again.</p>`);
  }
  const identity = await fetchIdentity(service, String(token.id ?? ''), String(token.access_token), connectionProxy(spec, secrets));
  const ids = String(token.id ?? '').split('/');
  const view = await service.connections.setGrant(name, {
    refreshToken: token.refresh_token,
    instanceUrl: String(token.instance_url ?? ''),
    user: { username: identity.username, display_name: identity.display_name, user_id: identity.user_id ?? ids.at(-1) },
    orgId: identity.organization_id ?? ids.at(-2),
    connectedAt: new Date(now).toISOString(),
  });
  return {
    status: 200,
    page: messagePage(
      'Connected to Salesforce',
      html`<p class="ok">Connection <b>${name}</b> is connected.</p>
      <table><tbody>
        <tr><th scope="row">User</th><td>${view.user?.display_name ?? ''} <code>${view.user?.username ?? view.user?.user_id ?? ''}</code></td></tr>
        <tr><th scope="row">Org</th><td><code>${view.org_id ?? ''}</code></td></tr>
        <tr><th scope="row">Instance</th><td><code>${view.instance_url ?? ''}</code></td></tr>
      </tbody></table>
      <p><a class="button" href="/connections">Back to the connections</a></p>`,
      opts.csrf,
    ),
  };
}

async function fetchIdentity(service: Service, idUrl: string, accessToken: string, proxy?: string): Promise<{ username?: string; display_name?: string; user_id?: string; organization_id?: string }> {
  if (!/^https?:\/\//.test(idUrl)) return {};
  try {
    const url = new URL(idUrl);
    url.searchParams.set('format', 'json');
    const res = await service.fetchFor(proxy)(url.toString(), { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
    if (!res.ok) return {};
    return (await res.json()) as Record<string, string>;
  } catch {
    // The identity only decorates the page; the grant itself is stored either way.
    return {};
  }
}

/** Revokes the refresh token at Salesforce and forgets it. */
export async function revokeGrant(service: Service, connection: string): Promise<void> {
  const { spec, secrets } = await service.connections.spec(connection);
  if (spec.kind !== 'web') throw new ConnectionError('NOT_WEB', 409, `connection "${connection}" is not a web connection; there is no grant to revoke`);
  if (!secrets.refresh_token) throw new ConnectionError('NOT_CONNECTED', 409, `connection "${connection}" is not connected`);
  let res: Response;
  try {
    res = await service.fetchFor(connectionProxy(spec, secrets))(new URL('/services/oauth2/revoke', spec.login_url).toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: secrets.refresh_token }).toString() });
  } catch (err) {
    throw new ConnectionError('REVOKE_FAILED', 502, `could not reach ${spec.login_url} to revoke the grant (${(err as Error).message}); the grant is kept, try again`);
  }
  // 400 invalid_token: already revoked (or expired) at Salesforce, which is what revoking wants.
  if (!res.ok && res.status !== 400) throw new ConnectionError('REVOKE_FAILED', 502, `Salesforce answered HTTP ${res.status} to the revocation; the grant is kept, try again`);
  await service.connections.clearGrant(connection);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
