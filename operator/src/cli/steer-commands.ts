// The verbs that steer an agent: `status`, `history`, `archive`, `run`, `approve`, `reject`,
// `pause`, `resume`, `abort`, `rollback --to`, `trust`. Each reads the agent and its active
// cycle, checks that the verb makes sense in the cycle's phase (and says what would, when it does
// not), and records the decision as an annotation the operator acts on: approval on a waiting
// cycle, pause/resume/abort tokens on a canary, run, rollback and trust on the agent. Nothing here
// changes a Deployment; the operator does, and tells in status and Events.
import { Command } from 'commander';
import type { HyperAgent, ImprovementCycle } from '../api/resources.js';
import { DELIVERING_CYCLE_PHASES } from '../api/schema.js';
import {
  APPROVAL_ANNOTATION,
  CANARY_REQUEST_ANNOTATIONS,
  ROLLBACK_ANNOTATION,
  RUN_ANNOTATION,
  TRUST_ANNOTATION,
} from '../api/resources.js';
import { emit, userError, type CommandOutput } from './command-output.js';
import {
  annotate,
  clusterContext,
  describeApiError,
  listAgents,
  readAgent,
  readAgentAndCycle,
  readCycle,
  type ClusterFlags,
} from './cluster-context.js';
import { DEFAULT_WIDTH, describeTrust, renderArchive } from './render-archive.js';
import { renderAgentDetail, renderAgents, renderHistory } from './render-status.js';

type Verb = 'approve' | 'reject' | 'pause' | 'resume' | 'abort';

/** The phase each verb needs, and what it does there. */
const VERBS: Record<Verb, { phase: string; does: string }> = {
  approve: { phase: 'AwaitingApproval', does: 'approved: delivery starts' },
  reject: { phase: 'AwaitingApproval', does: 'rejected: the cycle ends Rejected' },
  pause: { phase: 'Canary', does: 'asked to pause: the canary holds its weight' },
  resume: { phase: 'Canary', does: 'asked to resume' },
  abort: { phase: 'Canary', does: 'asked to abort: the canary is rolled back' },
};

const ok = (stdout: string): CommandOutput => ({ exitCode: 0, stdout, stderr: '' });

/** `status [agent]`: every agent of the namespace as a table, or one agent in detail. */
export async function runStatus(flags: ClusterFlags & { agent?: string }): Promise<CommandOutput> {
  const context = clusterContext(flags);
  try {
    if (flags.agent) {
      const { agent, cycle } = await readAgentAndCycle(context, flags.agent);
      return ok(renderAgentDetail(agent, cycle));
    }
    const agents = await listAgents(context);
    const cycles = new Map<string, ImprovementCycle>();
    for (const agent of agents) {
      const name = agent.status?.activeCycle;
      const cycle = name ? await readCycle(context, name) : undefined;
      if (name && cycle) cycles.set(name, cycle);
    }
    return ok(renderAgents(agents, cycles));
  } catch (error) {
    return userError(error instanceof Error ? error.message : describeApiError(error));
  }
}

/** `history <agent>`: the promoted revisions, newest first. */
export async function runHistory(flags: ClusterFlags & { agent: string }): Promise<CommandOutput> {
  try {
    return ok(renderHistory(await readAgent(clusterContext(flags), flags.agent)));
  } catch (error) {
    return userError((error as Error).message);
  }
}

/** `archive <agent>`: every candidate the agent remembers, newest first, fitted to `width` columns. */
export async function runArchive(
  flags: ClusterFlags & { agent: string },
  width = process.stdout.columns ?? DEFAULT_WIDTH,
): Promise<CommandOutput> {
  try {
    return ok(renderArchive(await readAgent(clusterContext(flags), flags.agent), width));
  } catch (error) {
    return userError((error as Error).message);
  }
}

