// Reconciles one ImprovementCycle: runs the current phase's work through the providers, lets the
// pure state machine decide, then persists the status difference and records the events.
import type { Logger } from 'pino';
import {
  APPROVAL_ANNOTATION,
  BENCHMARK_CONDITION,
  CYCLES,
  REVERT_ANNOTATION,
  splitKey,
} from '../api/resources.js';
import { EVALUATING_CYCLE_PHASES } from '../api/schema.js';
import type { ImprovementCycle } from '../api/resources.js';
import { missingCapabilities } from '../cycle/capabilities.js';
import { PHASE_WORK, isTerminal, step, type WorkKind } from '../cycle/machine.js';
import { failedOutcome, type CycleContext, type CycleProviders, type WorkOutcome } from '../cycle/ports.js';
import type { EventRecorder } from '../kube/events.js';
import { readOwningAgent } from '../kube/owning-agent.js';
import type { Informer } from './informer.js';
import { statusCodeOf, type KubeClients } from '../kube/clients.js';
import { writeStatus } from '../kube/status.js';
import type { ReconcileResult } from './work-queue.js';
import { awaitsProductionGain } from '../rollout/production-gain.js';
import {
  awaitsPromotionTag,
  awaitsRevertCommit,
  awaitsWatch,
  isRevertDecided,
} from '../rollout/promotion-watch.js';

export interface CycleReconcilerDeps {
  clients: KubeClients;
  cycles: Informer<ImprovementCycle>;
  providers: CycleProviders;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/** Runs the provider work of a phase; a missing provider is reported as a failed outcome. */
export async function runWork(
  kind: WorkKind,
  cycle: CycleContext,
  providers: CycleProviders,
): Promise<WorkOutcome> {
  const missing = (what: string) => failedOutcome('CapabilityMissing', `This operator has no ${what}.`);
  switch (kind) {
    case 'represent':
      return providers.represent ? providers.represent.represent(cycle) : missing('Representer');
    case 'propose': {
      const type = cycle.spec.agentSpec.improvement.proposer.type;
      const proposer = providers.propose[type];
      return proposer ? proposer.propose(cycle) : missing(`Proposer '${type}'`);
    }
    case 'evaluate':
      return providers.evaluate ? providers.evaluate.evaluate(cycle) : missing('Sandbox');
    case 'commit':
      return providers.commit ? providers.commit.commit(cycle) : missing('SourceRepository');
    case 'build':
      return providers.build ? providers.build.build(cycle) : missing('ImageBuilder');
    case 'canary':
      return providers.canary ? providers.canary.advance(cycle) : missing('Canary');
  }
}

/** How soon to try the revert commit (and first the promotion tag) again after git failed. */
const REVERT_COMMIT_RETRY_MS = 60_000;
/** The promotion tag's retries back off up to this. */
const TAG_RETRY_MAX_MS = 30 * 60_000;
/** A promotion older than this is no longer tagged (its repository may be gone for good). */
const TAG_GIVE_UP_MS = 24 * 3_600_000;

/** Set on a cycle while it may own sandbox objects; removed once they are released. */
export const SANDBOX_FINALIZER = 'hyperagents.io/sandbox-cleanup';
/**
 * Set on a cycle while its canary may run; removed once the canary is released. Deleting a cycle
 * mid-canary must put a gateway's route back before the canary Service goes: the garbage
 * collector would delete the Service and leave the route sending a share of requests nowhere.
 */
export const CANARY_FINALIZER = 'hyperagents.io/canary-cleanup';

function hasFinalizer(cycle: ImprovementCycle, finalizer: string = SANDBOX_FINALIZER): boolean {
  return cycle.metadata.finalizers?.includes(finalizer) ?? false;
}

function approvalOf(cycle: ImprovementCycle): 'Approved' | 'Rejected' | undefined {
  const value = cycle.metadata.annotations?.[APPROVAL_ANNOTATION];
  return value === 'Approved' || value === 'Rejected' ? value : undefined;
}

/** What the ports see of a cycle: its identity, its frozen spec and its status as stored. */
function contextOf(cycle: ImprovementCycle): CycleContext {
  return {
    namespace: cycle.metadata.namespace,
    name: cycle.metadata.name,
    uid: cycle.metadata.uid ?? '',
    spec: cycle.spec,
    status: cycle.status ?? {},
  };
}

export class CycleReconciler {
  /**
   * The resourceVersions of each cycle that this replica's last visit wrote over (the status, the
   * finalizer). While the cache still shows one of them it has not seen the writes yet: acting on
   * it would run a phase's work twice (a second LLM request, say), or release the sandbox twice,
   * so the visit waits for the cache instead.
   */
  private readonly writtenFrom = new Map<string, Set<string>>();

