import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1LeaseSpec } from '@kubernetes/client-node';
import {
  decideLeadership,
  leaseExpiresAt,
  leaseTimeMillis,
  microTime,
  releasedLeaseSpec,
} from './leader-decision.js';
import type { LeaderAction } from './leader-decision.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const ME = 'pod-a';
const PEER = 'pod-b';

/** NOW shifted by `seconds`, as the raw RFC3339 micro string the API server sends back. */
function at(seconds: number): string {
  return microTime(new Date(NOW.getTime() + seconds * 1000)).toISOString();
}

/** The Lease spec shape client-node really returns: times as strings despite the declared Date type. */
type WireLeaseSpec = Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & {
  acquireTime?: string | Date;
  renewTime?: string | Date;
};

function spec(fields: WireLeaseSpec): V1LeaseSpec {
  return fields as V1LeaseSpec;
}

/** Lease times in a written spec as epoch ms, so assertions do not depend on the Date subclass. */
function ms(value: unknown): number | undefined {
  return leaseTimeMillis(value);
}

describe('decideLeadership', () => {
  const cases: Array<{ name: string; current: V1LeaseSpec | undefined; expected: LeaderAction }> = [
    { name: 'no Lease object yet', current: undefined, expected: 'acquire' },
    { name: 'Lease with no holder', current: spec({ leaseTransitions: 2 }), expected: 'acquire' },
    {
      name: 'Lease released (empty holder, 1s duration)',
      current: spec({ holderIdentity: '', leaseDurationSeconds: 1, renewTime: at(0) }),
      expected: 'acquire',
    },
    {
      name: 'peer renewed 5s ago, 15s lease',
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 15, renewTime: at(-5) }),
      expected: 'wait',
    },
    {
      name: 'peer lease ends exactly now (not yet past)',
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 15, renewTime: at(-15) }),
      expected: 'wait',
    },
    {
      name: 'peer lease ended 1ms ago',
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 15, renewTime: at(-15.001) }),
      expected: 'acquire',
    },
    {
      name: "peer's own duration wins over mine (60s lease renewed 30s ago)",
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 60, renewTime: at(-30) }),
      expected: 'wait',
    },
    {
      name: 'peer lease without a duration falls back to mine (15s)',
      current: spec({ holderIdentity: PEER, renewTime: at(-16) }),
      expected: 'acquire',
    },
    {
      name: 'peer lease without renewTime is judged from acquireTime',
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 15, acquireTime: at(-3) }),
      expected: 'wait',
    },
    {
      name: 'peer lease with no times at all cannot prove liveness',
      current: spec({ holderIdentity: PEER, leaseDurationSeconds: 15 }),
      expected: 'acquire',
    },
    {
      name: 'peer lease times as Date objects (typed shape) are read too',
      current: spec({
        holderIdentity: PEER,
        leaseDurationSeconds: 15,
        renewTime: new V1MicroTime(NOW.getTime() - 5000),
      }),
      expected: 'wait',
    },
    {
      name: 'I hold a live lease',
      current: spec({ holderIdentity: ME, leaseDurationSeconds: 15, renewTime: at(-2) }),
      expected: 'renew',
    },
    {
      name: 'I hold a lapsed lease nobody took (restart with the same identity)',
      current: spec({ holderIdentity: ME, leaseDurationSeconds: 15, renewTime: at(-60) }),
      expected: 'renew',
    },
  ];

  for (const { name, current, expected } of cases) {
    it(`${name} → ${expected}`, () => {
      const decision = decideLeadership({ current, identity: ME, now: NOW, leaseDurationSeconds: 15 });
      assert.equal(decision.action, expected);
    });
  }
});

