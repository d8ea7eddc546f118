// The Proposing phase in the operator: gathers what a proposal round needs from the cluster (the
// agent's archive, the parameter values the Deployment runs with, the service graph), runs the
// round (parent choice → proposer → patch policy), and keeps what evaluation needs in the cycle's
// inputs ConfigMap. Status gets the candidates and how they were obtained.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Candidate } from '../api/schema.js';
import { readTarget } from '../kube/target.js';
import { statusCodeOf, type KubeClients } from '../kube/clients.js';
import {
  candidateStatuses,
  proposeCandidates,
  usableAsParent,
  type ReviewedCandidate,
  type RoundContext,
} from '../cycle/proposal-round.js';
import type { CycleContext, ProposePort, WorkOutcome } from '../cycle/ports.js';
import { readRepositorySnapshot, type RepositorySnapshot } from '../git/base-tree.js';
import { importRootFilesOf, policyInputFor } from '../policy/agent-policy.js';
import { fromArchiveRecord, parameterValues } from '../policy/archive-record.js';
import { checkPatch, judgedFiles } from '../policy/patch-policy.js';
import type { Refusal } from '../policy/refusal.js';
import { selectParent } from '../policy/parent-selection.js';
import { startingValues } from '../propose/candidate-schema.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValues } from '../api/parameters.js';
import type { Proposer } from '../propose/proposer.js';
import { hotSpotContext } from '../represent/query.js';
import { parseDuration } from '../util/duration.js';
import { candidateFiles, placementMismatch } from './candidate-files.js';
import {
  BASELINE,
  cycleInputsConfigMap,
  cycleInputsName,
  inputKeys,
  inputsSize,
  MAX_INPUTS_BYTES,
  parametersJson,
  sha256,
} from '../kube/cycle-inputs.js';
import { readOwningAgent } from '../kube/owning-agent.js';
import { graphOf, checkoutCommit, type GraphCache } from './represent-work.js';
import { SourceUnavailableError, type SourceCheckouts } from '../git/source-checkout.js';

/** Source files shown to a proposer: the modules around the hot spots, bounded. */
const MAX_SOURCE_FILES = 8;
const MAX_SOURCE_CHARS = 16_000;

/** Makes the proposer a cycle asks (reading an API key Secret, say); throws a ProposerUnavailableError. */
export type ProposerFactory = (cycle: CycleContext) => Promise<Proposer>;

export class ProposerUnavailableError extends Error {
  override readonly name = 'ProposerUnavailableError';
}

export interface ProposalWorkDeps {
  clients: KubeClients;
  checkouts: SourceCheckouts;
  graphs: GraphCache;
  makeProposer: ProposerFactory;
  now?: () => Date;
}

export class ProposalWork implements ProposePort {
  constructor(private readonly deps: ProposalWorkDeps) {}