  /** When to try a failed promotion tag again, per cycle, and the wait that led there. */
  private readonly tagRetries = new Map<string, { at: number; delayMs: number }>();
  /** The revert request last refused per cycle, so a refusal is one Event, not one per visit. */
  private readonly refusedReverts = new Map<string, string>();

  constructor(private readonly deps: CycleReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.deps.cycles.get(name, namespace);
    if (!cached) {
      this.writtenFrom.delete(key);
      return {};
    }
    if (this.writtenFrom.get(key)?.has(cached.metadata.resourceVersion ?? '')) return { requeueAfterMs: 200 };
    this.writtenFrom.delete(key);
    const unsandboxed = await this.releaseSandbox(cached);
    // releasing wrote the cycle: the cache's version is stale too, not only the one written next
    if (unsandboxed !== cached) this.wroteOver(key, cached);
    const cycle = unsandboxed && (await this.releaseCanary(unsandboxed));
    if (unsandboxed && cycle !== unsandboxed) this.wroteOver(key, unsandboxed);
    if (!cycle || cycle.metadata.deletionTimestamp) return {};
    const revertReason = cycle.metadata.annotations?.[REVERT_ANNOTATION];
    if (cycle.status?.phase === 'Promoted' && revertReason && !isRevertDecided(cycle.status.watch)) {
      return this.beginRevert(key, cycle, revertReason);
    }
    // the promotion tag first (the revision ran, whatever follows); a git that fails never holds
    // up the watch or the ledger: the tag is tried again later, on its own clock
    const tagRetryMs = await this.tagIfDue(key, cycle);
    if (tagRetryMs === 0) return { requeueAfterMs: 0 };
    const later = (result: ReconcileResult): ReconcileResult =>
      tagRetryMs === undefined || (result.requeueAfterMs !== undefined && result.requeueAfterMs <= tagRetryMs)
        ? result
        : { requeueAfterMs: tagRetryMs };
    if (awaitsWatch(cycle.spec.agentSpec, cycle.status))
      return later(await this.watchAfterPromotion(key, cycle));
    if (awaitsRevertCommit(cycle.status)) return later(await this.writeRevertCommit(key, cycle));
    if (awaitsProductionGain(cycle.status)) return later(await this.measureAfterPromotion(key, cycle));
    if (isTerminal(cycle.status?.phase)) return later({});
    const status = cycle.status ?? {};
    const phase = status.phase ?? 'Pending';
    const kind = PHASE_WORK[phase];
    // The finalizer goes on before the first sandbox object exists, so that no way out of
    // Evaluating (deletion included) leaves sandbox pods behind.
    if (kind === 'evaluate' && this.deps.providers.evaluate && !hasFinalizer(cycle)) {
      await this.setFinalizer(cycle, SANDBOX_FINALIZER, true);
      this.wroteOver(key, cycle);
      return { requeueAfterMs: 0 };
    }
    // likewise before the first canary object, so that deleting the cycle puts the traffic back
    if (kind === 'canary' && this.deps.providers.canary?.release && !hasFinalizer(cycle, CANARY_FINALIZER)) {
      await this.setFinalizer(cycle, CANARY_FINALIZER, true);
      this.wroteOver(key, cycle);
      return { requeueAfterMs: 0 };
    }
    const context = contextOf(cycle);
    const work = kind ? await runWork(kind, context, this.deps.providers) : undefined;
    const approval = approvalOf(cycle);
    const codeApprovalHeld = phase === 'Selecting' ? await this.codeApprovalHeld(context) : undefined;
    const result = step(
      cycle.spec,
      status,
      {
        missing: phase === 'Pending' ? missingCapabilities(cycle.spec, this.deps.providers) : [],
        ...(work ? { work } : {}),
        ...(approval ? { approval } : {}),
        ...(codeApprovalHeld ? { codeApprovalHeld } : {}),
      },
      this.deps.now ? this.deps.now() : new Date(),
    );
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? result.status : (current.status ?? {}),
    );
    if (!written) return {};
    if (written !== cycle) this.wroteOver(key, cycle);
    // Events only for a transition this replica actually persisted.
    if (written.status?.phase === result.status.phase) {
      for (const event of result.events)
        await this.deps.events.record(written, event.type, event.reason, event.message);
    }
    if (!isTerminal(result.status.phase) || !hasFinalizer(written)) {
      return result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : {};
    }
    await this.releaseSandbox(written);
    return {};
  }