describe('decideLeadership: spec to write', () => {
  const input = { identity: ME, now: NOW, leaseDurationSeconds: 15 };

  it('creating a new lease starts at 0 transitions with acquire = renew = now', () => {
    const decision = decideLeadership({ ...input, current: undefined });
    assert.equal(decision.action, 'acquire');
    assert.ok(decision.action === 'acquire');
    assert.equal(decision.spec.holderIdentity, ME);
    assert.equal(decision.spec.leaseDurationSeconds, 15);
    assert.equal(decision.spec.leaseTransitions, 0);
    assert.equal(ms(decision.spec.acquireTime), NOW.getTime());
    assert.equal(ms(decision.spec.renewTime), NOW.getTime());
    assert.equal(decision.previousHolder, undefined);
  });

  it('taking over an expired lease counts a transition and names the previous holder', () => {
    const current = spec({
      holderIdentity: PEER,
      leaseDurationSeconds: 10,
      acquireTime: at(-100),
      renewTime: at(-20),
      leaseTransitions: 4,
    });
    const decision = decideLeadership({ ...input, current });
    assert.ok(decision.action === 'acquire');
    assert.equal(decision.previousHolder, PEER);
    assert.equal(decision.spec.holderIdentity, ME);
    assert.equal(decision.spec.leaseDurationSeconds, 15);
    assert.equal(decision.spec.leaseTransitions, 5);
    assert.equal(ms(decision.spec.acquireTime), NOW.getTime());
    assert.equal(ms(decision.spec.renewTime), NOW.getTime());
  });

  it('taking a released lease counts a transition too', () => {
    const current = spec({ leaseDurationSeconds: 1, renewTime: at(-1), leaseTransitions: 3 });
    const decision = decideLeadership({ ...input, current });
    assert.ok(decision.action === 'acquire');
    assert.equal(decision.previousHolder, undefined);
    assert.equal(decision.spec.leaseTransitions, 4);
  });

  it('renewing keeps acquireTime and transitions, moves renewTime to now', () => {
    const current = spec({
      holderIdentity: ME,
      leaseDurationSeconds: 15,
      acquireTime: at(-100),
      renewTime: at(-2),
      leaseTransitions: 7,
    });
    const decision = decideLeadership({ ...input, current });
    assert.ok(decision.action === 'renew');
    assert.equal(decision.spec.holderIdentity, ME);
    assert.equal(decision.spec.leaseTransitions, 7);
    assert.equal(ms(decision.spec.acquireTime), NOW.getTime() - 100_000);
    assert.equal(ms(decision.spec.renewTime), NOW.getTime());
  });

  it('renewing a lease that lost its acquireTime stamps one', () => {
    const current = spec({ holderIdentity: ME, renewTime: at(-2) });
    const decision = decideLeadership({ ...input, current });
    assert.ok(decision.action === 'renew');
    assert.equal(ms(decision.spec.acquireTime), NOW.getTime());
    assert.equal(decision.spec.leaseTransitions, 0);
  });

  it('waiting reports the holder and when its claim lapses', () => {
    const current = spec({ holderIdentity: PEER, leaseDurationSeconds: 15, renewTime: at(-5) });
    const decision = decideLeadership({ ...input, current });
    assert.ok(decision.action === 'wait');
    assert.equal(decision.holder, PEER);
    assert.equal(decision.expiresAt.getTime(), NOW.getTime() + 10_000);
  });

  it('keeps fields it does not manage', () => {
    const current = spec({ holderIdentity: ME, renewTime: at(-1), strategy: 'OldestEmulationVersion' });
    const decision = decideLeadership({ ...input, current });
    assert.equal(decision.action === 'renew' && decision.spec.strategy, 'OldestEmulationVersion');
  });

  it('writes times as V1MicroTime, which serialise with microseconds', () => {
    const decision = decideLeadership({ ...input, current: undefined });
    assert.ok(decision.action === 'acquire');
    assert.ok(decision.spec.renewTime instanceof V1MicroTime);
    assert.equal(JSON.stringify(decision.spec.renewTime), '"2025-06-01T12:00:00.000000Z"');
  });
});

describe('releasedLeaseSpec', () => {
  it('clears the holder, shortens the lease to 1s and keeps the transition count', () => {
    const current = spec({
      holderIdentity: ME,
      leaseDurationSeconds: 15,
      acquireTime: at(-100),
      renewTime: at(-1),
      leaseTransitions: 2,
    });
    const released = releasedLeaseSpec(current, NOW);
    assert.equal(released.holderIdentity, undefined);
    assert.equal(released.leaseDurationSeconds, 1);
    assert.equal(released.acquireTime, undefined);
    assert.equal(ms(released.renewTime), NOW.getTime());
    assert.equal(released.leaseTransitions, 2);
  });

  it('lets a peer acquire at once', () => {
    const released = releasedLeaseSpec(spec({ holderIdentity: ME, leaseTransitions: 2 }), NOW);
    const decision = decideLeadership({
      current: released,
      identity: PEER,
      now: NOW,
      leaseDurationSeconds: 15,
    });
    assert.ok(decision.action === 'acquire');
    assert.equal(decision.spec.leaseTransitions, 3);
  });
});

describe('leaseExpiresAt', () => {
  const cases: Array<{ name: string; spec: V1LeaseSpec; expected: number | undefined }> = [
    {
      name: 'renewTime + own duration',
      spec: spec({ leaseDurationSeconds: 3, renewTime: at(0) }),
      expected: 3000,
    },
    { name: 'falls back to default duration', spec: spec({ renewTime: at(0) }), expected: 15_000 },
    { name: 'falls back to acquireTime', spec: spec({ acquireTime: at(-1) }), expected: 14_000 },
    { name: 'no times', spec: spec({ leaseDurationSeconds: 3 }), expected: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const expires = leaseExpiresAt(c.spec, 15);
      assert.equal(expires === undefined ? undefined : expires.getTime() - NOW.getTime(), c.expected);
    });
  }
});

describe('leaseTimeMillis', () => {
  const cases: Array<{ name: string; value: unknown; expected: number | undefined }> = [
    { name: 'RFC3339 micro string', value: '2025-06-01T12:00:00.123456Z', expected: NOW.getTime() + 123 },
    { name: 'RFC3339 with offset', value: '2025-06-01T14:00:00.000000+02:00', expected: NOW.getTime() },
    { name: 'Date', value: new Date(NOW), expected: NOW.getTime() },
    { name: 'V1MicroTime', value: new V1MicroTime(NOW.getTime()), expected: NOW.getTime() },
    { name: 'undefined', value: undefined, expected: undefined },
    { name: 'garbage string', value: 'not a time', expected: undefined },
    { name: 'invalid Date', value: new Date(Number.NaN), expected: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(leaseTimeMillis(c.value), c.expected));
  }
});
