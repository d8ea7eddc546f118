// One evaluation, as the judge runs it: check the manifest, wait for the candidate container's
// executor, prove isolation, measure the unchanged service (when there is a workload), have the
// executor write the candidate's changed files, read the interface before and after, measure the
// candidate's service, run the commands through the executor, read the memory counters. Each step
// that fails decides the outcome and nothing after it runs; whatever happens, a result comes back,
// carrying the manifest's nonce.
//
// The candidate's service is measured before any of its commands run: its tests are candidate
// code too, and a test that rewrote the tree (a faster server.mjs than the one that ships) would
// otherwise be what the judge measures. The tree measured is the tree git made, as written.
//
// No candidate code runs in this process or its container. The executor runs nothing until the
// judge asks, and the judge asks only after isolation is proven.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  SANDBOX_PATHS,
  WorkloadRequest,
  type SandboxManifest,
  type SandboxResult,
} from '../../operator/src/api/sandbox-protocol.js';
import { readChanges, type ChangedFiles } from './changes.js';
import { commandEnv } from './commands.js';
import { acceptExecutor, ExecutorLostError, type ExecutorConnection } from './executor-client.js';
import { executorRunner } from './executor-runner.js';
import { compareSurfaces, interfaceScope, readSurface } from './interface-surface.js';
import { proveIsolation } from './isolation.js';
import type { Log } from './log.js';
import { readManifest } from './manifest.js';
import type { RunnerPaths } from './paths.js';
import { emptyResult, joinNotes } from './result.js';
import { readInside } from './safe-read.js';
import { runSuite } from './suite.js';
import { measureSide, startStandIns, workloadResult, type SideMeasurement } from './workload-phase.js';

/** Environment variable naming the JSON file with the manifest's `config` values. */
export const PARAMETERS_FILE_ENV = 'HYPERAGENT_PARAMETERS_FILE';

export interface EvaluationContext {
  paths: RunnerPaths;
  log: Log;
  /** The socket the executor connects to. */
  executorSocket: string;
  /** The socket the stand-ins container's executor connects to (when the workload has dependencies). */
  standInsSocket: string;
  /** The judge's own uid: the executor must run under another. */
  judgeUid: number;
}

