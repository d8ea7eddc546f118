// The Committing phase in the operator: the selected candidate becomes one commit on the cycle
// branch `hyperagent/<agent>/<cycle>` with its metadata in trailers, pushed without force. The
// commit is the tree evaluated: the diff (checked against the sha256 in status) is applied to the
// commit the cycle was evaluated on and must make the tree recorded in status when the candidate
// was proposed, or the cycle fails; when the base branch has moved since, the cycle fails rather
// than commit something nobody tested. Idempotent through commitCandidate (an earlier attempt's
// commit is found by its trailers and reused).
import type { Candidate } from '../api/schema.js';
import { describeError, type KubeClients } from '../kube/clients.js';
import {
  failedOutcome,
  type CommitPort,
  type CycleContext,
  type RevertOutcome,
  type WorkOutcome,
} from '../cycle/ports.js';
import { commitCandidate } from '../git/commit.js';
import { isGitLineageError } from '../git/errors.js';
import { resolveCommit } from '../git/history.js';
import { pushCycleBranch } from '../git/push.js';
import { revertOnCycleBranch } from '../git/revert.js';
import { tagPromoted } from '../git/tag.js';
import { parameterValues } from '../policy/archive-record.js';
import type { ProposedCandidate } from '../propose/candidate.js';
import type { ParameterValues } from '../api/parameters.js';
import { cycleInputsName, inputKeys, sha256 } from '../kube/cycle-inputs.js';
import { readOwningAgent } from '../kube/owning-agent.js';
import { SourceUnavailableError, type SourceCheckouts } from '../git/source-checkout.js';

export interface CommitWorkDeps {
  clients: KubeClients;
  checkouts: SourceCheckouts;
}

type Prepared =
  | {
      candidate: Candidate;
      proposal: ProposedCandidate;
      parent?: { id: string; commit: string };
      /** The parent is an undelivered config variant: its tree is the cycle's base commit. */
      parentOnBase?: boolean;
      parameters?: ParameterValues;
      /** The tree evaluated, from status. */
      tree?: string;
    }
  | { failed: WorkOutcome };

const fail = (reason: string, message: string): { failed: WorkOutcome } => ({
  failed: failedOutcome(reason, message),
});

export class CommitWork implements CommitPort {
  constructor(private readonly deps: CommitWorkDeps) {}

  /** Commits and pushes the selected candidate; the outcome carries `status.commit`, or why it cannot be. */
  async commit(cycle: CycleContext): Promise<WorkOutcome> {
    const prepared = await this.prepare(cycle);
    if ('failed' in prepared) return prepared.failed;
    const { candidate, proposal } = prepared;
    const spec = cycle.spec.agentSpec;
    try {
      return await this.deps.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
        async (ws) => {
          if ((!prepared.parent || prepared.parentOnBase) && cycle.status.baseCommit) {
            const head = await resolveCommit(ws.runner, ws.baseRef);
            if (head !== cycle.status.baseCommit) {
              return fail(
                'BaseMoved',
                `branch ${spec.source.branch} moved from ${cycle.status.baseCommit.slice(0, 12)} (where the candidate was evaluated) to ${head?.slice(0, 12) ?? 'nothing'}; the next cycle starts from the new head`,
              ).failed;
            }
          }
          const committed = await commitCandidate(ws, {
            cycle: cycle.name,
            candidate: candidate.id,
            proposal,
            ...(prepared.parent ? { parent: prepared.parent } : {}),
            ...(prepared.parameters ? { parameters: prepared.parameters } : {}),
            ...(prepared.tree ? { tree: prepared.tree } : {}),
            goal: spec.goal,
            proposer: spec.improvement.proposer.type,
            ...(cycle.status.proposal?.model ? { model: cycle.status.proposal.model } : {}),
            ...(candidate.score !== undefined ? { score: candidate.score } : {}),
          });
          const pushed = await pushCycleBranch(ws, cycle.name);
          if (!pushed.pushed) {
            return fail(
              'BranchMoved',
              `the remote branch ${pushed.branch} holds ${pushed.remoteHead.slice(0, 12)}, not the commit ${pushed.localHead.slice(0, 12)} made here; nothing was overwritten`,
            ).failed;
          }
          return {
            state: 'succeeded',
            message: `Committed ${candidate.id} as ${committed.commit.slice(0, 12)} on ${committed.branch}${committed.reused ? ' (an earlier attempt made it)' : ''}`,
            status: { commit: committed.commit },
          } satisfies WorkOutcome;
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError) return fail('SourceUnavailable', error.message).failed;
      if (isGitLineageError(error)) return fail(error.code, error.message).failed;
      throw error;
    }
  }

  /**
   * The revert commit of a promotion the watch after promotion took back, on the cycle branch and
   * pushed, so the branch says what runs again; found rather than written again on a retry.
   */
  async revertPromotion(cycle: CycleContext): Promise<RevertOutcome> {
    const commit = cycle.status.commit;
    if (!commit) return { state: 'failed', message: 'the cycle recorded no commit to revert' };
    const spec = cycle.spec.agentSpec;
    try {
      return await this.deps.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
        async (ws): Promise<RevertOutcome> => {
          const reverted = await revertOnCycleBranch(ws, {
            cycle: cycle.name,
            commit,
            reason: cycle.status.watch?.message ?? 'reverted after promotion',
          });
          const pushed = await pushCycleBranch(ws, cycle.name);
          if (!pushed.pushed) {
            return {
              state: 'failed',
              message: `the remote branch ${pushed.branch} holds ${pushed.remoteHead.slice(0, 12)}, not the revert ${pushed.localHead.slice(0, 12)} made here; nothing was overwritten`,
            };
          }
          return { state: 'reverted', commit: reverted.commit, branch: reverted.branch };
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError || isGitLineageError(error)) {
        return { state: 'failed', message: error.message };
      }
      throw error;
    }
  }

