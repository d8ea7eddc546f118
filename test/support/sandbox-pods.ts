// Runs one sandbox pod the way the operator does (the same manifest builders, the same runner
// image) and waits for its result: for e2e tests and the overhead benchmark that need a single
// evaluation without a whole cycle around it.
import { Watch, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { sandboxInputConfigMap, sandboxPod, type SandboxSpec } from '../../operator/src/sandbox/manifests.js';
import { readSandboxPod, type SandboxPodState } from '../../operator/src/sandbox/pod-outcome.js';
import {
  PROTOCOL_VERSION,
  type IsolationProbe,
  type SandboxManifest,
} from '../../operator/src/api/sandbox-protocol.js';
import { core, eventually, kubeConfig } from './cluster.js';

export const SANDBOX_IMAGE =
  process.env.HYPERAGENT_SANDBOX_IMAGE ?? 'localhost:5001/hyperagent-sandbox:0.1.0';
export const QUOTE_IMAGE =
  process.env.HYPERAGENT_E2E_QUOTE_IMAGE ?? 'localhost:5001/hyperagent-e2e-quote:0.1.0';
const OUTSIDE = new URL(process.env.HYPERAGENT_OUTSIDE_URL ?? 'http://198.51.100.10/');

export const SMALL_SANDBOX: SandboxSpec = {
  sourcePath: '/app',
  // The judge requests 100m and takes 160Mi of these; the candidate's commands get the rest.
  resources: { cpu: '500m', memory: '384Mi' },
  quota: { pods: 4, cpu: '2', memory: '2Gi' },
  timeoutSeconds: 60,
};

/** The addresses the operator gives the runner: API server, cluster DNS, a DNS pod, the outside. */
export async function clusterProbes(): Promise<IsolationProbe[]> {
  const api = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
  const dns = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
  const dnsPod = (
    await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })
  ).items[0];
  return [
    { name: 'api-server', kind: 'tcp', host: api.spec!.clusterIP!, port: 443 },
    { name: 'cluster-dns', kind: 'dns', host: dns.spec!.clusterIP!, port: 53 },
    { name: 'pod', kind: 'tcp', host: dnsPod!.status!.podIP!, port: 53 },
    { name: 'outside', kind: 'tcp', host: OUTSIDE.hostname, port: Number(OUTSIDE.port || 80) },
  ];
}

export function testManifest(
  candidate: string,
  probes: IsolationProbe[],
  overrides: Partial<SandboxManifest> = {},
): SandboxManifest {
  return {
    version: PROTOCOL_VERSION,
    nonce: randomBytes(16).toString('hex'),
    executorConnectSeconds: 60,
    cycle: 'bench',
    candidate,
    env: {},
    config: {},
    commands: [{ name: 'test', run: 'node --test', timeoutSeconds: 30 }],
    benchmarkKeys: [],
    benchmarkRuns: 1,
    interfaceFiles: [],
    isolation: { probes, timeoutMs: 1000, settleSeconds: 0 },
    ...overrides,
  };
}

export interface SandboxRun {
  state: SandboxPodState;
  /** ms from the create call to the moment the finished pod was seen. */
  wallMs: number;
}

export interface SandboxRunOptions {
  /** Changed-files bundles delivered beside the manifest, by the name its `changes` gives. */
  changes?: Record<string, string>;
  /** The pod's sandbox settings; SMALL_SANDBOX unless given. */
  sandbox?: SandboxSpec;
  /** The image the candidate's commands run in; the source image unless given. */
  toolchainImage?: string;
  /** The image holding the source; QUOTE_IMAGE unless given. */
  sourceImage?: string;
  timeoutMs?: number;
  /** Called with the ended pod before it is deleted (to read its logs or container statuses). */
  inspect?: (pod: V1Pod) => Promise<void>;
}

/** Creates the inputs and the pod in `namespace`, watches it until the runner's result is in. */
export async function runSandboxPod(
  namespace: string,
  manifest: SandboxManifest,
  options: SandboxRunOptions = {},
): Promise<SandboxRun> {
  const { changes = {}, sandbox = SMALL_SANDBOX, timeoutMs = 120_000, sourceImage = QUOTE_IMAGE } = options;
  const cycle = {
    namespace,
    name: `run-${randomBytes(3).toString('hex')}`,
    uid: randomBytes(16).toString('hex'),
  };
  const manifestKey = `${manifest.candidate}.manifest.json`;
  const configMap: V1ConfigMap = await core.createNamespacedConfigMap({
    namespace,
    body: sandboxInputConfigMap({
      namespace,
      cycle,
      agent: 'bench',
      files: { [manifestKey]: JSON.stringify(manifest), ...changes },
    }),
  });
  const pod = sandboxPod({
    namespace,
    configMap,
    cycle,
    candidate: manifest.candidate,
    manifestKey,
    changeKeys: manifest.changes ? [manifest.changes] : [],
    sandbox,
    image: SANDBOX_IMAGE,
    sourceImage,
    toolchainImage: options.toolchainImage ?? sourceImage,
    standIns: (manifest.workload?.dependencies.length ?? 0) > 0,
  });
  const name = pod.metadata!.name!;
  // Watch first, then create: the pod's every change arrives as an event, none is missed.
  let started = 0;
  let ended: V1Pod | undefined;
  const state = await new Promise<SandboxPodState>((resolve, reject) => {
    let settled = false;
    let watching: AbortController | undefined;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watching?.abort();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`sandbox pod ${name}: no result within ${timeoutMs} ms`))),
      timeoutMs,
    );
    new Watch(kubeConfig)
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { fieldSelector: `metadata.name=${name}` },
        (_type, object: V1Pod) => {
          const current = readSandboxPod(object, manifest.nonce);
          if (current.state === 'finished' || current.state === 'failed') {
            ended = object;
            settle(() => resolve(current));
          }
        },
        (error: unknown) =>
          settle(() => reject(new Error(`sandbox pod ${name}: the watch ended: ${String(error)}`))),
      )
      .then(async (controller) => {
        watching = controller;
        started = performance.now();
        await core.createNamespacedPod({ namespace, body: pod });
      })
      .catch((error: unknown) => settle(() => reject(error as Error)));
  });
  const wallMs = performance.now() - started;
  if (options.inspect && ended) await options.inspect(ended).catch(() => undefined);
  // The pod goes with its ConfigMap; waiting for it to be gone frees its requests, so the next
  // pod is not held back by the scheduler (a 1-CPU pod does not fit beside another on 2 cores).
  await core.deleteNamespacedConfigMap({ name: configMap.metadata!.name!, namespace });
  await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  await eventually(`sandbox pod ${name} gone`, async () =>
    (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items.length === 0
      ? true
      : undefined,
  );
  return { state, wallMs };
}
