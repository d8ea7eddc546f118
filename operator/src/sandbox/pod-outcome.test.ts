import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { sandboxInputConfigMap, sandboxNamespaceName, sandboxPod, type SandboxSpec } from './manifests.js';
import { overheadMs, readSandboxPod, type SandboxPodState } from './pod-outcome.js';
import { PROTOCOL_VERSION, type SandboxResult } from '../api/sandbox-protocol.js';

const sandbox: SandboxSpec = {
  sourcePath: '/app',
  resources: { cpu: '1', memory: '1Gi' },
  quota: { pods: 4, cpu: '4', memory: '8Gi' },
  timeoutSeconds: 900,
};
const namespace = sandboxNamespaceName('shop');
const cycle = { namespace: 'shop', name: 'checkout-29448000', uid: '3f2a9c1e-5b7d-4e0a-9c1f-2d3e4f5a6b7c' };
const RUNNER_IMAGE = 'ghcr.io/example/hyperagent-sandbox:0.1.0';
const SOURCE_IMAGE = 'registry.example/shop/checkout:1.4.2';

/** The pod as built, then as the API server and kubelet fill it in (timestamps as JSON strings). */
function pod(status: V1PodStatus, candidate = 'c1'): V1Pod {
  const configMap = sandboxInputConfigMap({ namespace, cycle, agent: 'checkout', files: { 'm.json': '{}' } });
  configMap.metadata!.uid = 'b1c2d3e4-0000-4000-8000-000000000001';
  const built = sandboxPod({
    namespace,
    configMap,
    cycle,
    candidate,
    manifestKey: 'm.json',
    changeKeys: [],
    sandbox,
    image: RUNNER_IMAGE,
    sourceImage: SOURCE_IMAGE,
    toolchainImage: SOURCE_IMAGE,
  });
  built.metadata!.creationTimestamp = '2026-03-01T10:00:00Z' as unknown as Date;
  return { ...built, status };
}

const at = (time: string) => time as unknown as Date;

/** The nonce the operator put in the pod's manifest. */
const NONCE = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const result: SandboxResult = {
  version: PROTOCOL_VERSION,
  nonce: NONCE,
  candidate: 'c1',
  outcome: 'evaluated',
  breached: [],
  commands: [
    { name: 'typecheck', exitCode: 0, timedOut: false, durationMs: 4100 },
    { name: 'test', exitCode: 0, timedOut: false, durationMs: 12800 },
    { name: 'benchmark', exitCode: 0, timedOut: false, durationMs: 30100 },
  ],
  tests: { format: 'tap', passed: 182, failed: 0, skipped: 2 },
  benchmark: { p99_ms: [41.2, 40.8, 41] },
  commandMs: 47000,
  isolationMs: 1800,
};

function source(state: V1ContainerStatus['state']): V1ContainerStatus {
  return { name: 'source', image: SOURCE_IMAGE, imageID: '', ready: false, restartCount: 0, state };
}

function runner(state: V1ContainerStatus['state']): V1ContainerStatus {
  return {
    name: 'judge',
    image: RUNNER_IMAGE,
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state,
  };
}

const copied = source({
  terminated: {
    exitCode: 0,
    reason: 'Completed',
    startedAt: at('2026-03-01T10:00:04Z'),
    finishedAt: at('2026-03-01T10:00:06Z'),
  },
});

function runnerEnded(exitCode: number, reason: string, message?: string): V1ContainerStatus {
  return runner({
    terminated: {
      exitCode,
      reason,
      ...(message !== undefined && { message }),
      startedAt: at('2026-03-01T10:00:07Z'),
      finishedAt: at('2026-03-01T10:00:58Z'),
    },
  });
}

