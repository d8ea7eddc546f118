// `hyperagent represent`: the service graph the operator would build, offline, so a user sees what
// proposers are told (modules, parameters, API operations, hot spots) before any cycle runs.
// Exit status: 0 printed, 2 the input itself is wrong (missing directory, invalid agent, bad flag).
import { Command } from 'commander';
import type { PrometheusOptions } from '../represent/hot-spots.js';
import { NotADirectoryError, buildServiceGraph } from '../represent/represent.js';
import { emit, graphOutput, userError, type CommandOutput } from './command-output.js';
import { UserInputError, loadAgentManifest } from './load-agent.js';

export interface RepresentCliOptions {
  dir: string;
  /** HyperAgent manifest whose parameters and target apply. */
  agent?: string;
  prometheus?: string;
  selector?: string;
  histogram?: string;
  window?: string;
  /** Most hot spots, as typed on the command line. */
  top?: string;
  json?: boolean;
}

/** Builds and renders the graph; bad input is reported on stderr with exit code 2, never thrown. */
export async function runRepresent(options: RepresentCliOptions): Promise<CommandOutput> {
  try {
    const agent = options.agent === undefined ? undefined : await loadAgentManifest(options.agent);
    const prometheus = prometheusOptions(options, agent?.namespace, agent?.spec.target.deployment);
    const graph = await buildServiceGraph(options.dir, {
      parameters: agent?.spec.improvement.parameters ?? [],
      ...(prometheus ? { prometheus } : {}),
    });
    return graphOutput(graph, options.json ?? false);
  } catch (error) {
    if (error instanceof UserInputError || error instanceof NotADirectoryError) {
      return userError(error.message);
    }
    throw error;
  }
}

function prometheusOptions(
  options: RepresentCliOptions,
  namespace: string | undefined,
  deployment: string | undefined,
): PrometheusOptions | undefined {
  if (options.prometheus === undefined) {
    if (options.selector !== undefined) throw new UserInputError('--selector needs --prometheus');
    return undefined;
  }
  let top: number | undefined;
  if (options.top !== undefined) {
    top = Number(options.top);
    if (!Number.isInteger(top) || top < 1) {
      throw new UserInputError(`--top must be a positive integer, not ${JSON.stringify(options.top)}`);
    }
  }
  return {
    url: options.prometheus,
    ...(options.selector !== undefined ? { selector: options.selector } : {}),
    ...(deployment !== undefined ? { target: { deployment, ...(namespace ? { namespace } : {}) } } : {}),
    ...(options.histogram !== undefined ? { histogram: options.histogram } : {}),
    ...(options.window !== undefined ? { window: options.window } : {}),
    ...(top !== undefined ? { top } : {}),
  };
}

/** `hyperagent represent <dir> [--agent FILE] [--prometheus URL] [--selector MATCHERS] [--json]` */
export function representCommand(): Command {
  return new Command('represent')
    .description(
      'Show the service graph the operator builds from a checkout: modules, imports, exports, parameters, API operations and, with --prometheus, hot spots.',
    )
    .argument('<dir>', 'the service source (a git checkout, or any directory)')
    .option('--agent <file>', 'HyperAgent manifest: its parameters, and its target for the default selector')
    .option('--prometheus <url>', 'Prometheus address to measure hot spots, e.g. http://localhost:9090')
    .option(
      '--selector <matchers>',
      'PromQL label matchers for the histogram (default from --agent: namespace="NS",pod=~"DEPLOYMENT-.*")',
    )
    .option(
      '--histogram <name>',
      'request duration histogram, in seconds, by route and method',
      'http_request_duration_seconds',
    )
    .option('--window <duration>', 'rate() window for p99 and request rate', '5m')
    .option('--top <n>', 'most hot spots to show', '10')
    .option('--json', 'print the graph as JSON', false)
    .action(async (dir: string, flags: Omit<RepresentCliOptions, 'dir'>) => {
      emit(await runRepresent({ ...flags, dir }));
    });
}