/** Evaluates the candidate the manifest describes; never throws (runner faults are `error` results). */
export async function evaluate(context: EvaluationContext): Promise<SandboxResult> {
  const { paths, log } = context;
  const checked = await readManifest(paths.manifest);
  if (!checked.ok) {
    log.line(`invalid manifest: ${checked.message}`);
    return {
      ...emptyResult(checked.candidate, checked.nonce),
      outcome: 'invalid-manifest',
      message: joinNotes([checked.message]),
    };
  }
  const manifest = checked.manifest;
  log.line(`cycle ${manifest.cycle}, candidate ${manifest.candidate}`);
  const result = emptyResult(manifest.candidate, manifest.nonce);
  const notes: string[] = [];
  let executor: ExecutorConnection | undefined;
  let standIns: ExecutorConnection | undefined;
  try {
    // Listen before proving isolation: the executors connect as soon as their containers start,
    // and run nothing until asked.
    const waitMs = manifest.executorConnectSeconds * 1000;
    const accepted = acceptExecutor(context.executorSocket, waitMs);
    accepted.catch(() => undefined);
    const needStandIns = (manifest.workload?.dependencies.length ?? 0) > 0;
    const acceptedStandIns = needStandIns ? acceptExecutor(context.standInsSocket, waitMs) : undefined;
    acceptedStandIns?.catch(() => undefined);
    const isolated = await proveIsolated(manifest, result, notes, log, paths.resolvConf);
    executor = await accepted;
    log.line(`executor connected: pid ${executor.hello.pid}, uid ${executor.hello.uid}`);
    const untrusted = trustExecutor(executor, context.judgeUid);
    if (untrusted) throw new ExecutorLostError(untrusted);
    if (acceptedStandIns) {
      standIns = await acceptedStandIns;
      log.line(`stand-ins executor connected: pid ${standIns.hello.pid}, uid ${standIns.hello.uid}`);
      const shared =
        standIns.hello.uid === executor.hello.uid ? 'the stand-ins run as the candidate' : undefined;
      const problem = trustExecutor(standIns, context.judgeUid) ?? shared;
      if (problem) throw new ExecutorLostError(`stand-ins: ${problem}`);
    }
    if (isolated) await evaluateSteps(manifest, context, executor, standIns, result, notes);
  } catch (error) {
    result.outcome = 'error';
    const message = error instanceof Error ? error.message : String(error);
    notes.push(error instanceof ExecutorLostError ? message : `the judge failed: ${message}`);
    log.line(`judge failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    if (executor) await stopExecutor(executor, log);
    if (standIns) await stopExecutor(standIns, log);
  }
  const message = joinNotes(notes);
  if (message !== undefined) result.message = message;
  return result;
}

/** Why the phase boundaries could not be trusted with this executor, or undefined. */
function trustExecutor(executor: ExecutorConnection, judgeUid: number): string | undefined {
  if (executor.hello.pid !== 1) {
    return `the executor is process ${executor.hello.pid}, not the init process of the candidate container: it could not stop what the candidate leaves running`;
  }
  if (executor.hello.uid === judgeUid) {
    return `the candidate container runs as the judge's uid ${judgeUid}: the two must not share a user`;
  }
  return undefined;
}

/** Asks the executor to end its container (everything in it with it); a lost one is already gone. */
async function stopExecutor(executor: ExecutorConnection, log: Log): Promise<void> {
  try {
    await executor.request({ op: 'exit' });
  } catch (error) {
    if (!(error instanceof ExecutorLostError)) log.line(`stopping the executor: ${String(error)}`);
  } finally {
    executor.close();
  }
}

async function proveIsolated(
  manifest: SandboxManifest,
  result: SandboxResult,
  notes: string[],
  log: Log,
  resolvConf: string,
): Promise<boolean> {
  // A target the operator could not resolve cannot be probed: isolation from it is unproven.
  const unresolved = manifest.isolation.probes.filter((probe) => probe.unresolved !== undefined);
  if (unresolved.length > 0) {
    result.outcome = 'isolation-breached';
    result.breached = unresolved.map((probe) => probe.name);
    notes.push(
      `isolation cannot be proven for ${unresolved.map((probe) => `${probe.name} (${probe.unresolved})`).join(', ')}`,
    );
    return false;
  }
  // The pod's own nameservers too: the operator cannot know them.
  const settings = {
    ...manifest.isolation,
    probes: [...manifest.isolation.probes, ...(await nameserverProbes(resolvConf))],
  };
  const proof = await proveIsolation(settings, {
    onRound: (results, round) => {
      const seen = results.map((r) => `${r.name} ${r.breached ? 'REACHED' : 'blocked'} (${r.detail})`);
      log.line(`isolation round ${round}: ${seen.join(', ')}`);
    },
  });
  result.isolationMs = proof.durationMs;
  if (proof.breached.length === 0) return true;
  result.outcome = 'isolation-breached';
  result.breached = proof.breached;
  notes.push(`still reachable after ${manifest.isolation.settleSeconds}s: ${proof.breached.join(', ')}`);
  return false;
}

async function evaluateSteps(
  manifest: SandboxManifest,
  context: EvaluationContext,
  executor: ExecutorConnection,
  standIns: ExecutorConnection | undefined,
  result: SandboxResult,
  notes: string[],
): Promise<void> {
  const { paths, log } = context;
  await mkdir(paths.control, { recursive: true });

  // The judge's own measurement of the unchanged tree comes first, before any candidate code
  // has run in this pod: nothing the candidate does can reach it.
  const workload = manifest.workload;
  const measured = workload ? await prepareWorkload(workload, context, standIns) : undefined;
  let baselineSide: SideMeasurement | undefined;
  if (workload && measured && !measured.problem && workload.measureBaseline) {
    const env = serviceEnv(paths.candidateScratchInCandidate, workload.baselineEnv);
    baselineSide = await measureSide(
      executor,
      workload,
      measured.requests,
      'baseline',
      env,
      log,
      stopper(standIns),
    );
  }

  const changes = manifest.changes
    ? readChanges(
        manifest.changes,
        await readFile(join(paths.input, manifest.changes), 'utf8').catch(() => undefined),
      )
    : { ok: true as const, changes: NO_CHANGES, paths: [] };
  if (!changes.ok) {
    result.outcome = 'patch-failed';
    notes.push(changes.message);
    log.line(changes.message);
    return;
  }
  const scope = interfaceScope(manifest.interfaceFiles, changes.paths);
  const before = await readSurface(paths.source, scope);
  const written = await writeChanges(executor, changes.changes);
  if (written) {
    result.outcome = 'patch-failed';
    notes.push(written);
    log.line(written);
    return;
  }
  log.line(
    `wrote ${changes.changes.files.length} changed file(s) and removed ${changes.changes.deleted.length}${changes.changes.tree ? ` (tree ${changes.changes.tree.slice(0, 12)})` : ''}`,
  );

  const after = await readSurface(paths.source, scope);
  const problem = !before.ok
    ? `before the changes, ${before.problem}`
    : !after.ok
      ? after.problem
      : undefined;
  if (before.ok && after.ok) {
    result.interface = compareSurfaces(scope, before.lines, after.lines);
    const { files, removed, added, more } = result.interface;
    const what = scope.source === 'openapi' ? 'OpenAPI operations' : 'exported declarations';
    log.line(
      removed.length + added.length === 0
        ? `interface: ${what} of ${files} file(s) unchanged`
        : `interface: ${what} changed: removed [${removed.join(', ')}], added [${added.join(', ')}]${more ? `, ${more} more` : ''}`,
    );
  } else {
    notes.push(`no interface comparison: ${problem}`);
    log.line(`no interface comparison: ${problem}`);
  }

  let candidateSide: SideMeasurement | undefined;
  if (workload && measured) {
    // The unchanged side's measurement stopped the stand-ins at its end.
    const restarted =
      standIns && baselineSide?.answersWithoutDependencies
        ? await startStandIns(standIns, workload, STAND_IN_ENV, log)
        : undefined;
    candidateSide =
      measured.problem || restarted
        ? { problem: measured.problem ?? restarted }
        : await measureSide(
            executor,
            workload,
            measured.requests,
            'candidate',
            serviceEnv(paths.candidateScratchInCandidate, manifest.env),
            log,
            // Asked again without its dependencies only when there is an unchanged side to compare.
            workload.measureBaseline ? stopper(standIns) : undefined,
          );
    result.workload = workloadResult(workload, measured.requests, baselineSide, candidateSide);
  }

  // The parameters file lives in the control folder: the candidate reads it, only the judge writes.
  const parametersFile = await writeParameters(paths.control, 'parameters.json', manifest.config);
  const env = commandEnv(paths.candidateScratchInCandidate, manifest.env, {
    [PARAMETERS_FILE_ENV]: parametersFile,
  });

  const suite = await runSuite(manifest, {
    sourceDir: paths.source,
    benchmarkDir: { forCommand: paths.candidateScratchInCandidate, forJudge: paths.candidateScratch },
    env,
    run: executorRunner(executor, log),
    log,
  });
  result.commands = suite.commands;
  result.commandMs = suite.commands.reduce((sum, command) => sum + command.durationMs, 0);
  if (suite.tests) result.tests = suite.tests;
  if (suite.benchmark) result.benchmark = suite.benchmark;
  notes.push(...suite.notes);

  const memory = await executor.request({ op: 'memory' }).catch(() => undefined);
  if (memory?.peakBytes !== undefined && memory.peakBytes >= 0) result.peakMemoryBytes = memory.peakBytes;
  if (memory?.oomKills !== undefined && memory.oomKills >= 0) result.oomKills = memory.oomKills;
  result.outcome = 'evaluated';
}

/**
 * The measured service's environment: what production gives it (the parameters' variables, the
 * workload's own) and a home, without the runner's variables — nothing tells it that it is being
 * measured that production would not tell it too.
 */
function serviceEnv(scratch: string, values: Readonly<Record<string, string>>): Record<string, string> {
  const { CI: _ci, ...env } = commandEnv(scratch, values, {});
  return env;
}

/** The nameservers of the pod's resolv.conf, as DNS probes (the cluster DNS, or a node's resolver). */
async function nameserverProbes(path: string): Promise<SandboxManifest['isolation']['probes']> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return [...text.matchAll(/^nameserver\s+(\S+)\s*$/gm)]
    .map((match) => match[1]!)
    .slice(0, 3)
    .map((host, index) => ({ name: `resolv-nameserver-${index + 1}`, kind: 'dns' as const, host, port: 53 }));
}