const cases: Array<{
  name: string;
  status: V1PodStatus;
  candidate?: string;
  expect: SandboxPodState | RegExp;
}> = [
  {
    name: 'unschedulable: waits, saying why',
    status: {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available.',
        },
      ],
    },
    expect: {
      state: 'waiting',
      message:
        'not scheduled yet (Unschedulable): 0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available.',
    },
  },
  {
    name: 'scheduled, init container being created',
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      initContainerStatuses: [source({ waiting: { reason: 'PodInitializing' } })],
      containerStatuses: [runner({ waiting: { reason: 'PodInitializing' } })],
    },
    expect: { state: 'waiting', message: 'starting (PodInitializing)' },
  },
  {
    name: 'copying the source',
    status: {
      phase: 'Pending',
      initContainerStatuses: [source({ running: { startedAt: at('2026-03-01T10:00:04Z') } })],
      containerStatuses: [runner({ waiting: { reason: 'PodInitializing' } })],
    },
    expect: { state: 'waiting', message: `copying the source from ${SOURCE_IMAGE}:/app` },
  },
  {
    name: 'source copied, runner container being created',
    status: {
      phase: 'Pending',
      initContainerStatuses: [copied],
      containerStatuses: [runner({ waiting: { reason: 'ContainerCreating' } })],
    },
    expect: { state: 'waiting', message: 'starting (ContainerCreating)' },
  },
  {
    name: 'accepted by the API server, no status from a kubelet yet',
    status: { phase: 'Pending' },
    expect: { state: 'waiting', message: 'waiting for a node to start the pod' },
  },
  {
    name: 'the source image cannot be pulled',
    status: {
      phase: 'Pending',
      initContainerStatuses: [
        source({
          waiting: {
            reason: 'ErrImagePull',
            message: `rpc error: code = NotFound desc = failed to pull and unpack image "${SOURCE_IMAGE}": not found`,
          },
        }),
      ],
      containerStatuses: [runner({ waiting: { reason: 'PodInitializing' } })],
    },
    expect: {
      state: 'failed',
      reason: 'ImageUnavailable',
      message: `the image ${SOURCE_IMAGE} of the source container is unavailable (ErrImagePull): rpc error: code = NotFound desc = failed to pull and unpack image "${SOURCE_IMAGE}": not found`,
    },
  },
  {
    name: 'the runner image is in back-off',
    status: {
      phase: 'Pending',
      initContainerStatuses: [copied],
      containerStatuses: [
        runner({
          waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${RUNNER_IMAGE}"` },
        }),
      ],
    },
    expect: {
      state: 'failed',
      reason: 'ImageUnavailable',
      message: `the image ${RUNNER_IMAGE} of the judge container is unavailable (ImagePullBackOff): Back-off pulling image "${RUNNER_IMAGE}"`,
    },
  },
  {
    name: 'an invalid image name',
    status: {
      phase: 'Pending',
      initContainerStatuses: [
        source({ waiting: { reason: 'InvalidImageName', message: 'Failed to apply default image tag' } }),
      ],
    },
    expect: /^the image .* of the source container is unavailable \(InvalidImageName\)/,
  },
  {
    name: 'evaluating',
    status: {
      phase: 'Running',
      initContainerStatuses: [copied],
      containerStatuses: [runner({ running: { startedAt: at('2026-03-01T10:00:07Z') } })],
    },
    expect: { state: 'running', message: 'evaluating since 2026-03-01T10:00:07.000Z' },
  },
  {
    name: 'finished with a valid result',
    status: {
      phase: 'Succeeded',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(0, 'Completed', JSON.stringify(result))],
    },
    expect: {
      state: 'finished',
      result,
      startedAt: '2026-03-01T10:00:07.000Z',
      finishedAt: '2026-03-01T10:00:58.000Z',
    },
  },
  {
    name: 'a valid result of a runner that reported its own error still counts: the result says what went wrong',
    status: {
      phase: 'Failed',
      initContainerStatuses: [copied],
      containerStatuses: [
        runnerEnded(
          1,
          'Error',
          JSON.stringify({ ...result, outcome: 'patch-failed', commands: [], commandMs: 0 }),
        ),
      ],
    },
    expect: {
      state: 'finished',
      result: { ...result, outcome: 'patch-failed', commands: [], commandMs: 0 },
      startedAt: '2026-03-01T10:00:07.000Z',
      finishedAt: '2026-03-01T10:00:58.000Z',
    },
  },
  {
    name: 'past the deadline',
    status: {
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(137, 'Error')],
    },
    expect: {
      state: 'failed',
      reason: 'DeadlineExceeded',
      message: 'the evaluation ran past its deadline of 900s (activeDeadlineSeconds) and was stopped',
    },
  },
  {
    name: 'the runner ran out of memory',
    status: {
      phase: 'Failed',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(137, 'OOMKilled')],
    },
    expect: {
      state: 'failed',
      reason: 'OOMKilled',
      message: 'the judge ran out of memory: the judge container exceeded the sandbox memory limit of 160Mi',
    },
  },
  {
    name: 'the source copy ran out of memory',
    status: {
      phase: 'Failed',
      initContainerStatuses: [source({ terminated: { exitCode: 137, reason: 'OOMKilled' } })],
      containerStatuses: [runner({ waiting: { reason: 'PodInitializing' } })],
    },
    expect: {
      state: 'failed',
      reason: 'OOMKilled',
      message:
        'copying the source ran out of memory: the source container exceeded the sandbox memory limit of 864Mi',
    },
  },
  {
    name: 'the source path does not exist in the source image',
    status: {
      phase: 'Failed',
      initContainerStatuses: [
        source({
          terminated: {
            exitCode: 1,
            reason: 'Error',
            message: "cp: cannot stat '/app/.': No such file or directory\n",
          },
        }),
      ],
      containerStatuses: [runner({ waiting: { reason: 'PodInitializing' } })],
    },
    expect: {
      state: 'failed',
      reason: 'SourceCopyFailed',
      message: `could not copy the source from ${SOURCE_IMAGE}:/app (exit code 1): cp: cannot stat '/app/.': No such file or directory`,
    },
  },
  {
    name: 'evicted for filling the workspace',
    status: {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'Usage of EmptyDir volume "workspace" exceeds the limit "1Gi". ',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(137, 'ContainerStatusUnknown')],
    },
    expect: {
      state: 'failed',
      reason: 'Evicted',
      message: 'the pod was evicted: Usage of EmptyDir volume "workspace" exceeds the limit "1Gi".',
    },
  },
  {
    name: 'exit 0 without a termination message',
    status: {
      phase: 'Succeeded',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(0, 'Completed')],
    },
    expect: {
      state: 'failed',
      reason: 'NoResult',
      message: 'the runner ended (exit code 0, reason Completed) but it wrote no result',
    },
  },
  {
    name: 'exit 0 with a message that is not JSON',
    status: {
      phase: 'Succeeded',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(0, 'Completed', 'all good')],
    },
    expect: {
      state: 'failed',
      reason: 'NoResult',
      message: 'the runner ended (exit code 0, reason Completed) but its termination message is not JSON',
    },
  },
  {
    name: 'exit 0 with JSON that does not follow the protocol',
    status: {
      phase: 'Succeeded',
      initContainerStatuses: [copied],
      containerStatuses: [
        runnerEnded(0, 'Completed', JSON.stringify({ ...result, version: PROTOCOL_VERSION + 1 })),
      ],
    },
    expect:
      /^the runner ended \(exit code 0, reason Completed\) but its result does not follow the protocol \(\/version: /,
  },
  {
    name: "a result for another candidate is not this pod's",
    candidate: 'c2',
    status: {
      phase: 'Succeeded',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(0, 'Completed', JSON.stringify(result))],
    },
    expect: {
      state: 'failed',
      reason: 'NoResult',
      message: 'the runner ended (exit code 0, reason Completed) but its result is for candidate c1, not c2',
    },
  },
  {
    name: 'a runner killed by SIGKILL, not by the memory limit',
    status: {
      phase: 'Failed',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(137, 'Error')],
    },
    expect: {
      state: 'failed',
      reason: 'RunnerFailed',
      message:
        'the runner was killed by SIGKILL, not by the memory limit (exit code 137, reason Error), and it wrote no result',
    },
  },
  {
    name: 'a runner that crashed with garbage in its message',
    status: {
      phase: 'Failed',
      initContainerStatuses: [copied],
      containerStatuses: [runnerEnded(1, 'Error', '{"version":1,"cand')],
    },
    expect: {
      state: 'failed',
      reason: 'RunnerFailed',
      message: 'the runner failed (exit code 1, reason Error), and its termination message is not JSON',
    },
  },
  {
    name: 'a pod that failed before any container ran',
    status: {
      phase: 'Failed',
      reason: 'UnexpectedAdmissionError',
      message: 'Allocate failed due to out of pods',
    },
    expect: {
      state: 'failed',
      reason: 'NoResult',
      message:
        'the pod ended (Failed, UnexpectedAdmissionError) before the runner reported a result: Allocate failed due to out of pods',
    },
  },
  {
    name: 'a node that stopped reporting',
    status: { phase: 'Unknown' },
    expect: { state: 'waiting', message: "the pod's state is unknown: its node may be unreachable" },
  },
];

