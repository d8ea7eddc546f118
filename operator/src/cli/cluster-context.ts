// What every plugin verb starts from: the kubeconfig (--kubeconfig, else $KUBECONFIG or
// ~/.kube/config), the namespace (-n, else the context's, else default), and API clients.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { CYCLES, HYPERAGENTS, type HyperAgent, type ImprovementCycle } from '../api/resources.js';
import { describeError, statusCodeOf } from '../kube/clients.js';

export interface ClusterFlags {
  namespace?: string;
  kubeconfig?: string;
}

export interface ClusterContext {
  config: KubeConfig;
  namespace: string;
  custom: CustomObjectsApi;
  core: CoreV1Api;
}

/** Loads the kubeconfig and picks the namespace the way kubectl does. */
export function clusterContext(flags: ClusterFlags): ClusterContext {
  const config = new KubeConfig();
  if (flags.kubeconfig) config.loadFromFile(flags.kubeconfig);
  else config.loadFromDefault();
  const namespace =
    flags.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
  return {
    config,
    namespace,
    custom: config.makeApiClient(CustomObjectsApi),
    core: config.makeApiClient(CoreV1Api),
  };
}

const agentsApi = { group: HYPERAGENTS.group, version: HYPERAGENTS.version, plural: HYPERAGENTS.plural };
const cyclesApi = { group: CYCLES.group, version: CYCLES.version, plural: CYCLES.plural };

/** One agent; throws an Error whose message names the agent and the API server's answer. */
export async function readAgent(context: ClusterContext, name: string): Promise<HyperAgent> {
  try {
    return (await context.custom.getNamespacedCustomObject({
      ...agentsApi,
      namespace: context.namespace,
      name,
    })) as HyperAgent;
  } catch (error) {
    throw new Error(`cannot read HyperAgent ${context.namespace}/${name}: ${describeApiError(error)}`);
  }
}

/** Every agent of the namespace. */
export async function listAgents(context: ClusterContext): Promise<HyperAgent[]> {
  const list = (await context.custom.listNamespacedCustomObject({
    ...agentsApi,
    namespace: context.namespace,
  })) as { items: HyperAgent[] };
  return list.items;
}

/** One cycle, or undefined when it does not exist. */
export async function readCycle(
  context: ClusterContext,
  name: string,
): Promise<ImprovementCycle | undefined> {
  try {
    return (await context.custom.getNamespacedCustomObject({
      ...cyclesApi,
      namespace: context.namespace,
      name,
    })) as ImprovementCycle;
  } catch (error) {
    if (statusCodeOf(error) === 404) return undefined;
    throw new Error(`cannot read ImprovementCycle ${context.namespace}/${name}: ${describeApiError(error)}`);
  }
}

/** An agent and its active cycle (undefined when none runs or it is gone); errors as readAgent's. */
export async function readAgentAndCycle(
  context: ClusterContext,
  name: string,
): Promise<{ agent: HyperAgent; cycle: ImprovementCycle | undefined }> {
  const agent = await readAgent(context, name);
  const cycleName = agent.status?.activeCycle;
  return { agent, cycle: cycleName ? await readCycle(context, cycleName) : undefined };
}

/** Sets annotations on an object with a merge patch (values of null remove them). */
export async function annotate(
  context: ClusterContext,
  resource: 'agent' | 'cycle',
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  await context.custom.patchNamespacedCustomObject(
    {
      ...(resource === 'agent' ? agentsApi : cyclesApi),
      namespace: context.namespace,
      name,
      body: { metadata: { annotations } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The API server's status code and message, or the error's first line. */
export function describeApiError(error: unknown): string {
  const message = describeError(error).split('\n')[0] ?? '';
  const code = statusCodeOf(error);
  return code === undefined ? message : `${code} ${message}`;
}