  async propose(cycle: CycleContext): Promise<WorkOutcome> {
    const spec = cycle.spec.agentSpec;
    const baseCommit = cycle.status.baseCommit;
    if (!baseCommit) {
      return {
        state: 'failed',
        reason: 'NoBaseCommit',
        message: 'The cycle has no base commit: Represent did not record one.',
      };
    }
    let proposer: Proposer;
    try {
      proposer = await this.deps.makeProposer(cycle);
    } catch (error) {
      if (error instanceof ProposerUnavailableError) {
        return { state: 'failed', reason: 'ProposerUnavailable', message: error.message };
      }
      throw error;
    }
    const archive = await this.archiveOf(cycle);
    const current = await this.currentValues(cycle, spec.improvement.parameters);
    if ('failed' in current) return current.failed;

    try {
      return await this.deps.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
        async (workspace) => {
          const graph = this.deps.graphs.get(cycle.uid) ?? (await graphOf(workspace, cycle, baseCommit));
          await checkoutCommit(workspace, baseCommit);
          // Every candidate of the round is judged against the same commit or two: read each once
          // (its file list, manifests and the imports of its anchors), not once per candidate.
          const snapshots = new Map<string, Promise<RepositorySnapshot>>();
          const snapshotOf = (commit: string): Promise<RepositorySnapshot> => {
            let snapshot = snapshots.get(commit);
            if (!snapshot) {
              snapshot = readRepositorySnapshot(workspace.dir, commit, importRootFilesOf(spec));
              snapshots.set(commit, snapshot);
            }
            return snapshot;
          };
          const now = this.deps.now?.() ?? new Date();
          const started = Date.parse(cycle.status.startTime ?? now.toISOString());
          const context: RoundContext = {
            agent: { namespace: cycle.namespace, name: cycle.spec.agent },
            cycle: cycle.name,
            spec,
            archive,
            current: current.values,
            graph,
            sources: await sourcesAround(workspace.dir, hotSpotContext(graph)),
            deadline: new Date(started + parseDuration(spec.improvement.budget.maxDuration)),
          };
          const round = await proposeCandidates(context, {
            proposer,
            ...(spec.improvement.proposer.model ? { model: spec.improvement.proposer.model } : {}),
            chooseParent: (past) => {
              const usable = past.filter(usableAsParent);
              const choice = selectParent({ archive: usable, rng: xoroshiro128plus(seedOf(cycle)) });
              const odds = choice.odds.find((entry) => entry.id === choice.parent?.id);
              return {
                ...(choice.parent ? { parent: choice.parent } : {}),
                probability: odds?.probability ?? 1,
              };
            },
            checkPatch: async (diff, parent) => {
              const snapshot = await snapshotOf(parent?.commit ?? baseCommit);
              return checkPatch({
                ...policyInputFor(spec, snapshot),
                diff,
                tree: await snapshot.treeFor(diff),
              });
            },
          });

          const parent = round.request.parent;
          const data: Record<string, string> = {
            [inputKeys.parameters(BASELINE)]: parametersJson(current.values),
          };
          const parentCommit = parent?.kind === 'code' ? parent.commit : undefined;
          const parentDiff = parentCommit
            ? await workspace.runner.git(['diff', '--binary', baseCommit, parentCommit])
            : undefined;
          const files = await candidateFiles(workspace.runner, {
            base: baseCommit,
            ...(parentCommit ? { parentCommit } : {}),
            candidates: round.reviewed
              .filter((item) => item.verdict === 'Pending')
              .map((item) => ({
                id: item.id,
                ...(item.candidate.kind === 'code' ? { diff: item.candidate.diff } : {}),
              })),
            scratchRoot: workspace.gitDir,
          });
          for (const item of round.reviewed) {
            const values: ParameterValues = {
              ...startingValues({ current: current.values, ...(parent ? { parent } : {}) }),
              ...(item.candidate.kind === 'config' ? item.candidate.parameters : {}),
            };
            data[inputKeys.parameters(item.id)] = parametersJson(values);
            if (parentDiff) data[inputKeys.parentDiff(item.id)] = parentDiff;
            if (item.candidate.kind === 'code') data[inputKeys.diff(item.id)] = item.candidate.diff;
          }
          // Bundles go in last, in candidate order: one that no longer fits refuses its candidate
          // rather than the API server refusing the whole ConfigMap.
          const refusals = new Map<string, Refusal>();
          // The policy judged jsdiff's application of each diff; git made the tree that ships.
          // Where the two place a hunk differently, the candidate is refused.
          const policyBase = await snapshotOf(parentCommit ?? baseCommit);
          for (const item of round.reviewed) {
            const made = files.get(item.id);
            if (item.candidate.kind !== 'code' || !made || 'refusal' in made) continue;
            const tree = await policyBase.treeFor(item.candidate.diff);
            const mismatch = placementMismatch(judgedFiles(item.candidate.diff, tree), made.bundle, (path) =>
              tree.read(path),
            );
            if (mismatch) refusals.set(item.id, mismatch);
          }
          for (const [id, made] of files) {
            if (refusals.has(id)) continue;
            if ('refusal' in made) refusals.set(id, made.refusal);
            else if (inputsSize(data) + Buffer.byteLength(made.text, 'utf8') > MAX_INPUTS_BYTES)
              refusals.set(id, tooLargeForInputs(made.text));
            else data[inputKeys.files(id)] = made.text;
          }
          const reviewed = round.reviewed.map((item) => {
            const refusal = refusals.get(item.id);
            return refusal ? refused(item, refusal) : item;
          });
          const candidates: Candidate[] = candidateStatuses(reviewed).map((status, index) => {
            const item = reviewed[index]!;
            const made = files.get(item.id);
            const tree = made && 'tree' in made && !refusals.has(item.id) ? { tree: made.tree } : {};
            if (item.candidate.kind !== 'code') return { ...status, ...tree };
            const diff = item.candidate.diff;
            const changed = item.files ?? [];
            return {
              ...status,
              ...tree,
              patch: {
                configMap: cycleInputsName(cycle.name),
                key: inputKeys.diff(item.id),
                sha256: sha256(diff),
                files: changed.length,
                linesAdded: changed.reduce((sum, file) => sum + file.linesAdded, 0),
                linesRemoved: changed.reduce((sum, file) => sum + file.linesRemoved, 0),
              },
            };
          });
          await this.storeInputs(cycle, data);
          const pending = candidates.filter((candidate) => candidate.verdict === 'Pending').length;
          return {
            state: 'succeeded',
            message: `${proposer.type} proposed ${candidates.length} candidates (${pending} to evaluate, ${candidates.length - pending} refused by the patch policy or git)${parent ? ` from parent ${parent.id}` : ''}`,
            status: { candidates, proposal: round.proposal },
          };
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError) {
        return { state: 'failed', reason: 'SourceUnavailable', message: error.message };
      }
      throw error;
    }
  }

