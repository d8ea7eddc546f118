// Helpers for e2e tests that run real pods on the harness cluster (test/cluster/cluster.sh).
// They go through kubectl where a user would, and wait on the API for the states that matter.
import { AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  DEFAULT_OPERATOR_ACCOUNT,
  SECRET_USE_LABELS,
  secretGrant,
  type SecretUse,
} from '../../operator/src/policy/secret-use.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HyperAgent } from '../../operator/src/api/resources.js';
import { agentManifest, core, eventually, kubeConfig, kubectl, kubectlWithInput } from './cluster.js';
import { startGitHttpServer } from './git-http-server.js';
import { createQuoteRemote, readTree } from './quote-fixture.js';
import { QUOTE_IMAGE } from './sandbox-pods.js';

export const apps = kubeConfig.makeApiClient(AppsV1Api);

/** The e2e fixture image (test/e2e/images/echo): an HTTP echo server with metrics, and a probe CLI. */
export const ECHO_IMAGE = process.env.HYPERAGENT_E2E_ECHO_IMAGE ?? 'localhost:5001/hyperagent-e2e-echo:0.2.0';

/** Settings every fixture pod shares: restricted-compliant, so they run in any namespace. */
export const restrictedContainer = {
  imagePullPolicy: 'IfNotPresent',
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

export interface EchoOptions {
  replicas?: number;
  version?: string;
  /** Adds the prometheus.io/* annotations the harness's Prometheus discovers pods by. */
  scrape?: boolean;
}

/** Applies a Deployment and a Service named `name` serving the echo fixture on port 80 -> 8080. */
export async function deployEcho(namespace: string, name: string, options: EchoOptions = {}): Promise<void> {
  const labels = { app: name };
  const annotations = options.scrape
    ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' }
    : {};
  const manifests = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'echo',
                image: ECHO_IMAGE,
                ...restrictedContainer,
                env: [{ name: 'VERSION', value: options.version ?? 'v1' }],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ];
  await applyJson(manifests);
  await kubectl('-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=180s');
}

/** Starts a long-running pod of the fixture image to run probes from with `kubectl exec`. */
export async function startProbePod(
  namespace: string,
  name: string,
  labels = { role: 'probe' },
): Promise<V1Pod> {
  await applyJson([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: {
        // the probe pod reaches the API server by the token-less route only: no credentials needed
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'probe', image: ECHO_IMAGE, ...restrictedContainer }],
      },
    },
  ]);
  await kubectl('-n', namespace, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=180s');
  return core.readNamespacedPod({ namespace, name });
}

export interface ProbeResult {
  ok: boolean;
  output: string;
}

/** Runs the fixture's probe CLI inside a pod: `http URL` or `tcp HOST PORT`. Never throws on failure. */
export async function probeFrom(
  namespace: string,
  pod: string,
  args: string[],
  timeoutMs = 3000,
): Promise<ProbeResult> {
  try {
    const output = await kubectl(
      '-n',
      namespace,
      'exec',
      pod,
      '--',
      'node',
      '/app/probe.mjs',
      ...args,
      '--timeout-ms',
      String(timeoutMs),
    );
    return { ok: true, output };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
  }
}

/** Waits until `probe` reports the wanted reachability, so a policy change has time to take effect. */
export async function waitForReachability(
  what: string,
  probe: () => Promise<ProbeResult>,
  wanted: boolean,
  timeoutMs = 30_000,
): Promise<ProbeResult> {
  return eventually(
    `${what} to be ${wanted ? 'reachable' : 'blocked'}`,
    async () => {
      const result = await probe();
      return result.ok === wanted ? result : undefined;
    },
    timeoutMs,
  );
}

/** `kubectl apply` of in-memory manifests, the way a user applies files. */
export async function applyJson(manifests: object[]): Promise<string> {
  return kubectlWithInput(
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    'apply',
    '-f',
    '-',
  );
}

