// The two custom resources as TypeScript objects, with the names the API server knows them by.
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type {
  HyperAgentSpec,
  HyperAgentStatus,
  ImprovementCycleSpec,
  ImprovementCycleStatus,
} from './schema.js';
import { API_VERSION, GROUP, VERSION } from './schema.js';

export interface HyperAgent extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: HyperAgentSpec;
  status?: HyperAgentStatus;
}

export interface ImprovementCycle extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: ImprovementCycleSpec;
  status?: ImprovementCycleStatus;
}

export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const HYPERAGENTS: ResourceInfo = {
  group: GROUP,
  version: VERSION,
  plural: 'hyperagents',
  kind: 'HyperAgent',
};
export const CYCLES: ResourceInfo = {
  group: GROUP,
  version: VERSION,
  plural: 'improvementcycles',
  kind: 'ImprovementCycle',
};

/** Label that ties a cycle (and later its sandbox pods) to its agent. */
export const AGENT_LABEL = 'hyperagents.io/agent';
/** Annotation a human sets (or `kubectl hyperagent approve` sets) to decide on a waiting cycle. */
export const APPROVAL_ANNOTATION = 'hyperagents.io/approval';

export { API_VERSION };

/** "namespace/name", the key of the work queues and caches. */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Splits a queue key back into namespace and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