/** Writes a parameters file the candidate may read (and not write); its path. */
async function writeParameters(
  control: string,
  name: string,
  values: Readonly<Record<string, string | number | boolean>>,
): Promise<string> {
  const path = join(control, name);
  await writeFile(path, JSON.stringify(values), { mode: 0o444 });
  return path;
}

/**
 * The requests (inline, then the request file read from the unchanged tree: the candidate's
 * changes are not applied yet) and the stand-ins started; `problem` when either fails.
 */
async function prepareWorkload(
  workload: NonNullable<SandboxManifest['workload']>,
  context: EvaluationContext,
  standIns: ExecutorConnection | undefined,
): Promise<{ requests: WorkloadRequest[]; problem?: string }> {
  const requests: WorkloadRequest[] = [...workload.requests];
  if (workload.requestsFile) {
    const text = await readInside(context.paths.source, workload.requestsFile);
    let parsed: unknown;
    try {
      parsed = text === undefined ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!Value.Check(RequestList, parsed)) {
      return {
        requests,
        problem: `the request file ${workload.requestsFile} is missing, larger than 4 MiB, or not a JSON array of at most 10000 requests (method, path, headers, body)`,
      };
    }
    requests.push(...parsed);
  }
  if (requests.length === 0) return { requests, problem: 'the workload has no requests' };
  if (standIns) {
    const problem = await startStandIns(standIns, workload, STAND_IN_ENV, context.log);
    if (problem) return { requests, problem };
  }
  return { requests };
}

