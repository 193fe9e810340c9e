/** The governor with a fleet-wide shared budget: the shared count admits and refuses, the probe included. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, LimitError } from '../../src/client/errors.ts';
import { ApiGovernor, type SharedBudget, type UsageReading } from '../../src/client/governor.ts';

/** An in-memory stand-in for the Postgres row: the same rules as `_sfbridge_org_budget`. */
function memoryBudget(start?: UsageReading): SharedBudget & { row: UsageReading | undefined } {
  const b = {
    row: start ? { ...start } : undefined,
    async take(ceiling: number) {
      if (!b.row || b.row.max === 0) return { known: false, ok: true, used: 0, max: 0 };
      if (b.row.used + 1 > Math.floor(ceiling * b.row.max)) return { known: true, ok: false, used: b.row.used, max: b.row.max };
      b.row.used++;
      return { known: true, ok: true, used: b.row.used, max: b.row.max };
    },
    async observe(r: UsageReading) {
      b.row = { used: Math.max(b.row?.used ?? 0, r.used), max: r.max };
    },
  };
  return b;
}

describe('governor with a shared (fleet) budget', () => {
  it('a new run admits its first call by the fleet\'s count, and refuses at the fleet\'s ceiling without a probe', async () => {
    const shared = memoryBudget({ used: 78, max: 100 });
    const g = new ApiGovernor({ runShare: 1, orgCeiling: 0.8 });
    g.shared = shared;
    const release = await g.admit();
    release();
    assert.equal(shared.row!.used, 79, 'the call was counted fleet-wide before it was made');
    g.observe({ used: 79, max: 100 });
    (await g.admit())();
    assert.equal(shared.row!.used, 80);
    g.observe({ used: 80, max: 100 });
    await assert.rejects(g.admit(), (err: unknown) => err instanceof LimitError && err.code === ERROR_CODES.orgCeiling);

    // Another run's governor: no reading of its own, and no unchecked probe either.
    const other = new ApiGovernor({ runShare: 1, orgCeiling: 0.8 });
    other.shared = shared;
    await assert.rejects(other.admit(), (err: unknown) => err instanceof LimitError && err.code === ERROR_CODES.orgCeiling && /fleet/.test(err.message));
    assert.equal(shared.row!.used, 80, 'nothing was counted past the ceiling');
  });

  it('the fleet\'s count refuses even when this run\'s own reading is behind', async () => {
    const shared = memoryBudget();
    const g = new ApiGovernor({ runShare: 1, orgCeiling: 0.5 });
    g.shared = shared;
    (await g.admit())(); // the probe: nobody has read the org yet
    g.observe({ used: 10, max: 100 });
    await Promise.resolve();
    // Other workers spent the rest; this run's reading still says 10.
    shared.row = { used: 50, max: 100 };
    await assert.rejects(g.admit(), (err: unknown) => err instanceof LimitError && err.code === ERROR_CODES.orgCeiling);
  });
});
