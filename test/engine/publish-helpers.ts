/** Shared setup for publisher tests: an emulator with external-id fields and a client counting API calls. */
import { SalesforceClient } from '../../src/client/index.ts';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { schemaFromData } from '../../src/emulator/schema/custom.ts';

export const BASE = 'http://127.0.0.1:8484';

/** Contact/Account with External_Id__c, Contact with an Idem_Key__c idempotency key. */
export const PUBLISH_SCHEMA = {
  objects: [
    { name: 'Account', fields: [{ name: 'External_Id__c', type: 'string', length: 50, externalId: true, unique: true }] },
    {
      name: 'Contact',
      fields: [
        { name: 'External_Id__c', type: 'string', length: 50, externalId: true, unique: true },
        { name: 'Idem_Key__c', type: 'string', length: 50, externalId: true, unique: true },
      ],
    },
  ],
};

export function publishEmulator(opts: EmulatorOptions = {}): Emulator {
  return createEmulator({ ...opts, objects: [...schemaFromData(PUBLISH_SCHEMA), ...(opts.objects ?? [])] });
}

export function clientFor(emu: Emulator, counter?: { calls: number; paths: string[] }): SalesforceClient {
  return new SalesforceClient({
    credentials: { kind: 'clientCredentials', instanceUrl: BASE, clientId: emu.org.clientId, clientSecret: emu.org.clientSecret },
    fetch: (input, init) => {
      const req = new Request(input, init);
      if (counter && !req.url.includes('/oauth2/')) {
        counter.calls++;
        counter.paths.push(`${req.method} ${new URL(req.url).pathname}`);
      }
      return emu.fetch(req);
    },
    governor: false,
    retry: { maxAttempts: 1 },
  });
}