/** Deletes a namespace and waits until it is gone, so nothing a test made outlives it. */
export async function deleteNamespace(namespace: string): Promise<void> {
  await kubectl('delete', 'namespace', namespace, '--wait=true', '--timeout=120s', '--ignore-not-found');
}

/**
 * A Secret opted in to one use by the operator, as `kubectl hyperagent secret allow` does it: the
 * label naming the use, and the Role and RoleBinding that let the operator's account read it.
 */
export function optedInSecret(
  secret: { name: string; namespace: string; stringData: Record<string, string> },
  use: SecretUse,
  operator = DEFAULT_OPERATOR_ACCOUNT,
): object[] {
  const { name, namespace, stringData } = secret;
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels: { [SECRET_USE_LABELS[use]]: 'true' } },
      stringData,
    },
    ...secretGrant({ name, namespace }, operator),
  ];
}

/** The target Deployment `quote` of the e2e quote service (test/e2e/images/quote), with `env`. */
export function quoteDeployment(namespace: string, env: { name: string; value: string }[]): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'quote', namespace },
    spec: {
      selector: { matchLabels: { app: 'quote' } },
      template: {
        metadata: { labels: { app: 'quote' } },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: 'quote', image: QUOTE_IMAGE, ...restrictedContainer, env }],
        },
      },
    },
  };
}

/**
 * What an in-cluster operator needs to run a cycle of the e2e quote service: its git Secret (opted
 * in for git, for `operator`) and the target Deployment `quote`, cache off.
 */
export function quoteAgentObjects(
  namespace: string,
  git: { username: string; password: string },
  operator = DEFAULT_OPERATOR_ACCOUNT,
): object[] {
  return [
    ...optedInSecret({ name: 'git', namespace, stringData: git }, 'git', operator),
    quoteDeployment(namespace, [{ name: 'QUOTE_CACHE', value: 'off' }]),
  ];
}

/**
 * The e2e quote fixture (test/e2e/images/quote, without its Dockerfile) as a git remote,
 * `${url}/remote.git`, on the node's address where the in-cluster operator clones it (user
 * `builder`). close() stops the server and removes the scratch copy.
 */
export async function serveQuoteFixture(password: string): Promise<{ url: string; close(): Promise<void> }> {
  const scratch = mkdtempSync(join(tmpdir(), 'e2e-quote-remote-'));
  createQuoteRemote(scratch, await readTree('test/e2e/images/quote', (name) => name === 'Dockerfile'));
  const git = await startGitHttpServer({
    projectRoot: scratch,
    username: 'builder',
    password,
    host: process.env.HYPERAGENT_NODE_IP ?? '127.0.0.1',
  });
  return {
    url: git.url,
    close: async () => {
      await git.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * A HyperAgent the offline tuner drives over the e2e quote service of quoteAgentObjects, cloned
 * from `repoUrl` with the `git` Secret, judged by the fixture's benchmark; every cycle waits for
 * approval. Sandbox sizes fit the harness's node.
 */
export function quoteTunerAgent(
  name: string,
  namespace: string,
  repoUrl: string,
  options: {
    maxCandidates: number;
    parameters: Record<string, unknown>[];
    test: string;
    timeoutSeconds: number;
  },
): HyperAgent {
  return agentManifest(name, namespace, {
    target: { deployment: 'quote' },
    source: { repo: repoUrl, credentialsSecret: 'git', paths: ['src'] },
    objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' }],
    improvement: {
      interval: '24h',
      maxCandidates: options.maxCandidates,
      proposer: { type: 'tuner', seed: 1 },
      parameters: options.parameters,
    },
    verification: { test: options.test, benchmark: 'node bench/run.mjs' },
    sandbox: {
      timeoutSeconds: options.timeoutSeconds,
      resources: { cpu: '400m', memory: '352Mi' },
      quota: { pods: 3, cpu: '1200m', memory: '1056Mi' },
    },
    approval: 'Always',
  });
}
