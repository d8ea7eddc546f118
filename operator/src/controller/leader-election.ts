// Lease-based leader election, so several operator replicas can run and only one reconciles.
//
// The model is client-go's leaderelection: every retry period each candidate reads the Lease,
// decides (leader-decision.ts) and writes with the resourceVersion it read, so when two race the
// API server's optimistic concurrency lets exactly one win and the other gets 409 Conflict. A
// leader that cannot renew within renewDeadline gives up (onStoppedLeading) before its lease can
// expire for the others; the operator exits then, as controller-runtime does, rather than risk
// two leaders.
import { ApiException, CoordinationV1Api } from '@kubernetes/client-node';
import { kubeConfiguration } from '../kube/clients.js';
import type { KubeConfig, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { decideLeadership, releasedLeaseSpec } from './leader-decision.js';

export type LeaderState = 'unknown' | 'leader' | 'follower';

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  /** Namespace and name of the coordination.k8s.io/v1 Lease all replicas contend for. */
  namespace: string;
  name: string;
  /** Unique per replica (the pod name); the Lease's holderIdentity. */
  identity: string;
  /** How long peers wait after our last renewal before taking over. Default 15. */
  leaseDurationSeconds?: number;
  /** How long a leader keeps retrying a failed renewal before giving up. Default 10. */
  renewDeadlineSeconds?: number;
  /** Pause between attempts, for leaders and followers alike. Default 2. */
  retryPeriodSeconds?: number;
  /** Called once, when this replica becomes leader. */
  onStartedLeading: () => void;
  /** Called at most once, when a leader loses the lease; not called by stop(). */
  onStoppedLeading: () => void;
  log: Logger;
  /** Clock for Lease timestamps and deadlines; tests inject one. */
  now?: () => Date;
}

/** How one attempt ended, before the state machine interprets it. */
type Outcome =
  | { kind: 'holding' }
  | { kind: 'held-by-other'; holder: string }
  | { kind: 'lost-race' }
  | { kind: 'error'; err: unknown };

