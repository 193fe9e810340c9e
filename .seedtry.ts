import { createEmulator } from '/work/wt/schema-seed/src/emulator/app.ts';
import { seedOrg } from '/work/wt/schema-seed/src/emulator/seed/index.ts';
const emu = createEmulator({});
let t = Date.now();
console.log(await seedOrg(emu.org, process.argv[2] ?? 'demo'), Date.now() - t, 'ms');
emu.close();