  /** The agent's reason not to approve code changes itself (BenchmarkPredictive False), if it has one. */
  private async codeApprovalHeld(cycle: CycleContext): Promise<string | undefined> {
    let agent;
    try {
      agent = await readOwningAgent(this.deps.clients, cycle);
    } catch (error) {
      // the agent is gone: the garbage collector deletes its cycles, and nothing will be delivered
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
    const condition = agent.status?.conditions?.find((c) => c.type === BENCHMARK_CONDITION);
    return condition?.status === 'False' ? condition.message : undefined;
  }

  /**
   * A promoted cycle's ledger gets production's figure once the window after promotion has
   * passed: the only work done on an ended cycle, and it never changes its outcome.
   */
  private async measureAfterPromotion(key: string, cycle: ImprovementCycle): Promise<ReconcileResult> {
    const measure = this.deps.providers.canary?.measureAfterPromotion;
    if (!measure) return {};
    const outcome = await measure.call(this.deps.providers.canary, contextOf(cycle));
    if (outcome.state === 'waiting') return { requeueAfterMs: outcome.retryAfterMs };
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? { ...(cycle.status ?? {}), gain: outcome.gain } : (current.status ?? {}),
    );
    if (written && written !== cycle) this.wroteOver(key, cycle);
    return {};
  }

