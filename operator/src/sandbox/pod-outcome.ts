// What a sandbox pod says about its evaluation: still waiting, running, finished with a result the
// operator can trust, or failed for a reason a person can act on. Only the judge's termination
// message counts as a result, and only when it matches the protocol and carries the nonce the
// operator gave that pod's judge; anything else is a failure named after its cause. The candidate
// container's own termination message is never read.
import { constants } from 'node:os';
import type { V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { Value } from '@sinclair/typebox/value';
import {
  CANDIDATE_CONTAINER,
  CANDIDATE_LABEL,
  EXECUTOR_CONTAINER,
  JUDGE_CONTAINER,
  SOURCE_CONTAINER,
  labelValue,
} from './manifests.js';
import { SandboxResult } from '../api/sandbox-protocol.js';

export type SandboxFailureReason =
  | 'DeadlineExceeded'
  | 'OOMKilled'
  | 'ImageUnavailable'
  | 'SourceCopyFailed'
  | 'NoResult'
  | 'RunnerFailed'
  | 'Evicted';

export type SandboxPodState =
  | { state: 'waiting'; message: string }
  | { state: 'running'; message: string }
  | { state: 'finished'; result: SandboxResult; startedAt?: string; finishedAt?: string }
  | { state: 'failed'; reason: SandboxFailureReason; message: string };

/** Waiting reasons that mean the image cannot be had; the kubelet would only retry until the deadline. */
const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** Container messages (a log tail, a kubelet explanation) are cut to keep the cycle status small. */
const MAX_DETAIL = 512;

type Timestamp = Date | string | undefined;

function failed(reason: SandboxFailureReason, message: string): SandboxPodState {
  return { state: 'failed', reason, message };
}

function detail(text: string | undefined): string {
  const trimmed = (text ?? '').trim();
  return trimmed.length > MAX_DETAIL ? `${trimmed.slice(0, MAX_DETAIL - 1)}…` : trimmed;
}

function withDetail(message: string, text: string | undefined): string {
  const more = detail(text);
  return more ? `${message}: ${more}` : message;
}

/** Clients deliver Dates, raw watch events deliver RFC 3339 strings; both become epoch ms. */
function epochMs(value: Timestamp): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function iso(value: Timestamp): string | undefined {
  const ms = epochMs(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function signalName(number: number): string | undefined {
  return Object.entries(constants.signals).find(([, value]) => value === number)?.[0];
}

/** The signal that ended a container: the runtime reports death by signal N as exit code 128 + N. */
function signalOf(exitCode: number, signal: number | undefined): string | undefined {
  const number = signal ?? (exitCode > 128 ? exitCode - 128 : undefined);
  return number === undefined ? undefined : signalName(number);
}

/** "exit code 137 (SIGKILL)" */
function describeExit(exitCode: number, signal: number | undefined): string {
  const name = signalOf(exitCode, signal);
  return name ? `exit code ${exitCode} (${name})` : `exit code ${exitCode}`;
}

function specOf(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

function outOfMemory(pod: V1Pod, name: string): SandboxPodState {
  const limit = specOf(pod, name)?.resources?.limits?.memory;
  const what =
    name === SOURCE_CONTAINER
      ? 'copying the source'
      : name === CANDIDATE_CONTAINER
        ? "the candidate's commands"
        : name === JUDGE_CONTAINER
          ? 'the judge'
          : 'copying the executor';
  return failed(
    'OOMKilled',
    `${what} ran out of memory: the ${name} container exceeded the sandbox memory limit${limit ? ` of ${limit}` : ''}`,
  );
}

/** "<image>:<path>" of the source copy, read back from the init container the pod was built with. */
function sourceOf(pod: V1Pod): string {
  const container = specOf(pod, SOURCE_CONTAINER);
  const image = container?.image ?? 'the source image';
  const from = container?.command?.[0] === 'cp' ? container.command.at(-2) : undefined;
  return from ? `${image}:${from.replace(/\/\.$/, '') || '/'}` : image;
}

type ParsedResult = { result: SandboxResult } | { problem: string };

function parseResult(pod: V1Pod, message: string | undefined, nonce: string | undefined): ParsedResult {
  if (!message?.trim()) return { problem: 'it wrote no result' };
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return { problem: 'its termination message is not JSON' };
  }
  if (!Value.Check(SandboxResult, value)) {
    const first = Value.Errors(SandboxResult, value).First();
    return {
      problem: `its result does not follow the protocol${first ? ` (${first.path || '/'}: ${first.message})` : ''}`,
    };
  }
  if (nonce === undefined || value.nonce !== nonce) {
    return {
      problem:
        nonce === undefined
          ? "the operator no longer knows this pod's nonce (its inputs are gone), so no result can be trusted"
          : "its result does not carry the nonce given to this pod's judge",
    };
  }
  const expected = pod.metadata?.labels?.[CANDIDATE_LABEL];
  if (expected !== undefined && labelValue(value.candidate) !== expected) {
    return { problem: `its result is for candidate ${value.candidate}, not ${expected}` };
  }
  return { result: value };
}

function pendingMessage(pod: V1Pod, source?: V1ContainerStatus, runner?: V1ContainerStatus): string {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return withDetail(`not scheduled yet (${scheduled.reason ?? 'no reason given'})`, scheduled.message);
  }
  if (source?.state?.running) return `copying the source from ${sourceOf(pod)}`;
  const pendingInit = pod.status?.initContainerStatuses?.find((c) => !c.state?.terminated);
  const waiting = source?.state?.terminated
    ? (pendingInit?.state?.waiting ?? runner?.state?.waiting)
    : source?.state?.waiting;
  if (waiting?.reason) return withDetail(`starting (${waiting.reason})`, waiting.message);
  return 'waiting for a node to start the pod';
}

/**
 * Decides what a sandbox pod's status means. Pod-level endings (deadline, eviction) come first,
 * then images that cannot be pulled, then the init containers, then the judge: its termination
 * message is the result when it parses, matches the protocol and carries `nonce` (the one in the
 * pod's manifest); a judge that ended without one is `NoResult` when it exited 0 and
 * `RunnerFailed` otherwise. A candidate container killed for memory turns the judge's result
 * (which then reports a lost executor) into `OOMKilled`.
 */
export function readSandboxPod(pod: V1Pod, nonce: string | undefined): SandboxPodState {
  const status = pod.status ?? {};
  if (status.reason === 'DeadlineExceeded') {
    const seconds = pod.spec?.activeDeadlineSeconds;
    return failed(
      'DeadlineExceeded',
      `the evaluation ran past its deadline${seconds === undefined ? '' : ` of ${seconds}s`} (activeDeadlineSeconds) and was stopped`,
    );
  }
  if (status.reason === 'Evicted')
    return failed('Evicted', withDetail('the pod was evicted', status.message));

  const source = status.initContainerStatuses?.find((c) => c.name === SOURCE_CONTAINER);
  const installer = status.initContainerStatuses?.find((c) => c.name === EXECUTOR_CONTAINER);
  const runner = status.containerStatuses?.find((c) => c.name === JUDGE_CONTAINER);
  const candidate = status.containerStatuses?.find((c) => c.name === CANDIDATE_CONTAINER);

  for (const container of [source, installer, runner, candidate]) {
    const waiting = container?.state?.waiting;
    if (container && waiting?.reason && IMAGE_REASONS.has(waiting.reason)) {
      const image = specOf(pod, container.name)?.image ?? container.image;
      return failed(
        'ImageUnavailable',
        withDetail(
          `the image ${image} of the ${container.name} container is unavailable (${waiting.reason})`,
          waiting.message,
        ),
      );
    }
  }

  const copied = source?.state?.terminated;
  if (copied?.reason === 'OOMKilled') return outOfMemory(pod, SOURCE_CONTAINER);
  if (copied && copied.exitCode !== 0) {
    return failed(
      'SourceCopyFailed',
      withDetail(
        `could not copy the source from ${sourceOf(pod)} (${describeExit(copied.exitCode, copied.signal)})`,
        copied.message,
      ),
    );
  }

  const installed = installer?.state?.terminated;
  if (installed?.reason === 'OOMKilled') return outOfMemory(pod, EXECUTOR_CONTAINER);
  if (installed && installed.exitCode !== 0) {
    return failed(
      'SourceCopyFailed',
      withDetail(
        `could not copy the executor into the pod (${describeExit(installed.exitCode, installed.signal)})`,
        installed.message,
      ),
    );
  }

  const ended = runner?.state?.terminated;
  if (ended) {
    if (ended.reason === 'OOMKilled') return outOfMemory(pod, JUDGE_CONTAINER);
    const candidateEnd = candidate?.state?.terminated ?? candidate?.lastState?.terminated;
    if (candidateEnd?.reason === 'OOMKilled') return outOfMemory(pod, CANDIDATE_CONTAINER);
    const parsed = parseResult(pod, ended.message, nonce);
    if ('result' in parsed) {
      const startedAt = iso(ended.startedAt);
      const finishedAt = iso(ended.finishedAt);
      return {
        state: 'finished',
        result: parsed.result,
        ...(startedAt && { startedAt }),
        ...(finishedAt && { finishedAt }),
      };
    }
    const reason = ended.reason ? `, reason ${ended.reason}` : '';
    if (ended.exitCode === 0)
      return failed('NoResult', `the runner ended (exit code 0${reason}) but ${parsed.problem}`);
    const signal = signalOf(ended.exitCode, ended.signal);
    // The kubelet names a memory kill OOMKilled (handled above), so a SIGKILL here came from elsewhere.
    const how = signal
      ? `was killed by ${signal}${signal === 'SIGKILL' ? ', not by the memory limit' : ''}`
      : 'failed';
    return failed(
      'RunnerFailed',
      `the runner ${how} (exit code ${ended.exitCode}${reason}), and ${parsed.problem}`,
    );
  }

  switch (status.phase) {
    case 'Failed':
    case 'Succeeded':
      return failed(
        'NoResult',
        withDetail(
          `the pod ended (${status.phase}${status.reason ? `, ${status.reason}` : ''}) before the runner reported a result`,
          status.message,
        ),
      );
    case 'Running':
      if (runner?.state?.running) {
        const since = iso(runner.state.running.startedAt);
        return { state: 'running', message: since ? `evaluating since ${since}` : 'evaluating' };
      }
      return { state: 'waiting', message: pendingMessage(pod, source, runner) };
    case 'Unknown':
      return { state: 'waiting', message: "the pod's state is unknown: its node may be unreachable" };
    default:
      return { state: 'waiting', message: pendingMessage(pod, source, runner) };
  }
}

/**
 * Time the sandbox added around the commands: from the pod's creation to the runner's end, minus
 * the commands' own time; undefined when a timestamp is missing. Kubernetes timestamps have one
 * second resolution, so the figure is good to about a second (and is never reported below 0).
 */
export function overheadMs(pod: V1Pod, result: SandboxResult): number | undefined {
  const created = epochMs(pod.metadata?.creationTimestamp);
  const runner = pod.status?.containerStatuses?.find((c) => c.name === JUDGE_CONTAINER);
  const finished = epochMs(runner?.state?.terminated?.finishedAt);
  if (created === undefined || finished === undefined) return undefined;
  return Math.max(0, finished - created - result.commandMs);
}
