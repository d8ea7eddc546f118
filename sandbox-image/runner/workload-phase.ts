// The judge's measurement of the service, side by side: the unchanged tree first (before any
// candidate code has run in the pod), then the candidate's, started the same way by the executor,
// driven the same way by the judge. Dependency stand-ins run in a container of their own, from
// the source image, so candidate code can neither see nor signal them. The figures and the
// answers are the judge's own; nothing the service prints is read as a figure.
import type { SandboxResult, Workload, WorkloadRequest } from '../../operator/src/sandbox/protocol.js';
import { compareAnswers, type Answer } from './behaviour.js';
import type { ExecutorConnection } from './executor-client.js';
import type { Log } from './log.js';
import { collectAnswers, figuresOf, runLoad, waitReady, type LoadFigures } from './workload-driver.js';

export type SideFigures = Record<keyof LoadFigures, number[]>;

export interface SideMeasurement {
  figures?: SideFigures;
  answers?: (Answer | string)[];
  /** Answers given under load, by request index (described), for the first compared requests. */
  underLoad?: Map<number, Set<string>>;
  /** Why this side could not be measured. */
  problem?: string;
}

/** Requests whose answers are compared: the first ones of the list, after the measured runs. */
export const MAX_COMPARED_REQUESTS = 200;

/** How much of a failing service's output the problem quotes. */
const QUOTED_OUTPUT = 200;

/** Starts the dependency stand-ins as one process group and waits until each answers. */
export async function startStandIns(
  standIns: ExecutorConnection,
  workload: Workload,
  env: Record<string, string>,
  log: Log,
): Promise<string | undefined> {
  if (workload.dependencies.length === 0) return undefined;
  // One shell runs them all, each with its own environment; the executor holds one service.
  const script = [
    ...workload.dependencies.map(
      (dependency) =>
        `env ${Object.entries(dependency.env)
          .map(([key, value]) => shellQuote(`${key}=${value}`))
          .join(' ')} sh -c ${shellQuote(dependency.run)} &`,
    ),
    'wait',
  ].join('\n');
  const started = await standIns.request({ op: 'start', name: 'stand-ins', argv: ['sh', '-c', script], env });
  if (!started.ok || started.spawnError) {
    return `the dependency stand-ins could not start: ${started.error ?? started.spawnError}`;
  }
  for (const dependency of workload.dependencies) {
    const ready = await waitReady(dependency.port, dependency.readinessPath, workload.readySeconds * 1000);
    if (!ready) {
      const stopped = await standIns.request({ op: 'stop' });
      return `the stand-in ${dependency.name} did not answer ${dependency.readinessPath} on port ${dependency.port} within ${workload.readySeconds}s${quoted(stopped.stderr)}`;
    }
    log.line(`stand-in ${dependency.name} ready on port ${dependency.port}`);
  }
  return undefined;
}

/** Starts the service from the tree as it is now, measures it, and stops everything it started. */
export async function measureSide(
  executor: ExecutorConnection,
  workload: Workload,
  requests: readonly WorkloadRequest[],
  side: 'baseline' | 'candidate',
  env: Record<string, string>,
  log: Log,
): Promise<SideMeasurement> {
  const { service } = workload;
  const started = await executor.request({
    op: 'start',
    name: `${side} service`,
    argv: ['sh', '-c', service.run],
    env: { ...env, ...service.env },
  });
  if (!started.ok || started.spawnError) {
    return { problem: `the ${side} service could not start: ${started.error ?? started.spawnError}` };
  }
  const measurement: SideMeasurement = {};
  try {
    const ready = await waitReady(service.port, service.readinessPath, workload.readySeconds * 1000);
    if (!ready) {
      measurement.problem = `the ${side} service did not answer ${service.readinessPath} on port ${service.port} within ${workload.readySeconds}s`;
      return measurement;
    }
    log.line(`${side} service ready on port ${service.port}`);
    const underLoad = new Map<number, Set<string>>();
    const record = workload.compareBehaviour
      ? { limit: MAX_COMPARED_REQUESTS, ignoreFields: workload.ignoreFields, answers: underLoad }
      : undefined;
    const load = {
      port: service.port,
      requests,
      rps: workload.rps,
      timeoutMs: workload.requestTimeoutMs,
      ...(record ? { record } : {}),
    };
    if (workload.warmupSeconds > 0) await runLoad({ ...load, durationMs: workload.warmupSeconds * 1000 });
    const runs: LoadFigures[] = [];
    for (let run = 1; run <= workload.runs; run++) {
      const figures = figuresOf(await runLoad({ ...load, durationMs: workload.durationSeconds * 1000 }));
      log.line(`${side} run ${run}/${workload.runs}: ${JSON.stringify(figures)}`);
      runs.push(figures);
    }
    measurement.figures = collect(runs);
    if (record) measurement.underLoad = underLoad;
    // Answers last: collecting them first would fill caches the measured runs should fill.
    if (workload.compareBehaviour) {
      measurement.answers = await collectAnswers(
        service.port,
        requests.slice(0, MAX_COMPARED_REQUESTS),
        workload.ignoreFields,
        workload.requestTimeoutMs,
      );
    }
    return measurement;
  } finally {
    const stopped = await executor.request({ op: 'stop' });
    if (stopped.ended && measurement.problem === undefined) {
      const how = stopped.signal ? `was killed by ${stopped.signal}` : `exited with ${stopped.exitCode}`;
      measurement.problem = `the ${side} service ${how} while it was measured${quoted(stopped.stderr)}`;
      delete measurement.figures;
    } else if (measurement.problem !== undefined) {
      measurement.problem += quoted(stopped.stderr);
    }
  }
}

/** The result's workload part from both sides. */
export function workloadResult(
  workload: Workload,
  requests: readonly WorkloadRequest[],
  baseline: SideMeasurement | undefined,
  candidate: SideMeasurement | undefined,
): NonNullable<SandboxResult['workload']> {
  const result: NonNullable<SandboxResult['workload']> = { requests: requests.length };
  if (baseline?.figures) result.baseline = baseline.figures;
  if (candidate?.figures) result.candidate = candidate.figures;
  const problems = [baseline?.problem, candidate?.problem].filter((problem) => problem !== undefined);
  if (problems.length > 0) result.problem = problems.join('; ').slice(0, 600);
  if (workload.compareBehaviour && baseline?.answers && candidate?.answers) {
    result.behaviour = compareAnswers(
      requests.slice(0, MAX_COMPARED_REQUESTS).map(requestLine),
      baseline.answers,
      candidate.answers,
      candidate.underLoad,
      baseline.underLoad,
    );
  }
  return result;
}

/** `GET /quote?symbol=ACME`, cut for the result. */
export function requestLine(request: WorkloadRequest): string {
  const line = `${request.method} ${request.path}${request.body ? ` ${request.body}` : ''}`;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function collect(runs: readonly LoadFigures[]): SideFigures {
  const keys = Object.keys(runs[0] ?? {}) as (keyof LoadFigures)[];
  return Object.fromEntries(keys.map((key) => [key, runs.map((run) => run[key])])) as SideFigures;
}

function quoted(base64: string | undefined): string {
  const text = base64 ? Buffer.from(base64, 'base64').toString('utf8').trim() : '';
  return text ? `: …${text.slice(-QUOTED_OUTPUT)}` : '';
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