for (const c of cases) {
  test(`readSandboxPod: ${c.name}`, () => {
    const state = readSandboxPod(pod(c.status, c.candidate), NONCE);
    if (c.expect instanceof RegExp) {
      assert.ok('message' in state, JSON.stringify(state));
      assert.match(state.message, c.expect);
    } else {
      assert.deepEqual(state, c.expect);
    }
  });
}

test('readSandboxPod: timestamps as Date objects (as the typed client delivers them) read the same', () => {
  const status: V1PodStatus = {
    phase: 'Succeeded',
    containerStatuses: [
      runner({
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          message: JSON.stringify(result),
          startedAt: new Date('2026-03-01T10:00:07Z'),
          finishedAt: new Date('2026-03-01T10:00:58Z'),
        },
      }),
    ],
  };
  assert.deepEqual(readSandboxPod(pod(status), NONCE), {
    state: 'finished',
    result,
    startedAt: '2026-03-01T10:00:07.000Z',
    finishedAt: '2026-03-01T10:00:58.000Z',
  });
});

test('readSandboxPod: a deadline without the spec field still explains itself', () => {
  const p = pod({ phase: 'Failed', reason: 'DeadlineExceeded' });
  delete p.spec!.activeDeadlineSeconds;
  assert.deepEqual(readSandboxPod(p, NONCE), {
    state: 'failed',
    reason: 'DeadlineExceeded',
    message: 'the evaluation ran past its deadline (activeDeadlineSeconds) and was stopped',
  });
});

