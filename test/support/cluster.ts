// Test helpers that talk to the real API server as a user would: through $KUBECONFIG, exported by
// test/cluster/with-control-plane.sh (integration tests) or .cluster/env (e2e tests).
import { CoreV1Api, CustomObjectsApi, KubeConfig, CoordinationV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { minimalAgentSpec } from './agents.js';
import {
  API_VERSION,
  CYCLES,
  HYPERAGENTS,
  type HyperAgent,
  type ImprovementCycle,
} from '../../operator/src/api/resources.js';

export const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
export const custom = kubeConfig.makeApiClient(CustomObjectsApi);
export const core = kubeConfig.makeApiClient(CoreV1Api);
export const coordination = kubeConfig.makeApiClient(CoordinationV1Api);

const run = promisify(execFile);

/** Runs kubectl against the test cluster; rejects with stderr on a non-zero exit. */
export async function kubectl(...args: string[]): Promise<string> {
  return kubectlWithInput(undefined, ...args);
}

/** kubectl with `input` on its standard input, as in `kubectl apply -f -`. */
export async function kubectlWithInput(input: string | undefined, ...args: string[]): Promise<string> {
  const pending = run('kubectl', args, { env: process.env, maxBuffer: 16 * 1024 * 1024 });
  pending.child.stdin?.end(input);
  const { stdout } = await pending;
  return stdout;
}

/** Creates a namespace with a random suffix, so test files never see each other's objects. */
export async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** A minimal valid HyperAgent manifest; `spec` overrides merge over it. */
export function agentManifest(
  name: string,
  namespace: string,
  spec: Record<string, unknown> = {},
): HyperAgent {
  return {
    apiVersion: API_VERSION,
    kind: 'HyperAgent',
    metadata: { name, namespace },
    spec: minimalAgentSpec(spec) as HyperAgent['spec'],
  };
}

export async function createAgent(agent: HyperAgent): Promise<HyperAgent> {
  return (await custom.createNamespacedCustomObject({
    ...resource(HYPERAGENTS),
    namespace: agent.metadata.namespace,
    body: agent,
  })) as HyperAgent;
}

export async function getAgent(namespace: string, name: string): Promise<HyperAgent> {
  return (await custom.getNamespacedCustomObject({
    ...resource(HYPERAGENTS),
    namespace,
    name,
  })) as HyperAgent;
}

export async function listCycles(namespace: string): Promise<ImprovementCycle[]> {
  const list = (await custom.listNamespacedCustomObject({ ...resource(CYCLES), namespace })) as {
    items: ImprovementCycle[];
  };
  return list.items;
}

/** Merge-patches an agent's spec (a user's `kubectl patch --type merge`). */
export async function patchAgentSpec(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kubectl(
    'patch',
    'hyperagent',
    name,
    '-n',
    namespace,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec }),
  );
}

function resource(info: { group: string; version: string; plural: string }) {
  return { group: info.group, version: info.version, plural: info.plural };
}

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
