// The cycle's ports: what the work of each phase must offer the reconciler, and what it reports
// back to the state machine. The cycle owns these contracts; the folders below the wiring
// (sandbox/, build/, rollout/, and engine/ for representing, proposing and committing) implement
// them, and engine/providers.ts chooses the implementations.
//
// Work is called on every visit of the cycle and must be idempotent: it starts what is not
// started yet and reports where it stands, so the operator can die at any point and continue.
import type {
  Candidate,
  CanaryStatus,
  GainLedger,
  ImprovementCycleSpec,
  ImprovementCycleStatus,
  PromotionWatch,
} from '../api/schema.js';
import type { ProposerType } from '../propose/proposer.js';

export interface CycleContext {
  namespace: string;
  name: string;
  uid: string;
  spec: ImprovementCycleSpec;
  status: ImprovementCycleStatus;
}

export type WorkOutcome =
  /**
   * Still going: visit again after `retryAfterMs`. `status` is merged into the cycle status and
   * persisted (the canary keeps its state machine there), so it must be safe to write on every visit.
   */
  | { state: 'running'; message?: string; retryAfterMs?: number; status?: Partial<ImprovementCycleStatus> }
  /** Done: `status` is merged into the cycle status (candidates, commit, image...). */
  | { state: 'succeeded'; message?: string; status?: Partial<ImprovementCycleStatus>; result?: CanaryResult }
  /** Could not be done: the cycle fails with this reason. */
  | FailedOutcome;

/** Work that could not be done: the cycle fails with `reason` (a CamelCase word) and `message`. */
export interface FailedOutcome {
  state: 'failed';
  reason: string;
  message: string;
}

/** The outcome that fails the cycle with `reason` and `message`. */
export function failedOutcome(reason: string, message: string): FailedOutcome {
  return { state: 'failed', reason, message };
}

/** The candidate the cycle selected, or a failed outcome (NothingSelected) when status names none that exists. */
export function selectedCandidate(cycle: CycleContext): Candidate | { failed: FailedOutcome } {
  const id = cycle.status.selected;
  const candidate = id ? cycle.status.candidates?.find((c) => c.id === id) : undefined;
  if (candidate) return candidate;
  const message = id
    ? `the selected candidate ${id} is not in status.candidates`
    : 'no candidate is selected';
  return { failed: failedOutcome('NothingSelected', message) };
}

/** How a canary ended; only the Canary phase reports one. */
export type CanaryResult = 'Promoted' | 'RolledBack';

/**
 * What one visit of a canary reports. `running` and `succeeded` carry the canary's next state in
 * `status.canary`: it must be persisted, because the next visit starts from `cycle.status.canary`.
 */
export type CanaryOutcome =
  | (Extract<WorkOutcome, { state: 'running' }> & { status: { canary: CanaryStatus } })
  | (Extract<WorkOutcome, { state: 'succeeded' }> & {
      status: { canary: CanaryStatus; gain?: GainLedger };
      result: CanaryResult;
    })
  | FailedOutcome;

/** The measurement of production after a promotion: not yet (come back later), or the ledger with it. */
export type ProductionGainOutcome =
  { state: 'waiting'; retryAfterMs: number } | { state: 'measured'; gain: GainLedger };

/** Representing: builds the queryable graph of the service (modules, parameters, API schemas, hot spots). */
export interface RepresentPort {
  represent(cycle: CycleContext): Promise<WorkOutcome>;
}

/** Proposing: gathers the proposal request, asks the agent's proposer, persists the candidates. */
export interface ProposePort {
  propose(cycle: CycleContext): Promise<WorkOutcome>;
}

/** Evaluating: every candidate in an isolated pod; a succeeded outcome carries verdicts and scores. */
export interface EvaluatePort {
  evaluate(cycle: CycleContext): Promise<WorkOutcome>;
  /**
   * Removes everything the cycle's evaluation created (inputs and pods). Called once the cycle has
   * left Evaluating, however it left (selected, failed, deadline, deleted); idempotent.
   */
  release(cycle: Pick<CycleContext, 'namespace' | 'name' | 'uid'>): Promise<void>;
}

/** Committing: the selected candidate with its metadata; a succeeded outcome carries `status.commit`. */
export interface CommitPort {
  commit(cycle: CycleContext): Promise<WorkOutcome>;
  /** After the watch reverted a promotion: the revert commit on the cycle branch. */
  revertPromotion?(cycle: CycleContext): Promise<RevertOutcome>;
  /** After a promotion: the tag hyperagent/<agent>/<revision> on the promoted commit, pushed. */
  tagPromotion?(
    cycle: CycleContext,
  ): Promise<{ state: 'tagged'; tag: string } | { state: 'failed'; message: string }>;
}

/** The revert commit written (or found), or why it could not be (tried again later). */
export type RevertOutcome =
  { state: 'reverted'; commit: string; branch: string } | { state: 'failed'; message: string };

/** One visit of the watch after promotion: its next state, and when to look again (undefined: over). */
export interface WatchOutcome {
  watch: PromotionWatch;
  retryAfterMs?: number;
}

/** Building: turns the selected candidate into something deployable; a succeeded outcome carries `status.image`. */
export interface BuildPort {
  build(cycle: CycleContext): Promise<WorkOutcome>;
}

/** Canary: drives one canary step by step; a succeeded outcome says whether it was promoted or rolled back. */
export interface CanaryPort {
  advance(cycle: CycleContext): Promise<CanaryOutcome>;
  /** Removes what the cycle's canary left on the cluster (a cycle that ends outside the canary's own outcomes). */
  release?(cycle: Pick<CycleContext, 'namespace' | 'uid' | 'spec'>): Promise<void>;
  /**
   * After a promotion: the promoted revision against the one before it, over the window after
   * promotion (status.gain.production). Called on a Promoted cycle whose ledger awaits it.
   */
  measureAfterPromotion?(cycle: CycleContext): Promise<ProductionGainOutcome>;
  /**
   * After a promotion, while rollout.afterPromotion.watch holds: the promoted revision judged
   * against the one before it, and the revert when it regressed (status.watch).
   */
  watchAfterPromotion?(cycle: CycleContext): Promise<WatchOutcome>;
  /** A promotion taken back on request (an incident soon after it): the watch becomes Reverting, or why not. */
  revertAfterPromotion?(cycle: CycleContext, reason: string): Promise<WatchOutcome | { refused: string }>;
}

/** The work this operator can do for each phase; a phase without its port fails naming what is missing. */
export interface CycleProviders {
  represent?: RepresentPort;
  /** One per proposer type the operator ships (spec.improvement.proposer.type). */
  propose: Partial<Record<ProposerType, ProposePort>>;
  evaluate?: EvaluatePort;
  commit?: CommitPort;
  build?: BuildPort;
  canary?: CanaryPort;
}