const HTTP_NOT_FOUND = 404;
const HTTP_CONFLICT = 409;

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  private current: LeaderState = 'unknown';
  /** The Lease as last read or written: its resourceVersion guards our next write. */
  private observed: V1Lease | undefined;
  /** When our last successful write as holder was stamped (epoch ms): the renew deadline runs from here. */
  private lastRenewAt = 0;
  private lost = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    // its own kept-alive connection, not counted with the reconcilers' requests
    this.api = new CoordinationV1Api(kubeConfiguration(options.kubeConfig));
    // The operator's logger already names this replica (identity) in every line.
    this.log = options.log.child({ lease: `${options.namespace}/${options.name}` });
    this.now = options.now ?? (() => new Date());
    this.leaseMs = (options.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (options.retryPeriodSeconds ?? 2) * 1000;
    validateTimings(this.leaseMs, this.renewDeadlineMs, this.retryMs);
  }

  /** Starts contending in the background; returns at once. */
  start(): void {
    if (this.loop) throw new Error('LeaderElector.start() called twice');
    this.loop = this.run();
  }

  /**
   * Stops contending and waits for the in-flight attempt. With `release`, a leader hands the
   * lease back so a peer takes over on its next retry instead of waiting out the lease; without
   * it the lease simply lapses (what a crash looks like to peers). Never calls onStoppedLeading:
   * the caller is the one shutting down.
   */
  async stop({ release }: { release: boolean }): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    // The loop has ended, so we no longer act as leader; say so before handing the lease over,
    // so this replica and its successor never both report 'leader'.
    const wasLeader = this.current === 'leader';
    if (wasLeader) this.current = 'follower';
    if (release && wasLeader) await this.release();
  }

  /** 'unknown' until an attempt has found out who holds the lease, then 'leader' or 'follower'. */
  state(): LeaderState {
    return this.current;
  }

  private async run(): Promise<void> {
    while (!this.stopping && !this.lost) {
      if (this.renewDeadlinePassed()) {
        this.loseLeadership('could not renew the lease before the renew deadline');
        break;
      }
      const outcome = await this.attemptWithTimeout();
      this.apply(outcome);
      if (this.stopping || this.lost) break;
      await this.sleep(this.nextDelayMs());
    }
  }

  /** One read-decide-write round, bounded so a hung request cannot carry a leader past its deadline. */
  private async attemptWithTimeout(): Promise<Outcome> {
    // client-node 1.3 cannot abort a request; a timed-out one is abandoned and at worst lands a
    // late renewal, which only delays a peer's takeover by one lease duration.
    const budget = this.current === 'leader' ? this.msUntilRenewDeadline() : this.renewDeadlineMs;
    try {
      return await withTimeout(this.attempt(), budget);
    } catch (err) {
      return { kind: 'error', err };
    }
  }

  private async attempt(): Promise<Outcome> {
    const lease = await this.readLease();
    const stampedAt = this.now();
    const decision = decideLeadership({
      current: lease?.spec,
      identity: this.options.identity,
      now: stampedAt,
      leaseDurationSeconds: this.leaseMs / 1000,
    });
    if (decision.action === 'wait') {
      this.observed = lease;
      this.log.debug({ holder: decision.holder, expiresAt: decision.expiresAt }, 'lease held by another');
      return { kind: 'held-by-other', holder: decision.holder };
    }
    if (decision.action === 'acquire' && decision.previousHolder) {
      this.log.info({ previousHolder: decision.previousHolder }, 'lease expired, taking over');
    }
    const written = lease
      ? await this.replaceLease(lease, decision.spec)
      : await this.createLease(decision.spec);
    if (!written) {
      this.log.debug({ action: decision.action }, 'lost the race for the lease (409)');
      return { kind: 'lost-race' };
    }
    this.observed = written;
    this.lastRenewAt = stampedAt.getTime();
    return { kind: 'holding' };
  }

  /** Folds an attempt's outcome into the state, firing the callbacks on transitions. */
  private apply(outcome: Outcome): void {
    switch (outcome.kind) {
      case 'holding':
        return this.becomeLeader();
      case 'held-by-other':
        // Seeing a live lease in someone else's name means it was taken from us (we lapsed, or
        // someone force-wrote it): stop now rather than act as a second leader until the deadline.
        if (this.current === 'leader') return this.loseLeadership(`lease now held by ${outcome.holder}`);
        this.current = 'follower';
        return;
      case 'lost-race':
        // As leader, a conflict is a failed renewal like any other: retry until the deadline.
        if (this.current !== 'leader') this.current = 'follower';
        return;
      case 'error':
        this.log.warn({ err: outcome.err, state: this.current }, 'leader election attempt failed');
        return;
    }
  }

  private becomeLeader(): void {
    if (this.current === 'leader') return;
    this.current = 'leader';
    // An acquisition that lands while stop() is waiting still counts (so stop can release it),
    // but starting work we are about to abandon would be pointless.
    if (this.stopping) return;
    this.log.info('became leader');
    this.invoke('onStartedLeading', this.options.onStartedLeading);
  }

  private loseLeadership(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.current = 'follower';
    this.log.warn({ reason }, 'lost leadership');
    this.invoke('onStoppedLeading', this.options.onStoppedLeading);
  }

  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease?.spec || lease.spec.holderIdentity !== this.options.identity) return;
    try {
      const spec = releasedLeaseSpec(lease.spec, this.now());
      const released = await withTimeout(this.replaceLease(lease, spec), this.renewDeadlineMs);
      if (released) this.log.info('released the lease');
      else this.log.warn('lease changed under us; not releasing it');
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease; peers will take over when it expires');
    }
  }

  private async readLease(): Promise<V1Lease | undefined> {
    const { namespace, name } = this.options;
    try {
      return await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (httpStatus(err) === HTTP_NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Creates the Lease; undefined when a peer created it first (409 AlreadyExists). */
  private async createLease(spec: V1LeaseSpec): Promise<V1Lease | undefined> {
    const { namespace, name } = this.options;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec,
    };
    try {
      return await this.api.createNamespacedLease({ namespace, body });
    } catch (err) {
      if (httpStatus(err) === HTTP_CONFLICT) return undefined;
      throw err;
    }
  }

  /** Replaces the Lease guarded by the resourceVersion we read; undefined when someone wrote in between (409). */
  private async replaceLease(read: V1Lease, spec: V1LeaseSpec): Promise<V1Lease | undefined> {
    const { namespace, name } = this.options;
    try {
      return await this.api.replaceNamespacedLease({ name, namespace, body: { ...read, spec } });
    } catch (err) {
      if (httpStatus(err) === HTTP_CONFLICT) return undefined;
      throw err;
    }
  }

  private renewDeadlinePassed(): boolean {
    return this.current === 'leader' && this.msUntilRenewDeadline() <= 0;
  }

  private msUntilRenewDeadline(): number {
    return this.lastRenewAt + this.renewDeadlineMs - this.now().getTime();
  }

  /** A leader wakes no later than its renew deadline, so it gives up on time, not a retry period late. */
  private nextDelayMs(): number {
    if (this.current !== 'leader') return this.retryMs;
    return Math.max(0, Math.min(this.retryMs, this.msUntilRenewDeadline()));
  }

  /** Sleeps, but stop() can cut it short through `wake`. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Runs a user callback; its failure is logged so it can never kill the election loop. */
  private invoke(name: string, callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.log.error({ err }, `${name} callback threw`);
    }
  }
}

/** Rejects timings under which a leader could still be acting after peers may take over. */
function validateTimings(leaseMs: number, renewDeadlineMs: number, retryMs: number): void {
  if (!(retryMs > 0)) throw new Error('retryPeriodSeconds must be positive');
  if (!(renewDeadlineMs > retryMs)) throw new Error('renewDeadlineSeconds must exceed retryPeriodSeconds');
  if (!(leaseMs > renewDeadlineMs)) throw new Error('leaseDurationSeconds must exceed renewDeadlineSeconds');
}

/** The HTTP status of a client-node API error, if it is one. */
function httpStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Resolves or rejects like `promise`, or rejects once `ms` have passed. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request timed out after ${ms}ms`)), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