  /**
   * A promoted cycle under watch: the promoted revision judged against the one before it, and put
   * back when it regressed. The cycle stays Promoted (it was); status.watch says what followed.
   */
  private async watchAfterPromotion(key: string, cycle: ImprovementCycle): Promise<ReconcileResult> {
    const watch = this.deps.providers.canary?.watchAfterPromotion;
    if (!watch) return {};
    const outcome = await watch.call(this.deps.providers.canary, contextOf(cycle));
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? { ...(cycle.status ?? {}), watch: outcome.watch } : (current.status ?? {}),
    );
    if (written && written !== cycle) this.wroteOver(key, cycle);
    return { requeueAfterMs: outcome.retryAfterMs ?? 0 };
  }

  /**
   * A promotion taken back on request (REVERT_ANNOTATION, set by the agent's self-healing): the
   * watch becomes Reverting and carries it out. A refusal is told once per request.
   */
  private async beginRevert(key: string, cycle: ImprovementCycle, reason: string): Promise<ReconcileResult> {
    const revert = this.deps.providers.canary?.revertAfterPromotion;
    if (!revert) return {};
    const outcome = await revert.call(this.deps.providers.canary, contextOf(cycle), reason);
    if ('refused' in outcome) {
      if (this.refusedReverts.get(key) !== reason) {
        this.refusedReverts.set(key, reason);
        await this.deps.events.record(
          cycle,
          'Warning',
          'RevertRefused',
          `Revert refused: ${outcome.refused}.`,
        );
      }
      return {};
    }
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? { ...(cycle.status ?? {}), watch: outcome.watch } : (current.status ?? {}),
    );
    if (written && written !== cycle) this.wroteOver(key, cycle);
    return { requeueAfterMs: 0 };
  }

  /** After a revert, the cycle branch gets its revert commit, so git says what runs again. */
  private async writeRevertCommit(key: string, cycle: ImprovementCycle): Promise<ReconcileResult> {
    const revert = this.deps.providers.commit?.revertPromotion;
    if (!revert) return {};
    const context = contextOf(cycle);
    const outcome = await revert.call(this.deps.providers.commit, context);
    if (outcome.state === 'failed') {
      await this.deps.events.record(
        cycle,
        'Warning',
        'RevertCommitFailed',
        `The revert commit could not be written: ${outcome.message}; trying again in a minute.`,
      );
      return { requeueAfterMs: REVERT_COMMIT_RETRY_MS };
    }
    const watch = { ...context.status.watch!, revertCommit: outcome.commit };
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? { ...(cycle.status ?? {}), watch } : (current.status ?? {}),
    );
    if (written && written !== cycle) this.wroteOver(key, cycle);
    if (written === undefined || written.status?.watch?.revertCommit !== outcome.commit) return {};
    await this.deps.events.record(
      written,
      'Normal',
      'RevertCommitted',
      `Revert commit ${outcome.commit.slice(0, 12)} on ${outcome.branch}: the branch says what runs again.`,
    );
    return { requeueAfterMs: 0 };
  }

  /**
   * A promoted commit gets its tag hyperagent/<agent>/<revision>: git says what ran in production.
   * 0 when the tag was recorded (come back at once), the wait before the next try after git
   * failed, undefined when there is nothing to tag or no try is due. Failures back off from a
   * minute to half an hour, and a promotion older than a day is no longer tagged.
   */
  private async tagIfDue(key: string, cycle: ImprovementCycle): Promise<number | undefined> {
    const tag = this.deps.providers.commit?.tagPromotion;
    const status = cycle.status;
    if (!tag || !awaitsPromotionTag(status)) return undefined;
    const now = (this.deps.now ? this.deps.now() : new Date()).getTime();
    if (now - Date.parse(status!.promotion!.promotedAt) > TAG_GIVE_UP_MS) return undefined;
    const retry = this.tagRetries.get(key);
    if (retry && now < retry.at) return retry.at - now;
    const outcome = await tag.call(this.deps.providers.commit, contextOf(cycle));
    if (outcome.state === 'failed') {
      const delayMs = Math.min(TAG_RETRY_MAX_MS, retry ? retry.delayMs * 2 : REVERT_COMMIT_RETRY_MS);
      this.tagRetries.set(key, { at: now + delayMs, delayMs });
      if (!retry) {
        await this.deps.events.record(
          cycle,
          'Warning',
          'PromotionTagFailed',
          `The promotion tag could not be pushed: ${outcome.message}; trying again with backoff.`,
        );
      }
      return delayMs;
    }
    this.tagRetries.delete(key);
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? { ...(cycle.status ?? {}), promotionTag: outcome.tag } : (current.status ?? {}),
    );
    if (written && written !== cycle) this.wroteOver(key, cycle);
    return 0;
  }

  /** Remembers that this replica wrote over `cycle`'s version: a cache still showing it must not be acted on. */
  private wroteOver(key: string, cycle: ImprovementCycle): void {
    const version = cycle.metadata.resourceVersion;
    if (!version) return;
    const versions = this.writtenFrom.get(key) ?? new Set<string>();
    versions.add(version);
    this.writtenFrom.set(key, versions);
  }

  /**
   * Releases the cycle's sandbox once it is deleted or past Evaluating, then drops the finalizer.
   * Returns the cycle as it now is (undefined when the removal let it be deleted).
   */
  private async releaseSandbox(cycle: ImprovementCycle): Promise<ImprovementCycle | undefined> {
    if (!hasFinalizer(cycle)) return cycle;
    const inSandboxPhase = EVALUATING_CYCLE_PHASES.includes(cycle.status?.phase ?? 'Pending');
    if (!cycle.metadata.deletionTimestamp && inSandboxPhase) return cycle;
    await this.deps.providers.evaluate?.release({
      namespace: cycle.metadata.namespace,
      name: cycle.metadata.name,
      uid: cycle.metadata.uid ?? '',
    });
    return this.setFinalizer(cycle, SANDBOX_FINALIZER, false);
  }

  /**
   * Releases the cycle's canary once it is deleted or past the Canary phase (the canary's own end
   * has normally removed it already), then drops the finalizer. Returns the cycle as it now is.
   */
  private async releaseCanary(cycle: ImprovementCycle): Promise<ImprovementCycle | undefined> {
    if (!hasFinalizer(cycle, CANARY_FINALIZER)) return cycle;
    if (!cycle.metadata.deletionTimestamp && cycle.status?.phase === 'Canary') return cycle;
    await this.deps.providers.canary?.release?.({
      namespace: cycle.metadata.namespace,
      uid: cycle.metadata.uid ?? '',
      spec: cycle.spec,
    });
    return this.setFinalizer(cycle, CANARY_FINALIZER, false);
  }

  private async setFinalizer(
    cycle: ImprovementCycle,
    name: string,
    present: boolean,
  ): Promise<ImprovementCycle | undefined> {
    const others = (cycle.metadata.finalizers ?? []).filter((finalizer) => finalizer !== name);
    const finalizers = present ? [...others, name] : others;
    try {
      // A JSON patch with a test on resourceVersion: a stale cache fails (422) and is retried.
      return (await this.deps.clients.custom.patchNamespacedCustomObject({
        group: CYCLES.group,
        version: CYCLES.version,
        plural: CYCLES.plural,
        namespace: cycle.metadata.namespace,
        name: cycle.metadata.name,
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: cycle.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: finalizers },
        ],
      })) as ImprovementCycle;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}