/** Records `verb` on the agent's active cycle when the cycle is in the phase the verb needs. */
export async function runSteer(verb: Verb, flags: ClusterFlags & { agent: string }): Promise<CommandOutput> {
  const context = clusterContext(flags);
  let cycle: ImprovementCycle | undefined;
  try {
    ({ cycle } = await readAgentAndCycle(context, flags.agent));
  } catch (error) {
    return userError((error as Error).message);
  }
  const { phase, does } = VERBS[verb];
  if (!cycle) return userError(`${flags.agent} has no cycle running; nothing to ${verb}`);
  const current = cycle.status?.phase ?? 'Pending';
  if (current !== phase) {
    return userError(
      `cycle ${cycle.metadata.name} is ${current}, not ${phase}: ${verb} applies to ${phase === 'Canary' ? 'a running canary' : 'a cycle waiting for approval'}`,
    );
  }
  const annotations =
    verb === 'approve' || verb === 'reject'
      ? { [APPROVAL_ANNOTATION]: verb === 'approve' ? 'Approved' : 'Rejected' }
      : { [CANARY_REQUEST_ANNOTATIONS[verb]]: new Date().toISOString() };
  try {
    await annotate(context, 'cycle', cycle.metadata.name!, annotations);
  } catch (error) {
    return userError(
      `cannot annotate ImprovementCycle ${context.namespace}/${cycle.metadata.name}: ${describeApiError(error)}`,
    );
  }
  return ok(`cycle ${cycle.metadata.name} of ${context.namespace}/${flags.agent} ${does}\n`);
}

/** `run`: asks for a cycle now, outside the schedule (after the running one, if any). */
export async function runCycleNow(
  flags: ClusterFlags & { agent: string },
  now = new Date(),
): Promise<CommandOutput> {
  const context = clusterContext(flags);
  let agent: HyperAgent;
  let cycle: ImprovementCycle | undefined;
  try {
    ({ agent, cycle } = await readAgentAndCycle(context, flags.agent));
  } catch (error) {
    return userError((error as Error).message);
  }
  if (agent.spec.suspend) {
    return userError(
      `${flags.agent} is suspended: no cycle starts until spec.suspend is false (kubectl patch ha ${flags.agent} --type merge -p '{"spec":{"suspend":false}}')`,
    );
  }
  try {
    await annotate(context, 'agent', flags.agent, { [RUN_ANNOTATION]: now.toISOString() });
  } catch (error) {
    return userError(
      `cannot annotate HyperAgent ${context.namespace}/${flags.agent}: ${describeApiError(error)}`,
    );
  }
  const when = cycle
    ? `after cycle ${cycle.metadata.name} (${cycle.status?.phase ?? 'Pending'}) ends`
    : 'now';
  return ok(
    `${context.namespace}/${flags.agent}: a cycle was requested; it starts ${when}. Watch with kubectl hyperagent status ${flags.agent}\n`,
  );
}

/**
 * `trust`: a person vouches for the agent's benchmark again, after the agent stopped approving
 * code changes itself because production kept showing much less than the sandbox predicted. Set
 * on the agent, as `run` is, with the time of the decision; the operator counts only later
 * deliveries towards a new loss of trust.
 */
export async function runTrust(
  flags: ClusterFlags & { agent: string },
  now = new Date(),
): Promise<CommandOutput> {
  const context = clusterContext(flags);
  let agent: HyperAgent;
  try {
    agent = await readAgent(context, flags.agent);
  } catch (error) {
    return userError((error as Error).message);
  }
  try {
    await annotate(context, 'agent', flags.agent, { [TRUST_ANNOTATION]: now.toISOString() });
  } catch (error) {
    return userError(
      `cannot annotate HyperAgent ${context.namespace}/${flags.agent}: ${describeApiError(error)}`,
    );
  }
  return ok(describeTrust(agent, now));
}

