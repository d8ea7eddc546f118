// Pure leader-election logic over a coordination.k8s.io/v1 Lease: who may hold it, and what to
// write. No I/O and no clock of its own (the caller passes `now`), so every rule is table-testable;
// leader-election.ts does the reading and writing.
//
// Expiry is judged from the lease's own renewTime, as the design asks. That trusts the replicas'
// clocks to agree to well within (leaseDuration - renewDeadline); client-go instead times expiry
// from when it last saw the record change, which tolerates skew but needs memory between calls.
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1LeaseSpec } from '@kubernetes/client-node';

/** What a candidate should do with the lease this round. */
export type LeaderAction = 'acquire' | 'renew' | 'wait';

export interface LeaderDecisionInput {
  /** The Lease's spec as last read, or undefined when no Lease object exists yet. */
  current: V1LeaseSpec | undefined;
  identity: string;
  now: Date;
  /** How long the lease we write protects us; also the fallback when the lease names none. */
  leaseDurationSeconds: number;
}

export type LeaderDecision =
  | {
      action: 'acquire';
      spec: V1LeaseSpec;
      /** The live-or-dead holder we are replacing, if any (for logs: "took over from X"). */
      previousHolder: string | undefined;
    }
  | { action: 'renew'; spec: V1LeaseSpec }
  | { action: 'wait'; holder: string; expiresAt: Date };

/** Decides whether `identity` acquires, renews or waits for the lease, and the spec to write if not waiting. */
export function decideLeadership(input: LeaderDecisionInput): LeaderDecision {
  const { current, identity, now, leaseDurationSeconds } = input;
  const holder = current?.holderIdentity || undefined;
  if (holder === identity) {
    // Ours even if it lapsed: nobody took it over (the holder is still us), so renewing keeps
    // acquireTime and the transition count honest.
    return { action: 'renew', spec: renewedSpec(current, identity, now, leaseDurationSeconds) };
  }
  const expiresAt = current && holder ? leaseExpiresAt(current, leaseDurationSeconds) : undefined;
  if (holder && expiresAt && now.getTime() <= expiresAt.getTime()) {
    return { action: 'wait', holder, expiresAt };
  }
  return {
    action: 'acquire',
    spec: acquiredSpec(current, identity, now, leaseDurationSeconds),
    previousHolder: holder,
  };
}

/** Decides when the holder's claim lapses: last renewal (or acquisition) plus the lease's duration; undefined if the lease records neither time. */
export function leaseExpiresAt(spec: V1LeaseSpec, defaultDurationSeconds: number): Date | undefined {
  const last = leaseTimeMillis(spec.renewTime) ?? leaseTimeMillis(spec.acquireTime);
  if (last === undefined) return undefined;
  const seconds = spec.leaseDurationSeconds ?? defaultDurationSeconds;
  return new Date(last + seconds * 1000);
}

/** Decides the spec that hands the lease back: no holder and a 1s duration, so a peer takes it on its next try. */
export function releasedLeaseSpec(current: V1LeaseSpec, now: Date): V1LeaseSpec {
  // Spread first: fields this module does not manage (strategy, preferredHolder) survive the replace.
  return {
    ...current,
    holderIdentity: undefined,
    leaseDurationSeconds: 1,
    acquireTime: undefined,
    renewTime: microTime(now),
  };
}

/** Decides the epoch milliseconds of a Lease time, whichever shape client-node handed back; undefined if absent or unparsable. */
export function leaseTimeMillis(value: unknown): number | undefined {
  // client-node 1.x types MicroTime as a Date, but its deserializer does not know the type and
  // returns the raw RFC3339 string ("2025-01-02T03:04:05.123456Z"), so both shapes reach us.
  if (value instanceof Date) return finite(value.getTime());
  if (typeof value === 'string') return finite(Date.parse(value));
  return undefined;
}

/** Decides the wire form of a Lease time: a V1MicroTime, which serialises with the six fraction digits the API server requires. */
export function microTime(at: Date): V1MicroTime {
  return new V1MicroTime(at.getTime());
}

function renewedSpec(
  current: V1LeaseSpec | undefined,
  identity: string,
  now: Date,
  leaseDurationSeconds: number,
): V1LeaseSpec {
  const acquiredAt = leaseTimeMillis(current?.acquireTime);
  return {
    ...current,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: acquiredAt === undefined ? microTime(now) : microTime(new Date(acquiredAt)),
    renewTime: microTime(now),
    leaseTransitions: current?.leaseTransitions ?? 0,
  };
}

function acquiredSpec(
  current: V1LeaseSpec | undefined,
  identity: string,
  now: Date,
  leaseDurationSeconds: number,
): V1LeaseSpec {
  // A brand-new Lease starts at 0; taking over an existing one (expired or released) is a
  // change of holder, which is what leaseTransitions counts.
  const transitions = current ? (current.leaseTransitions ?? 0) + 1 : 0;
  return {
    ...current,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: transitions,
  };
}

function finite(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}
