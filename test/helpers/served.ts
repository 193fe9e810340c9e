/** An emulator on a real socket (port 0), for clients that make their own HTTP requests (jsforce, the CLI). */
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/app.ts';
import { serve, type RunningServer } from '../../src/emulator/http/node-server.ts';

export interface ServedOrg {
  emu: Emulator;
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

export async function servedOrg(opts: EmulatorOptions = {}): Promise<ServedOrg> {
  const emu = createEmulator(opts);
  const server = await serve(emu.fetch, { port: 0, host: '127.0.0.1' });
  return {
    emu,
    server,
    url: server.url,
    async close() {
      await server.close();
      emu.close();
    },
  };
}
