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
/** What the API server accepts in one ConfigMap or Secret: its values together, in bytes. */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** On everything the operator creates (sandbox objects, canaries, cycle inputs): who manages it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'hyperagent-operator';

export const AGENT_LABEL = 'hyperagents.io/agent';

/**
 * `namespace/agent` of a cycle, from its agent label: the index the HyperAgent reconciler reads its
 * cycles through (a scan of every cycle in the namespace per visit grows as agents squared).
 */
export function cycleAgentIndex(cycle: {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}): string | undefined {
  const agent = cycle.metadata?.labels?.[AGENT_LABEL];
  return agent === undefined ? undefined : `${cycle.metadata?.namespace ?? ''}/${agent}`;
}
/** Annotation a human sets (or `kubectl hyperagent approve` sets) to decide on a waiting cycle. */
export const APPROVAL_ANNOTATION = 'hyperagents.io/approval';
/**
 * Annotations on a cycle in its Canary phase that ask to pause, resume or abort the canary
 * (`kubectl hyperagent pause|resume|abort`). The value is a token (an RFC 3339 time): a request is
 * acted on once, and setting the annotation again with a new token asks again.
 */
export const CANARY_REQUEST_ANNOTATIONS = {
  pause: 'hyperagents.io/pause',
  resume: 'hyperagents.io/resume',
  abort: 'hyperagents.io/abort',
} as const;
/**
 * Annotation on a HyperAgent asking to put an earlier revision from `status.history` back on the
 * target (`kubectl hyperagent rollback --to <revision>`); the operator removes it once done.
 */
export const ROLLBACK_ANNOTATION = 'hyperagents.io/rollback-to';
/**
 * Annotation on a promoted ImprovementCycle asking to take its revision back out of production
 * (the self-healing of an incident soon after a promotion sets it; its value is the reason). The
 * cycle's watch carries the revert out as it carries out its own: the ReplicaSet that ran before
 * goes back, and a revert commit goes on the cycle branch.
 */
export const REVERT_ANNOTATION = 'hyperagents.io/revert';
/**
 * Annotation on a HyperAgent asking for a cycle now, outside its schedule (`kubectl hyperagent
 * run`). The value is the time of the request (RFC 3339): a cycle whose slot is at or after it
 * answers the request, so it is carried out once, and a newer time asks again.
 */
export const RUN_ANNOTATION = 'hyperagents.io/run';
/**
 * Annotation on a HyperAgent saying a person trusts its benchmark again (`kubectl hyperagent
 * trust`), after the agent stopped approving code changes itself because production kept showing
 * much less than the sandbox predicted. The value is the time of the decision (RFC 3339): only
 * deliveries after it count towards a new loss of trust.
 */
export const TRUST_ANNOTATION = 'hyperagents.io/trust-benchmark';
/**
 * The HyperAgent condition that says whether its sandbox predicts production. While it is False,
 * code changes wait for a person's approval whatever spec.approval says.
 */
export const BENCHMARK_CONDITION = 'BenchmarkPredictive';
/** Label on the canary Deployment and its pods: `canary`; stable pods carry `stable`. */
export const ROLE_LABEL = 'hyperagents.io/role';

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
