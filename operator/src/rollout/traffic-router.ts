// How a share of a service's traffic reaches the canary. A router puts a weight in place, says
// which weight is in place (only once the canary can really serve it), and removes the canary.
// Two routers implement it: the replica ratio (replica-ratio-router.ts) and the Gateway API
// (gateway-api-router.ts, HTTPRoute backend weights).

/** What the canary runs: the revision under test. */
export interface Revision {
  /** Unique within the agent (promotion.ts revisionName). */
  name: string;
  /** Image of the target container. */
  image: string;
  /** Environment variables the revision sets on the target container: its parameter values. */
  env: Record<string, string>;
}

/** The service under a canary: its stable Deployment, the container that changes and the revision tried. */
export interface CanaryTarget {
  namespace: string;
  /** The stable Deployment (spec.target.deployment). */
  deployment: string;
  /** The container that runs the service; the first one when unset. */
  container?: string;
  /** The Service traffic enters by (spec.target.service), when there is one. */
  service?: string;
  revision: Revision;
  /** The object the canary belongs to (its ImprovementCycle): deleting it removes the canary. */
  owner: { apiVersion: string; kind: string; name: string; uid: string };
}

/** What releasing a canary needs to know of its target. */
export type ReleasedTarget = Pick<CanaryTarget, 'namespace' | 'deployment' | 'service'>;

/** What the router observed of the canary's traffic. */
export interface TrafficState {
  /**
   * The weight asked for that is in place, with every canary pod of the revision ready; 0 when
   * no canary pod exists; undefined while a weight is still being put in place.
   */
  weight?: number;
  /**
   * False once the canary workload is gone or being deleted, and the router sends it nothing (a
   * route that still names it keeps it present, whoever deleted its objects).
   */
  canaryPresent: boolean;
  /** The share of ready pods (stable and canary) that are canary pods, percent: what traffic sees. */
  actualPercent?: number;
  /** Where the router stands, in words. */
  detail: string;
  /**
   * A change is under way that no watch reports (a gateway taking a route it was given, or about
   * to be given one for a canary that just became ready): look again soon, not at the next poll.
   */
  settling?: boolean;
}

/** The router cannot give the canary this weight (too coarse, too many pods, no stable replicas). */
export class WeightUnreachableError extends Error {
  override name = 'WeightUnreachableError';
}

/** A canary workload of the same name exists and is not ours: the router will not touch it. */
export class ForeignCanaryError extends Error {
  override name = 'ForeignCanaryError';
}

/** Shifts a share of the service's traffic to the canary. */
export interface TrafficRouter {
  /** Reads which weight the canary holds now. */
  observe(target: CanaryTarget): Promise<TrafficState>;
  /**
   * Sends `weight` percent of traffic to the canary running `target.revision`, creating or
   * updating it; idempotent. Throws WeightUnreachableError or ForeignCanaryError.
   */
  setWeight(target: CanaryTarget, weight: number): Promise<void>;
  /** Removes the canary workload; idempotent. Throws ForeignCanaryError. */
  removeCanary(target: CanaryTarget): Promise<void>;
  /**
   * Takes the canary out of traffic and removes it in one visit, without waiting for a gateway
   * (its cycle is being deleted). Touches only a canary that `owner` (a cycle uid) made.
   */
  release(target: ReleasedTarget, owner: string): Promise<void>;
  /** Why the router cannot run a canary of `target` through `weights`; empty when it can. */
  check(target: CanaryTarget, weights: readonly number[]): Promise<string[]>;
}
