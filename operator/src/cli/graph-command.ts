// `kubectl hyperagent graph <agent>`: the service graph of an agent in the cluster, built as the
// operator builds it — from the agent's source repository and branch, its declared parameters,
// and the Prometheus its analysis names — and printed like `hyperagent represent`.
//
// The repository is cloned with the agent's credentials Secret when the user may read it, or
// taken from a local checkout (`--repo-dir`). Prometheus is optional: an unreachable one leaves
// a note instead of hot spots, as it does in the operator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { HyperAgent } from '../api/resources.js';
import { decodeSecretData, openGitAccess } from '../git/credentials.js';
import { openWorkspace } from '../git/workspace.js';
import { buildServiceGraph } from '../represent/represent.js';
import { clusterContext, describeApiError, readAgent } from './cluster-context.js';
import { emit, graphOutput, userError, type CommandOutput } from './command-output.js';

export interface GraphOptions {
  agent: string;
  namespace?: string;
  kubeconfig?: string;
  /** A local checkout to represent instead of cloning the agent's repository. */
  repoDir?: string;
  /** Prometheus to ask for hot spots; the agent's analysis address when unset; 'none' skips it. */
  prometheus?: string;
  json: boolean;
}

/** Reads the agent, builds its graph and renders it; user errors come back as exit status 2. */
export async function runGraph(options: GraphOptions): Promise<CommandOutput> {
  const context = clusterContext(options);
  const { namespace } = context;
  let agent: HyperAgent;
  try {
    agent = await readAgent(context, options.agent);
  } catch (error) {
    return userError((error as Error).message);
  }

  const prometheus =
    options.prometheus === 'none'
      ? undefined
      : (options.prometheus ?? agent.spec.rollout.analysis.prometheus.address);
  const graphOptions = {
    parameters: agent.spec.improvement.parameters,
    ...(prometheus
      ? {
          prometheus: {
            url: prometheus,
            target: { namespace, deployment: agent.spec.target.deployment },
            timeoutMs: 3000,
          },
        }
      : {}),
  };

  let header = `HyperAgent:   ${namespace}/${options.agent}\n`;
  if (options.repoDir) {
    const graph = await buildServiceGraph(options.repoDir, graphOptions);
    header += `Source:       ${options.repoDir} (local checkout)\n`;
    return graphOutput(graph, options.json, header);
  }

  const { repo, branch, credentialsSecret } = agent.spec.source;
  let secret: Record<string, string> | undefined;
  if (credentialsSecret) {
    try {
      const read = await context.core.readNamespacedSecret({ name: credentialsSecret, namespace });
      secret = read.data;
    } catch (error) {
      return userError(
        `cannot read the credentials Secret ${namespace}/${credentialsSecret}: ${describeApiError(error)}; clone the repository yourself and pass --repo-dir`,
      );
    }
  }
  const scratch = await mkdtemp(join(tmpdir(), 'kubectl-hyperagent-graph-'));
  const access = await openGitAccess({
    repo,
    ...(secret ? { secret: decodeSecretData(secret), secretName: credentialsSecret } : {}),
  }).catch((error: Error) => error);
  if (access instanceof Error) {
    await rm(scratch, { recursive: true, force: true });
    return userError(`cannot use the repository ${repo}: ${access.message}`);
  }
  try {
    const workspace = await openWorkspace({
      agent: { namespace, name: options.agent },
      repo,
      branch,
      dir: join(scratch, 'source'),
      access,
    });
    const graph = await buildServiceGraph(workspace.dir, graphOptions);
    header += `Source:       ${repo} (branch ${branch})\n`;
    return graphOutput(graph, options.json, header);
  } catch (error) {
    return userError(`cannot clone ${repo} (branch ${branch}): ${describeApiError(error)}`);
  } finally {
    await access.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `graph <agent>` for the kubectl plugin. */
export function graphCommand(): Command {
  return new Command('graph')
    .description("Show an agent's service graph: modules, parameters, API schemas and hot spots.")
    .argument('<agent>', 'name of the HyperAgent')
    .option('-n, --namespace <name>', "the agent's namespace (default: the context's, else default)")
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)')
    .option('--repo-dir <dir>', "represent this checkout instead of cloning the agent's repository")
    .option(
      '--prometheus <url>',
      "Prometheus for hot spots (default: the agent's analysis address; 'none' skips)",
    )
    .option('--json', 'print the graph as JSON', false)
    .action(async (agent: string, flags: Omit<GraphOptions, 'agent'>) => {
      emit(await runGraph({ ...flags, agent }));
    });
}
