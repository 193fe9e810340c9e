/** Test helpers: an in-process emulator with a logged-in session. */
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';

export interface TestOrg {
  emu: Emulator;
  token: string;
  /** In-process request with the session's bearer token and JSON handling. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  close(): void;
}

export const V = '/services/data/v62.0';

export async function login(emu: Emulator): Promise<string> {
  const res = await emu.request('/services/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.org.clientId, client_secret: emu.org.clientSecret }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function testOrg(opts: EmulatorOptions = {}): Promise<TestOrg> {
  const emu = createEmulator(opts);
  const token = await login(emu);
  return {
    emu,
    token,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return emu.request(path.startsWith('/services') ? path : `${V}${path}`, { ...init, headers, body });
    },
    close: () => emu.close(),
  };
}