/** Asks the operator to put `revision` from the agent's history back on its Deployment. */
export async function runRollback(
  flags: ClusterFlags & { agent: string; to: string },
): Promise<CommandOutput> {
  const context = clusterContext(flags);
  let agent: HyperAgent;
  let cycle: ImprovementCycle | undefined;
  try {
    ({ agent, cycle } = await readAgentAndCycle(context, flags.agent));
  } catch (error) {
    return userError((error as Error).message);
  }
  const history = agent.status?.history ?? [];
  const entry = history.find((candidate) => candidate.revision === flags.to);
  if (!entry) {
    const known = history.map((candidate) => candidate.revision);
    return userError(
      `revision ${flags.to} is not in the history of ${flags.agent}${known.length > 0 ? `; known: ${known.join(', ')}` : ': nothing was promoted yet'}`,
    );
  }
  const phase = cycle?.status?.phase;
  if (cycle && phase && DELIVERING_CYCLE_PHASES.includes(phase)) {
    return userError(
      `cycle ${cycle.metadata.name} is delivering (${phase}): abort it first (kubectl hyperagent abort ${flags.agent}) or wait for it to end`,
    );
  }
  if (agent.status?.stableRevision === flags.to) {
    return ok(`${flags.agent} already runs revision ${flags.to}; nothing to do\n`);
  }
  try {
    await annotate(context, 'agent', flags.agent, { [ROLLBACK_ANNOTATION]: flags.to });
  } catch (error) {
    return userError(
      `cannot annotate HyperAgent ${context.namespace}/${flags.agent}: ${describeApiError(error)}`,
    );
  }
  return ok(
    `${context.namespace}/${flags.agent}: rollback to revision ${flags.to} (${entry.image ?? 'no image recorded'}) requested; watch with kubectl hyperagent status ${flags.agent}\n`,
  );
}

const clusterOptions = (command: Command): Command =>
  command
    .option('-n, --namespace <name>', "the agent's namespace (default: the context's, else default)")
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)');

/** `status`, `history` and the steering verbs for the kubectl plugin. */
export function steerCommands(): Command[] {
  const status = clusterOptions(
    new Command('status')
      .description(
        'Show agents, their cycle phase, canary weight and last analysis values (one agent: in detail).',
      )
      .argument('[agent]', 'name of the HyperAgent'),
  ).action(async (agent: string | undefined, flags: ClusterFlags) =>
    emit(await runStatus({ ...flags, ...(agent ? { agent } : {}) })),
  );
  const history = clusterOptions(
    new Command('history')
      .description("Show an agent's promoted revisions.")
      .argument('<agent>', 'name of the HyperAgent'),
  ).action(async (agent: string, flags: ClusterFlags) => emit(await runHistory({ ...flags, agent })));
  const archive = clusterOptions(
    new Command('archive')
      .description(
        'Show every candidate the agent remembers, newest first: verdict, score, predicted against observed gain.',
      )
      .argument('<agent>', 'name of the HyperAgent'),
  ).action(async (agent: string, flags: ClusterFlags) => emit(await runArchive({ ...flags, agent })));
  const run = clusterOptions(
    new Command('run')
      .description('Start a cycle now, outside the schedule (after the running cycle, if one runs).')
      .argument('<agent>', 'name of the HyperAgent'),
  ).action(async (agent: string, flags: ClusterFlags) => emit(await runCycleNow({ ...flags, agent })));
  const verbs = (Object.keys(VERBS) as Verb[]).map((verb) =>
    clusterOptions(
      new Command(verb)
        .description(
          `${verb[0]!.toUpperCase()}${verb.slice(1)} the agent's ${VERBS[verb].phase === 'Canary' ? 'running canary' : 'cycle waiting for approval'}.`,
        )
        .argument('<agent>', 'name of the HyperAgent'),
    ).action(async (agent: string, flags: ClusterFlags) => emit(await runSteer(verb, { ...flags, agent }))),
  );
  const rollback = clusterOptions(
    new Command('rollback')
      .description("Put an earlier revision from the agent's history back on its Deployment.")
      .argument('<agent>', 'name of the HyperAgent')
      .requiredOption('--to <revision>', 'the revision, as `kubectl hyperagent history` lists it'),
  ).action(async (agent: string, flags: ClusterFlags & { to: string }) =>
    emit(await runRollback({ ...flags, agent })),
  );
  const trust = clusterOptions(
    new Command('trust')
      .description(
        "Trust the agent's benchmark again after it stopped approving code changes itself (BenchmarkPredictive=False).",
      )
      .argument('<agent>', 'name of the HyperAgent'),
  ).action(async (agent: string, flags: ClusterFlags) => emit(await runTrust({ ...flags, agent })));
  return [status, history, archive, run, ...verbs, rollback, trust];
}