  private async archiveOf(cycle: CycleContext): Promise<ArchiveEntry[]> {
    const agent = await readOwningAgent(this.deps.clients, cycle);
    const declared = cycle.spec.agentSpec.improvement.parameters;
    return (agent.status?.archive ?? []).map((record) => fromArchiveRecord(record, declared));
  }

  /** The values of env-carried parameters in the target container; configKey ones are unknown here. */
  private async currentValues(
    cycle: CycleContext,
    declared: readonly ParameterSpec[],
  ): Promise<{ values: ParameterValues } | { failed: WorkOutcome }> {
    const target = await readTarget(this.deps.clients.apps, cycle.namespace, cycle.spec.agentSpec.target);
    if ('failed' in target) return target;
    const env = Object.fromEntries(
      (target.container.env ?? []).map((variable) => [variable.name, variable.value ?? '']),
    );
    const strings: Record<string, string> = {};
    for (const parameter of declared) {
      if (parameter.env && env[parameter.env] !== undefined) strings[parameter.name] = env[parameter.env]!;
    }
    return { values: parameterValues(strings, declared) };
  }

  private async storeInputs(cycle: CycleContext, data: Record<string, string>): Promise<void> {
    const body = cycleInputsConfigMap(
      { namespace: cycle.namespace, name: cycle.name, uid: cycle.uid, agent: cycle.spec.agent },
      data,
    );
    const core = this.deps.clients.core;
    try {
      await core.createNamespacedConfigMap({ namespace: cycle.namespace, body });
    } catch (error) {
      // A visit that died after storing but before status was written proposes again: replace.
      if (statusCodeOf(error) !== 409) throw error;
      await core.replaceNamespacedConfigMap({ name: body.metadata!.name!, namespace: cycle.namespace, body });
    }
  }
}

/** The candidate refused for `refusal`, as the patch policy's refusals read in status. */
function refused(item: ReviewedCandidate, refusal: Refusal): ReviewedCandidate {
  const { files: _files, ...rest } = item;
  return { ...rest, verdict: 'Refused', reasons: [`${refusal.rule}: ${refusal.message}`] };
}

function tooLargeForInputs(text: string): Refusal {
  return {
    rule: 'TooLarge',
    message: `The candidate's changed files (${Buffer.byteLength(text, 'utf8')} bytes as a bundle) do not fit in the cycle's inputs ConfigMap beside the other candidates' (at most ${MAX_INPUTS_BYTES} bytes in all).`,
  };
}

/** A seed per cycle from the agent's seed, so a rerun of the same cycle draws the same parent. */
function seedOf(cycle: CycleContext): number {
  let hash = cycle.spec.agentSpec.improvement.proposer.seed >>> 0;
  for (const char of cycle.name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0;
  return hash;
}

async function sourcesAround(dir: string, paths: readonly string[]): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  for (const path of paths.slice(0, MAX_SOURCE_FILES)) {
    const text = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    if (text !== undefined) sources[path] = text.slice(0, MAX_SOURCE_CHARS);
  }
  return sources;
}
