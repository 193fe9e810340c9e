/**
 * Settings from the environment and flags alone are built without the schemas (src/engine/settings.ts): the
 * result must be exactly what the schema makes of the same values, and anything the shortcut is unsure of
 * goes to the schema, which words the error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/engine/config.ts';
import { loadSyncConfig, plainConfig } from '../../src/engine/settings.ts';

describe('settings without a config file', () => {
  it('builds what the schema builds, for every value the environment and flags can give', () => {
    const accepted: Record<string, unknown>[] = [
      {},
      { store: 'sqlite::memory:' },
      { store: 'postgres://u@h/db?schema=s', standard_objects_to_sync: ['Account', 'Invoice__c'] },
      { standard_objects_to_sync: [] },
      { custom_objects_to_sync: '*' },
      { custom_objects_to_sync: ['Invoice__c', '*'] },
      { custom_objects_to_sync: ['Invoice__c'] },
      { interval: '30s', lag: '5m' },
      { interval: '1', lag: '0' },
      { interval: '1500ms', lag: '2h' },
      { bulk_threshold: 0 },
      { bulk_threshold: 50_000, documents: { enabled: true } },
      { documents: { enabled: false } },
    ];
    for (const raw of accepted) {
      const plain = plainConfig(raw);
      assert.ok(plain, `plainConfig refused ${JSON.stringify(raw)}`);
      assert.deepStrictEqual(plain, validateConfig(raw), JSON.stringify(raw));
    }
  });

  it('leaves what it cannot vouch for to the schema', async () => {
    const refused: Record<string, unknown>[] = [
      { standard_objects_to_sync: ['Not An Object'] },
      { standard_objects_to_sync: ['*'] },
      { custom_objects_to_sync: ['1bad'] },
      { interval: 'soon' },
      { interval: '0s' },
      { lag: 'a while' },
      { bulk_threshold: Number.NaN },
      { bulk_threshold: -1 },
      { bulk_threshold: 1.5 },
      { documents: { enabled: true, jsonl: 'out.jsonl' } },
      { objects: {} },
    ];
    for (const raw of refused) assert.equal(plainConfig(raw), undefined, JSON.stringify(raw));
    await assert.rejects(loadSyncConfig({ env: { SFBRIDGE_INTERVAL: 'soon' } }), /interval: must be a duration/);
    await assert.rejects(loadSyncConfig({ env: {}, flags: { objects: ['Bad Name'] } }), /standard_objects_to_sync\.0: must be an API name/);
    assert.equal((await loadSyncConfig({ env: { SFBRIDGE_LAG: '1m' }, flags: { objects: ['Account'] } })).lagMs, 60_000);
  });

  it('a sync run from flags does not load the schemas (zod) nor the YAML parser', () => {
    const script = (extra: string) => `
      const { registerHooks } = await import('node:module');
      const seen = [];
      registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); seen.push(r.url); return r; } });
      const { loadSyncConfig } = await import('./src/engine/settings.ts');
      await import('./src/cli/sync.ts');
      await import('./src/engine/sync/runner.ts');
      await loadSyncConfig({ env: {}, flags: { objects: ['Account'], store: 'sqlite::memory:' } });
      ${extra}
      process.stdout.write(String(seen.filter((u) => /node_modules\\/(zod|yaml)\\//.test(u)).length));`;
    const loaded = (extra: string): number => {
      const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script(extra)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout);
    };
    assert.equal(loaded(''), 0);
    // The check sees them when they do load.
    assert.ok(loaded("await import('./src/engine/config.ts');") > 0);
  });
});