/** The stand-ins' environment besides their own: a home in their scratch. */
const STAND_IN_ENV = { HOME: SANDBOX_PATHS.scratch, TMPDIR: SANDBOX_PATHS.scratch };

/** Stops the dependency stand-ins (and everything they started), when there are any. */
function stopper(standIns: ExecutorConnection | undefined): (() => Promise<void>) | undefined {
  return standIns
    ? async () => {
        await standIns.request({ op: 'stop' });
      }
    : undefined;
}

/** A request file may be longer than the inline list: a measured run should not repeat it. */
const RequestList = Type.Array(WorkloadRequest, { maxItems: 10_000 });

/** The baseline's and a config candidate's changes: none. */
const NO_CHANGES: ChangedFiles = { version: 1, files: [], deleted: [] };

/** Has the executor write the changed files (it owns the candidate's tree); the problem, if any. */
async function writeChanges(
  executor: ExecutorConnection,
  changes: ChangedFiles,
): Promise<string | undefined> {
  if (changes.files.length === 0 && changes.deleted.length === 0) return undefined;
  const answer = await executor.request({
    op: 'write',
    files: changes.files.map((file) => ({
      path: file.path,
      base64: file.base64,
      ...(file.mode === '100755' ? { executable: true } : {}),
    })),
    deleted: changes.deleted,
  });
  return answer.ok
    ? undefined
    : `the changed files could not be written: ${answer.error ?? 'no reason given'}`;
}
