// The judge's measurement of the service, side by side: the unchanged tree first (before any
// candidate code has run in the pod), then the candidate's, started the same way by the executor,
// driven the same way by the judge. Dependency stand-ins run in a container of their own, from
// the source image, so candidate code can neither see nor signal them. The figures and the
// answers are the judge's own; nothing the service prints is read as a figure.
import type { SandboxResult, Workload, WorkloadRequest } from '../../operator/src/api/sandbox-protocol.js';
import { compareAnswers, type Answer, type BehaviourComparison } from './behaviour.js';
import type { ExecutorConnection } from './executor-client.js';
import type { Log } from './log.js';
import { collectAnswers, figuresOf, runLoad, waitReady, type LoadFigures } from './workload-driver.js';

export type SideFigures = Record<keyof LoadFigures, number[]>;

export interface SideMeasurement {
  figures?: SideFigures;
  answers?: (Answer | string)[];
  /**
   * Answers of a fresh start of the service with its dependency stand-ins stopped: a service that
   * answers without calling its dependencies (a copy of the stand-in's logic, used only when it
   * is measured) answers here where the unchanged service cannot.
   */
  answersWithoutDependencies?: (Answer | string)[];
  /** Answers given under load, by request index (described), for the first compared requests. */
  underLoad?: Map<number, Set<string>>;
  /** Why this side could not be measured. */
  problem?: string;
}

/** Requests whose answers are compared: the first ones of the list, after the measured runs. */
export const MAX_COMPARED_REQUESTS = 200;

/** Requests asked again with the dependencies stopped, and how long each may take. */
export const WITHOUT_DEPENDENCIES_REQUESTS = 10;
const WITHOUT_DEPENDENCIES_TIMEOUT_MS = 2000;

/** What a request gets when the service never became ready (both sides alike, so comparable). */
export const NOT_READY = 'the service did not become ready';

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

/**
 * Starts the service from the tree as it is now, measures it, and stops everything it started.
 * With `stopDependencies` (the workload has stand-ins and answers are compared) it then stops the
 * stand-ins and asks a fresh start of the service the first requests again.
 */
export async function measureSide(
  executor: ExecutorConnection,
  workload: Workload,
  requests: readonly WorkloadRequest[],
  side: 'baseline' | 'candidate',
  env: Record<string, string>,
  log: Log,
  stopDependencies?: () => Promise<void>,
): Promise<SideMeasurement> {
  const measurement = await measureRunning(executor, workload, requests, side, env, log);
  if (measurement.problem === undefined && stopDependencies && workload.compareBehaviour) {
    await stopDependencies();
    measurement.answersWithoutDependencies = await answersWithoutDependencies(
      executor,
      workload,
      requests.slice(0, WITHOUT_DEPENDENCIES_REQUESTS),
      env,
      measurement.readyMs ?? 0,
    );
    log.line(`${side} service asked again with its dependencies stopped`);
  }
  return measurement;
}

/** Has the executor start the workload's service from the tree as it is now, in the background. */
function startService(
  executor: ExecutorConnection,
  workload: Workload,
  env: Record<string, string>,
  name: string,
): ReturnType<ExecutorConnection['request']> {
  const { service } = workload;
  return executor.request({
    op: 'start',
    name,
    argv: ['sh', '-c', service.run],
    env: { ...env, ...service.env },
  });
}

/** A fresh start of the service, asked each request once; NOT_READY for all when it never was. */
async function answersWithoutDependencies(
  executor: ExecutorConnection,
  workload: Workload,
  requests: readonly WorkloadRequest[],
  env: Record<string, string>,
  readyMs: number,
): Promise<(Answer | string)[]> {
  const { service } = workload;
  const started = await startService(executor, workload, env, 'service without dependencies');
  if (!started.ok || started.spawnError) return requests.map(() => NOT_READY);
  try {
    // A service whose readiness needs its dependencies never gets there: wait a few times as long
    // as it took with them, not the whole readySeconds.
    const waitMs = Math.min(workload.readySeconds * 1000, Math.max(2000, 3 * readyMs + 1000));
    if (!(await waitReady(service.port, service.readinessPath, waitMs))) return requests.map(() => NOT_READY);
    const timeoutMs = Math.min(workload.requestTimeoutMs, WITHOUT_DEPENDENCIES_TIMEOUT_MS);
    return await collectAnswers(service.port, requests, workload.ignoreFields, timeoutMs);
  } finally {
    await executor.request({ op: 'stop' });
  }
}

async function measureRunning(
  executor: ExecutorConnection,
  workload: Workload,
  requests: readonly WorkloadRequest[],
  side: 'baseline' | 'candidate',
  env: Record<string, string>,
  log: Log,
): Promise<SideMeasurement & { readyMs?: number }> {
  const { service } = workload;
  const started = await startService(executor, workload, env, `${side} service`);
  if (!started.ok || started.spawnError) {
    return { problem: `the ${side} service could not start: ${started.error ?? started.spawnError}` };
  }
  const measurement: SideMeasurement & { readyMs?: number } = {};
  const startedAt = Date.now();
  try {
    const ready = await waitReady(service.port, service.readinessPath, workload.readySeconds * 1000);
    if (!ready) {
      measurement.problem = `the ${side} service did not answer ${service.readinessPath} on port ${service.port} within ${workload.readySeconds}s`;
      return measurement;
    }
    measurement.readyMs = Date.now() - startedAt;
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
      const how = stopped.processLimit
        ? `ran more than ${stopped.processLimit} processes at once and was killed`
        : stopped.signal
          ? `was killed by ${stopped.signal}`
          : `exited with ${stopped.exitCode}`;
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
    const lines = requests.slice(0, MAX_COMPARED_REQUESTS).map(requestLine);
    result.behaviour = compareAnswers(
      lines,
      baseline.answers,
      candidate.answers,
      candidate.underLoad,
      baseline.underLoad,
    );
    if (baseline.answersWithoutDependencies && candidate.answersWithoutDependencies) {
      result.behaviour = mergeComparisons(
        result.behaviour,
        compareAnswers(lines, baseline.answersWithoutDependencies, candidate.answersWithoutDependencies),
        ' (its dependencies stopped)',
      );
    }
  }
  return result;
}

/** Two comparisons as one; the second's first difference is marked with `how` on both answers. */
function mergeComparisons(
  main: BehaviourComparison,
  more: BehaviourComparison,
  how: string,
): BehaviourComparison {
  const merged: BehaviourComparison = {
    compared: main.compared + more.compared,
    differing: main.differing + more.differing,
  };
  const first =
    main.first ??
    (more.first && {
      request: more.first.request,
      baseline: `${more.first.baseline}${how}`,
      candidate: `${more.first.candidate}${how}`,
    });
  if (first) merged.first = first;
  return merged;
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
