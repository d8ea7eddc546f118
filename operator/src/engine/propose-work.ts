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
import {
  failedOutcome,
  type CycleContext,
  type FailedOutcome,
  type ProposePort,
  type WorkOutcome,
} from '../cycle/ports.js';
import { readRepositorySnapshot, type RepositorySnapshot } from '../git/base-tree.js';
import { readLineage, toArchiveEntry } from '../git/lineage.js';
import { mergeRecoveredArchive } from '../policy/archive.js';
import { importRootFilesOf, policyInputFor } from '../policy/agent-policy.js';
import { fromArchiveRecord, parameterValues } from '../policy/archive-record.js';
import { checkPatch, judgedFiles } from '../policy/patch-policy.js';
import type { Refusal } from '../policy/refusal.js';
import { drawSeed, selectParent } from '../policy/parent-selection.js';
import { startingValues } from '../propose/candidate-schema.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValues } from '../api/parameters.js';
import type { Proposer } from '../propose/proposer.js';
import { hotSpotContext } from '../represent/query.js';
import { parseDuration } from '../util/duration.js';
import { candidateFiles, placementMismatch, type CandidateFiles } from './candidate-files.js';

/** Each candidate's tree and bundle as git made them, or why git refused it, by candidate id. */
type RoundFiles = ReadonlyMap<string, CandidateFiles>;
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
import type { Workspace } from '../git/workspace.js';

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
      return failedOutcome('NoBaseCommit', 'The cycle has no base commit: Represent did not record one.');
    }
    const proposer = await this.proposerFor(cycle);
    if ('failed' in proposer) return proposer.failed;
    const recorded = await this.archiveOf(cycle);
    const current = await this.currentValues(cycle, spec.improvement.parameters);
    if ('failed' in current) return current.failed;
    try {
      return await this.deps.checkouts.withWorkspace(
        { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
        async (workspace) => {
          const archive = await withLineage(recorded, workspace);
          const snapshots = snapshotMemo(workspace.dir, importRootFilesOf(spec));
          const round = await this.runRound(cycle, workspace, {
            proposer,
            archive,
            current: current.values,
            baseCommit,
            snapshots,
          });
          const inputs = await roundInputs(cycle.name, workspace, round, {
            current: current.values,
            baseCommit,
            snapshots,
          });
          await this.storeInputs(cycle, inputs.data);
          const { candidates } = inputs;
          const pending = candidates.filter((candidate) => candidate.verdict === 'Pending').length;
          const parent = round.request.parent;
          return {
            state: 'succeeded',
            message: `${proposer.type} proposed ${candidates.length} candidates (${pending} to evaluate, ${candidates.length - pending} refused by the patch policy or git)${parent ? ` from parent ${parent.id}` : ''}`,
            status: { candidates, proposal: round.proposal },
          };
        },
      );
    } catch (error) {
      if (error instanceof SourceUnavailableError) return failedOutcome('SourceUnavailable', error.message);
      throw error;
    }
  }

  /** The proposer the cycle asks, or ProposerUnavailable (an API key Secret that cannot be read, say). */
  private async proposerFor(cycle: CycleContext): Promise<Proposer | { failed: FailedOutcome }> {
    try {
      return await this.deps.makeProposer(cycle);
    } catch (error) {
      if (error instanceof ProposerUnavailableError) {
        return { failed: failedOutcome('ProposerUnavailable', error.message) };
      }
      throw error;
    }
  }

  /** The round on the checked-out base commit: parent choice, the proposer, the patch policy. */
  private async runRound(
    cycle: CycleContext,
    workspace: Workspace,
    inputs: {
      proposer: Proposer;
      archive: ArchiveEntry[];
      current: ParameterValues;
      baseCommit: string;
      snapshots: SnapshotMemo;
    },
  ): Promise<ProposalRound> {
    const spec = cycle.spec.agentSpec;
    const { baseCommit, snapshots } = inputs;
    const graph = this.deps.graphs.get(cycle.uid) ?? (await graphOf(workspace, cycle, baseCommit));
    await checkoutCommit(workspace, baseCommit);
    const now = this.deps.now?.() ?? new Date();
    const started = Date.parse(cycle.status.startTime ?? now.toISOString());
    const context: RoundContext = {
      agent: { namespace: cycle.namespace, name: cycle.spec.agent },
      cycle: cycle.name,
      spec,
      ...(cycle.spec.incident ? { incident: cycle.spec.incident } : {}),
      archive: inputs.archive,
      current: inputs.current,
      graph,
      sources: await sourcesAround(workspace.dir, hotSpotContext(graph)),
      deadline: new Date(started + parseDuration(spec.improvement.budget.maxDuration)),
    };
    return proposeCandidates(context, {
      proposer: inputs.proposer,
      ...(spec.improvement.proposer.model ? { model: spec.improvement.proposer.model } : {}),
      chooseParent: (past) => {
        const usable = past.filter(usableAsParent);
        if (cycle.spec.incident) {
          // a remediation changes what runs now: the latest promoted variant, else the baseline
          const running = usable
            .filter((entry) => entry.verdict === 'Promoted')
            .sort((a, b) => Date.parse(a.evaluatedAt) - Date.parse(b.evaluatedAt))
            .at(-1);
          return { ...(running ? { parent: running } : {}), probability: 1 };
        }
        const choice = selectParent({ archive: usable, rng: xoroshiro128plus(seedOf(cycle)) });
        const odds = choice.odds.find((entry) => entry.id === choice.parent?.id);
        return {
          ...(choice.parent ? { parent: choice.parent } : {}),
          probability: odds?.probability ?? 1,
        };
      },
      checkPatch: async (diff, parent) => {
        const snapshot = await snapshots(parent?.commit ?? baseCommit);
        return checkPatch({ ...policyInputFor(spec, snapshot), diff, tree: await snapshot.treeFor(diff) });
      },
    });
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

type ProposalRound = Awaited<ReturnType<typeof proposeCandidates>>;

/**
 * The archive status holds, with the promoted variants git remembers that status lost (a status
 * that was deleted or restored from an old backup). Only promoted commits (a promotion tag names
 * them) come back: a commit that was never promoted may have been rolled back, and git does not
 * say so, so it must not return as a parent.
 */
async function withLineage(recorded: ArchiveEntry[], workspace: Workspace): Promise<ArchiveEntry[]> {
  const lineage = await readLineage(workspace, { fetch: false });
  const promoted = lineage.filter((record) => record.revisions.length > 0).map(toArchiveEntry);
  return mergeRecoveredArchive(recorded, promoted);
}

/** A commit's repository snapshot (files, manifests, the anchors' imports), read once per round. */
type SnapshotMemo = (commit: string) => Promise<RepositorySnapshot>;

function snapshotMemo(dir: string, importRoots: Parameters<typeof readRepositorySnapshot>[2]): SnapshotMemo {
  // Every candidate of the round is judged against the same commit or two: read each once, not
  // once per candidate and again for the placement check.
  const snapshots = new Map<string, Promise<RepositorySnapshot>>();
  return (commit) => {
    let snapshot = snapshots.get(commit);
    if (!snapshot) {
      snapshot = readRepositorySnapshot(dir, commit, importRoots);
      snapshots.set(commit, snapshot);
    }
    return snapshot;
  };
}

/**
 * What evaluation needs of the round, as the cycle's inputs ConfigMap holds it, and each
 * candidate as status records it: git makes each candidate's tree and bundle; a candidate git
 * refuses, places elsewhere than the policy judged, or whose bundle no longer fits, is Refused.
 */
async function roundInputs(
  cycleName: string,
  workspace: Workspace,
  round: ProposalRound,
  base: { current: ParameterValues; baseCommit: string; snapshots: SnapshotMemo },
): Promise<{ data: Record<string, string>; candidates: Candidate[] }> {
  const { baseCommit } = base;
  const parent = round.request.parent;
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
  const data = evaluationData(round, base.current, parentDiff);
  const refusals = await placementRefusals(
    round.reviewed,
    files,
    await base.snapshots(parentCommit ?? baseCommit),
  );
  addBundles(data, files, refusals);
  const reviewed = round.reviewed.map((item) => {
    const refusal = refusals.get(item.id);
    return refusal ? refused(item, refusal) : item;
  });
  return { data, candidates: candidateRecords(cycleName, reviewed, files, refusals) };
}

/** The baseline's and each candidate's full parameter values, each code candidate's diff and its parent's. */
function evaluationData(
  round: ProposalRound,
  current: ParameterValues,
  parentDiff: string | undefined,
): Record<string, string> {
  const parent = round.request.parent;
  const data: Record<string, string> = { [inputKeys.parameters(BASELINE)]: parametersJson(current) };
  for (const item of round.reviewed) {
    const values: ParameterValues = {
      ...startingValues({ current, ...(parent ? { parent } : {}) }),
      ...(item.candidate.kind === 'config' ? item.candidate.parameters : {}),
    };
    data[inputKeys.parameters(item.id)] = parametersJson(values);
    if (parentDiff) data[inputKeys.parentDiff(item.id)] = parentDiff;
    if (item.candidate.kind === 'code') data[inputKeys.diff(item.id)] = item.candidate.diff;
  }
  return data;
}

/**
 * The policy judged jsdiff's application of each diff; git made the tree that ships. Where the
 * two place a hunk differently, the candidate is refused.
 */
async function placementRefusals(
  reviewed: readonly ReviewedCandidate[],
  files: RoundFiles,
  policyBase: RepositorySnapshot,
): Promise<Map<string, Refusal>> {
  const refusals = new Map<string, Refusal>();
  for (const item of reviewed) {
    const made = files.get(item.id);
    if (item.candidate.kind !== 'code' || !made || 'refusal' in made) continue;
    const tree = await policyBase.treeFor(item.candidate.diff);
    const mismatch = placementMismatch(judgedFiles(item.candidate.diff, tree), made.bundle, (path) =>
      tree.read(path),
    );
    if (mismatch) refusals.set(item.id, mismatch);
  }
  return refusals;
}

/**
 * Bundles go in last, in candidate order: one that no longer fits refuses its candidate rather
 * than the API server refusing the whole ConfigMap. Refusals of git are recorded too.
 */
function addBundles(data: Record<string, string>, files: RoundFiles, refusals: Map<string, Refusal>): void {
  for (const [id, made] of files) {
    if (refusals.has(id)) continue;
    if ('refusal' in made) refusals.set(id, made.refusal);
    else if (inputsSize(data) + Buffer.byteLength(made.text, 'utf8') > MAX_INPUTS_BYTES)
      refusals.set(id, tooLargeForInputs(made.text));
    else data[inputKeys.files(id)] = made.text;
  }
}

/** Each candidate as status records it: its tree when git made one, and where a code candidate's diff is kept. */
function candidateRecords(
  cycleName: string,
  reviewed: readonly ReviewedCandidate[],
  files: RoundFiles,
  refusals: ReadonlyMap<string, Refusal>,
): Candidate[] {
  return candidateStatuses(reviewed).map((status, index) => {
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
        configMap: cycleInputsName(cycleName),
        key: inputKeys.diff(item.id),
        sha256: sha256(diff),
        files: changed.length,
        linesAdded: changed.reduce((sum, file) => sum + file.linesAdded, 0),
        linesRemoved: changed.reduce((sum, file) => sum + file.linesRemoved, 0),
      },
    };
  });
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
  return drawSeed(cycle.spec.agentSpec.improvement.proposer.seed, cycle.name);
}

async function sourcesAround(dir: string, paths: readonly string[]): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  for (const path of paths.slice(0, MAX_SOURCE_FILES)) {
    const text = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    if (text !== undefined) sources[path] = text.slice(0, MAX_SOURCE_CHARS);
  }
  return sources;
}