test('readSandboxPod: a long log tail is cut', () => {
  const state = readSandboxPod(
    pod({
      phase: 'Failed',
      initContainerStatuses: [source({ terminated: { exitCode: 1, message: 'x'.repeat(5000) } })],
    }),
    NONCE,
  );
  assert.equal(state.state, 'failed');
  assert.ok('message' in state && state.message.length < 700);
});

test('overheadMs: pod time from creation to the runner end, minus the commands', () => {
  const finished = pod({
    phase: 'Succeeded',
    initContainerStatuses: [copied],
    containerStatuses: [runnerEnded(0, 'Completed', JSON.stringify(result))],
  });
  // created 10:00:00, runner ended 10:00:58: 58 s, of which 47 s were commands.
  assert.equal(overheadMs(finished, result), 11000);
  finished.metadata!.creationTimestamp = new Date('2026-03-01T10:00:30Z');
  assert.equal(overheadMs(finished, result), 0, 'second resolution can make it look negative');
});

test('overheadMs: undefined without both timestamps', () => {
  const running = pod({ phase: 'Running', containerStatuses: [runner({ running: {} })] });
  assert.equal(overheadMs(running, result), undefined);
  const ended = pod({ phase: 'Succeeded', containerStatuses: [runnerEnded(0, 'Completed')] });
  delete ended.metadata!.creationTimestamp;
  assert.equal(overheadMs(ended, result), undefined);
});

test('readSandboxPod: a result without the nonce given to the pod is no result', () => {
  const forged = { ...result, nonce: 'ffffffffffffffffffffffffffffffff' };
  const status: V1PodStatus = {
    phase: 'Succeeded',
    initContainerStatuses: [copied],
    containerStatuses: [runnerEnded(0, 'Completed', JSON.stringify(forged))],
  };
  assert.deepEqual(readSandboxPod(pod(status), NONCE), {
    state: 'failed',
    reason: 'NoResult',
    message:
      "the runner ended (exit code 0, reason Completed) but its result does not carry the nonce given to this pod's judge",
  });
  const unknown = readSandboxPod(pod(status), undefined);
  assert.equal(unknown.state, 'failed');
  assert.match((unknown as { message: string }).message, /no longer knows this pod's nonce/);
});

test("readSandboxPod: the candidate container killed for memory is the evaluation's out-of-memory", () => {
  const lost = {
    ...result,
    outcome: 'error' as const,
    message: 'the executor closed the connection (the candidate container ended)',
  };
  const status: V1PodStatus = {
    phase: 'Failed',
    initContainerStatuses: [copied],
    containerStatuses: [
      runnerEnded(0, 'Completed', JSON.stringify(lost)),
      {
        name: 'candidate',
        image: SOURCE_IMAGE,
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
      },
    ],
  };
  const state = readSandboxPod(pod(status), NONCE);
  assert.equal(state.state, 'failed');
  assert.equal((state as { reason: string }).reason, 'OOMKilled');
  assert.match(
    (state as { message: string }).message,
    /the candidate's commands ran out of memory: the candidate container exceeded the sandbox memory limit of 864Mi/,
  );
});