  /** The promotion tag on the promoted commit, pushed (found when an earlier attempt pushed it). */
  async tagPromotion(
    cycle: CycleContext,
  ): Promise<{ state: 'tagged'; tag: string } | { state: 'failed'; message: string }> {
    const { commit, promotion } = cycle.status;
    if (!commit || !promotion) return { state: 'failed', message: 'the cycle recorded no promoted commit' };
    const spec = cycle.spec.agentSpec;
    try {
      return await this.deps.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
        async (ws) => {
          const tagged = await tagPromoted(ws, {
            revision: promotion.revision,
            commit,
            cycle: cycle.name,
            image: promotion.image ?? cycle.status.image ?? 'unknown',
          });
          return { state: 'tagged' as const, tag: tagged.tag };
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError || isGitLineageError(error)) {
        return { state: 'failed', message: error.message };
      }
      throw error;
    }
  }

  /** The selected candidate as the git layer records it: its diff or full parameter values, and its parent. */
  private async prepare(cycle: CycleContext): Promise<Prepared> {
    const candidate = cycle.status.candidates?.find((c) => c.id === cycle.status.selected);
    if (!candidate) return fail('NothingSelected', 'the cycle has no selected candidate to commit');
    let data: Record<string, string>;
    try {
      data =
        (
          await this.deps.clients.core.readNamespacedConfigMap({
            name: cycleInputsName(cycle.name),
            namespace: cycle.namespace,
          })
        ).data ?? {};
    } catch (error) {
      return fail(
        'InputsMissing',
        `cannot read the cycle's inputs ConfigMap ${cycle.namespace}/${cycleInputsName(cycle.name)}: ${describeError(error)}`,
      );
    }
    const found = candidate.parent ? await this.parentCommit(cycle, candidate.parent) : undefined;
    if (found && 'failed' in found) return found;
    const parent = found?.parent;
    const parentOnBase = found?.onBase ?? false;
    const base = {
      summary: candidate.summary,
      rationale: candidate.rationale ?? '',
      ...(candidate.parent ? { parent: candidate.parent } : {}),
    };
    const tree = candidate.tree ? { tree: candidate.tree } : {};
    if (candidate.kind === 'code') {
      const diff = data[inputKeys.diff(candidate.id)];
      if (diff === undefined || !candidate.patch || sha256(diff) !== candidate.patch.sha256) {
        return fail(
          'InputsTampered',
          `the diff of ${candidate.id} in the inputs ConfigMap is missing or is not the one evaluated`,
        );
      }
      // A code candidate ships only the tree it was evaluated as; without one there is nothing
      // to hold the commit to (a cycle proposed before trees were recorded, or an edited status).
      if (!candidate.tree) {
        return fail(
          'TreeMissing',
          `candidate ${candidate.id} has no tree in status, so what it was evaluated as is unknown; nothing is committed`,
        );
      }
      return {
        candidate,
        proposal: { kind: 'code', diff, ...base },
        ...(parent ? { parent, parentOnBase } : {}),
        ...tree,
      };
    }
    const declared = cycle.spec.agentSpec.improvement.parameters;
    const full = data[inputKeys.parameters(candidate.id)];
    let parameters: ParameterValues;
    try {
      parameters = parameterValues(
        Object.fromEntries(
          Object.entries(JSON.parse(full ?? 'null') as Record<string, unknown>).map(([k, v]) => [
            k,
            String(v),
          ]),
        ),
        declared,
      );
    } catch {
      return fail(
        'InputsMissing',
        `the full parameter values of ${candidate.id} are missing from the inputs`,
      );
    }
    const changes = parameterValues(candidate.parameters ?? {}, declared);
    return {
      candidate,
      proposal: { kind: 'config', parameters: changes, ...base },
      parameters,
      ...(parent ? { parent, parentOnBase } : {}),
      ...tree,
    };
  }

  /**
   * The commit of the archive entry a candidate starts from. A config variant that was never
   * delivered changes no file: its tree is the cycle's base commit, on which it was evaluated (and
   * which must not have moved since, like a candidate from the baseline). A code variant must have
   * been committed.
   */
  private async parentCommit(
    cycle: CycleContext,
    id: string,
  ): Promise<{ parent: { id: string; commit: string }; onBase: boolean } | { failed: WorkOutcome }> {
    const agent = await readOwningAgent(this.deps.clients, cycle);
    const record = agent.status?.archive?.find((entry) => entry.id === id);
    if (record?.commit) return { parent: { id, commit: record.commit }, onBase: false };
    if (record?.kind === 'config' && cycle.status.baseCommit) {
      return { parent: { id, commit: cycle.status.baseCommit }, onBase: true };
    }
    return fail(
      'ParentNotCommitted',
      `the candidate starts from ${id}, which has no commit in the agent's archive`,
    );
  }
}
