// The Kubernetes objects of the sandbox, built as plain values: the namespace and its guard rails
// (Pod Security labels, quota, limit range, default-deny network policies), the ConfigMap that
// carries a cycle's inputs, and one pod per candidate. Nothing here talks to the API server, so the
// safety properties of these objects are tested by inspecting them.
import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Container,
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1Pod,
  V1ResourceQuota,
  V1ResourceRequirements,
  V1SecurityContext,
} from '@kubernetes/client-node';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import { AGENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '../api/resources.js';
import type { HyperAgentSpec } from '../api/schema.js';
import { EXECUTOR_PATH, EXECUTOR_SOCKET, SANDBOX_PATHS, STAND_INS_SOCKET } from '../api/sandbox-protocol.js';

/** `spec.sandbox` of a HyperAgent, with its defaults applied. */
export type SandboxSpec = HyperAgentSpec['sandbox'];

/** On a sandbox namespace: the agent namespace whose candidates it evaluates. */
export const SANDBOX_FOR_LABEL = 'hyperagents.io/sandbox-for';
/** The cycle's uid: the exact selector for a cycle's ConfigMap and pods (names may be shortened). */
export const CYCLE_UID_LABEL = 'hyperagents.io/cycle-uid';
/** The cycle's name, for people; shortened with a hash when it is not a valid label value. */
export const CYCLE_LABEL = 'hyperagents.io/cycle';
export { AGENT_LABEL };
/** Namespace of the cycle and its agent (the sandbox namespace is a different one). */
export const AGENT_NAMESPACE_LABEL = 'hyperagents.io/agent-namespace';
/** Candidate id, or `baseline`, of a sandbox pod. */
export const CANDIDATE_LABEL = 'hyperagents.io/candidate';

export const SANDBOX_NAMESPACE_PREFIX = 'hyperagent-sandbox-';
export const SANDBOX_QUOTA_NAME = 'hyperagent-sandbox';
export const SANDBOX_LIMIT_RANGE_NAME = 'hyperagent-sandbox';
/** The init container that copies the source into the workspace. */
export const SOURCE_CONTAINER = 'source';
/** The init container that copies the executor into the tools volume. */
export const EXECUTOR_CONTAINER = 'executor';
/** The container that proves isolation, has the candidate's commands run, and alone writes the result. */
export const JUDGE_CONTAINER = 'judge';
/** The container where candidate code runs: the service's toolchain image, under the executor. */
export const CANDIDATE_CONTAINER = 'candidate';
/** The container of the workload's dependency stand-ins: the source image, its own user. */
export const STAND_INS_CONTAINER = 'stand-ins';
/** Where the init container puts the source, inside the workspace volume. */
export const SOURCE_DIR = `${SANDBOX_PATHS.workspace}/src`;

/**
 * The user of the candidate container and of the source copy (the conventional "nonroot" uid of
 * distroless images): the candidate owns its tree.
 */
export const SANDBOX_UID = 65532;
/** The judge's own user: candidate processes cannot signal, trace or write as it. */
export const JUDGE_UID = 65533;
/** The stand-ins' user: neither the judge's nor the candidate's. */
export const STAND_INS_UID = 65534;
/** The stand-ins' share of a pod's resources, when the workload has dependencies. */
export const STAND_INS_RESOURCES = { cpu: '100m', memory: '128Mi' } as const;
/**
 * The judge's share of each sandbox pod's `resources`; the candidate container gets the rest. The
 * schema requires at least MIN_POD_CPU and MIN_POD_MEMORY, so the candidate keeps something.
 */
export const JUDGE_RESOURCES = { cpu: '100m', memory: '160Mi' } as const;
const DEFAULT_WORKSPACE_SIZE = '1Gi';
const SCRATCH_SIZE = '256Mi';
/** Disk each container may use besides its volumes (logs, writable layer): eviction beyond. */
const CONTAINER_DISK = '256Mi';
const SMALL_VOLUME = '16Mi';
const MAX_NAME = 63;
const HASH_LENGTH = 10;
/** The API server refuses objects over 1 MiB; the data alone must stay under it. */
const MAX_CONFIG_MAP_BYTES = 1024 * 1024;

const PSS_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
};

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * `raw` as a DNS-1123 label of at most `max` characters: unchanged when it already is one,
 * otherwise cleaned, cut and suffixed with a hash of `raw`, so distinct inputs stay distinct.
 */
export function dnsLabel(raw: string, max = MAX_NAME): string {
  if (max < HASH_LENGTH + 2) throw new Error(`a DNS label limit of ${max} leaves no room for the hash`);
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (clean === raw && raw.length > 0 && raw.length <= max) return raw;
  const head = clean.slice(0, max - HASH_LENGTH - 1).replace(/-+$/, '');
  return head ? `${head}-${shortHash(raw)}` : shortHash(raw);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `raw` as a label value (at most 63 characters): unchanged when valid, otherwise cut and hashed. */
export function labelValue(raw: string): string {
  if (raw.length <= MAX_NAME && LABEL_VALUE.test(raw)) return raw;
  const head = raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, MAX_NAME - HASH_LENGTH - 1)
    .replace(/[^A-Za-z0-9]+$/, '');
  return head ? `${head}-${shortHash(raw)}` : shortHash(raw);
}

/**
 * The sandbox namespace of an agent namespace: `hyperagent-sandbox-<ns>`, shortened with a hash
 * when that would pass the 63 characters a namespace name may have.
 */
export function sandboxNamespaceName(agentNamespace: string): string {
  return dnsLabel(`${SANDBOX_NAMESPACE_PREFIX}${agentNamespace}`);
}

function managed(extra: Record<string, string> = {}): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, ...extra };
}

/** The sandbox namespace, where Pod Security admission enforces `restricted` on every pod. */
export function sandboxNamespace(agentNamespace: string): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: sandboxNamespaceName(agentNamespace),
      labels: managed({ ...PSS_LABELS, [SANDBOX_FOR_LABEL]: labelValue(agentNamespace) }),
    },
  };
}

/**
 * The quota of the sandbox namespace. Every HyperAgent of one agent namespace shares its sandbox
 * namespace, so when they disagree the quota is the one of the agent whose cycle applied it last.
 * Requests are capped like limits because sandbox pods request what they limit.
 */
export function sandboxQuota(namespace: string, sandbox: SandboxSpec): V1ResourceQuota {
  const { pods, cpu, memory } = sandbox.quota;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: SANDBOX_QUOTA_NAME, namespace, labels: managed() },
    spec: {
      // No limits.cpu: the judge and the stand-ins have no CPU limit (a quota on it would refuse
      // their pods); requests bound the CPU every pod is promised, the candidate's limit its use.
      hard: {
        pods: String(pods),
        'limits.memory': memory,
        'requests.cpu': cpu,
        'requests.memory': memory,
      },
    },
  };
}

/**
 * Bounds for any container in the sandbox namespace, so one created without limits (not by this
 * module) still gets the sandbox's. Shared like the quota: the last agent to apply it sets it, and
 * a sibling agent with larger `resources` then has its pods refused at creation until it applies
 * its own.
 */
export function sandboxLimitRange(namespace: string, sandbox: SandboxSpec): V1LimitRange {
  const memory = { memory: sandbox.resources.memory };
  const requests = { cpu: sandbox.resources.cpu, memory: sandbox.resources.memory };
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: SANDBOX_LIMIT_RANGE_NAME, namespace, labels: managed() },
    spec: {
      // The generated type spells `default` as `_default`; the client's serializer writes `default`.
      // CPU is requested, not capped, by default: the judge's containers must not be throttled.
      limits: [{ type: 'Container', _default: memory, defaultRequest: requests, max: memory }],
    },
  };
}

/**
 * Deny all ingress and all egress of every pod in the namespace. The runner proves the egress
 * policy holds before evaluating, because a cluster without a NetworkPolicy implementation accepts
 * these objects and enforces nothing.
 */
export function sandboxNetworkPolicies(namespace: string): V1NetworkPolicy[] {
  return (['Ingress', 'Egress'] as const).map((direction) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `default-deny-${direction.toLowerCase()}`, namespace, labels: managed() },
    spec: { podSelector: {}, policyTypes: [direction] },
  }));
}

export interface CycleRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Name of a cycle's input ConfigMap: one per cycle, stable across reconciles. */
export function inputConfigMapName(cycle: CycleRef): string {
  return dnsLabel(`cycle-${cycle.uid}`);
}

const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The ConfigMap of one cycle's inputs (manifests and patches, by key) in the sandbox namespace.
 * It owns the cycle's pods there: owner references cannot cross namespaces, so the cycle cannot
 * own them itself; the operator deletes this ConfigMap when the cycle leaves Evaluating and the
 * garbage collector removes the pods. Throws when a key is not a valid ConfigMap key or the data
 * passes the API server's 1 MiB object limit.
 */
export function sandboxInputConfigMap(input: {
  namespace: string;
  cycle: CycleRef;
  agent: string;
  files: Record<string, string>;
}): V1ConfigMap {
  const { namespace, cycle, agent, files } = input;
  let bytes = 0;
  for (const [key, value] of Object.entries(files)) {
    if (key.length > 253 || !CONFIG_MAP_KEY.test(key) || key === '.' || key === '..') {
      throw new Error(`${JSON.stringify(key)} is not a valid ConfigMap key`);
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_CONFIG_MAP_BYTES) {
    throw new Error(
      `the sandbox inputs of cycle ${cycle.name} take ${bytes} bytes, over the 1 MiB a ConfigMap may hold`,
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inputConfigMapName(cycle),
      namespace,
      labels: managed({
        [CYCLE_UID_LABEL]: labelValue(cycle.uid),
        [CYCLE_LABEL]: labelValue(cycle.name),
        [AGENT_LABEL]: labelValue(agent),
        [AGENT_NAMESPACE_LABEL]: labelValue(cycle.namespace),
      }),
    },
    // Pods read their inputs once; immutability means what was evaluated is what is stored, and
    // the kubelet need not watch it.
    immutable: true,
    data: { ...files },
  };
}

/** Longest candidate part of a pod name, so the cycle part keeps room to be told apart. */
const MAX_CANDIDATE_PART = 24;

/**
 * Name of the pod of one candidate of one cycle: `<cycle name>-<uid prefix>-<candidate>`. The uid
 * prefix keeps a recreated cycle of the same name from meeting its predecessor's pods, which the
 * garbage collector may not have removed yet.
 */
export function sandboxPodName(cycle: CycleRef, candidate: string): string {
  const candidatePart = dnsLabel(candidate, MAX_CANDIDATE_PART);
  const cyclePart = dnsLabel(`${cycle.name}-${cycle.uid.slice(0, 8)}`, MAX_NAME - candidatePart.length - 1);
  return `${cyclePart}-${candidatePart}`;
}

export interface SandboxPodInput {
  /** The sandbox namespace. */
  namespace: string;
  /** The cycle's input ConfigMap as stored (with its uid): the pod's owner and input volume. */
  configMap: V1ConfigMap;
  cycle: CycleRef;
  /** Candidate id, or `baseline`. */
  candidate: string;
  /** ConfigMap key of this pod's manifest. */
  manifestKey: string;
  /** ConfigMap keys of the changed-files bundle the manifest names (none for the baseline). */
  changeKeys: string[];
  sandbox: SandboxSpec;
  /** The judge's image (the project's runner image), defaulted by the caller. */
  image: string;
  /** The image holding the source, defaulted by the caller. */
  sourceImage: string;
  /** The image the candidate's commands run in (the service's toolchain), defaulted by the caller. */
  toolchainImage: string;
  /** Whether the workload has dependency stand-ins (a third container, from the source image). */
  standIns?: boolean;
  /** sizeLimit of the workspace emptyDir; 1Gi when unset. */
  workspaceSizeLimit?: string;
}

/** Where the runner image keeps the executor binary. */
export const EXECUTOR_IN_IMAGE = '/opt/hyperagent/executor';

function containerSecurity(uid: number): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
  };
}

/** Limits (and equal requests) of one container, with its disk bound: the candidate's. */
function bounded(share: { cpu: string; memory: string }, disk: string): V1ResourceRequirements {
  const limits = { cpu: share.cpu, memory: share.memory, 'ephemeral-storage': disk };
  return { limits: { ...limits }, requests: { ...limits } };
}

/**
 * The judge's and the stand-ins': memory and disk limited, CPU requested but not capped. Both
 * time things (the judge every request, a stand-in its answers): a CPU quota that throttled them
 * mid-run would put its pauses into the figures. Neither runs candidate code.
 */
function unthrottled(share: { cpu: string; memory: string }, disk: string): V1ResourceRequirements {
  return {
    limits: { memory: share.memory, 'ephemeral-storage': disk },
    requests: { cpu: share.cpu, memory: share.memory, 'ephemeral-storage': disk },
  };
}

/**
 * How one sandbox pod's resources are shared: the judge's fixed share, the candidate the rest.
 * Throws when the pod's resources do not leave the candidate anything (the schema prevents it).
 */
export function splitResources(
  resources: { cpu: string; memory: string },
  standIns = false,
): {
  judge: { cpu: string; memory: string };
  candidate: { cpu: string; memory: string };
  standIns?: { cpu: string; memory: string };
} {
  const milliCpu = (value: string) => Math.round(Number(quantityToScalar(value)) * 1000);
  const bytes = (value: string) => Number(quantityToScalar(value));
  const others = standIns ? [JUDGE_RESOURCES, STAND_INS_RESOURCES] : [JUDGE_RESOURCES];
  const cpu = others.reduce((left, share) => left - milliCpu(share.cpu), milliCpu(resources.cpu));
  const memory = others.reduce((left, share) => left - bytes(share.memory), bytes(resources.memory));
  if (!(cpu > 0) || !(memory > 0)) {
    const taken = standIns ? "the judge's and the stand-ins' shares" : "the judge's share";
    throw new Error(
      `sandbox resources ${resources.cpu} CPU and ${resources.memory} leave nothing for the candidate after ${taken} (${others.map((share) => `${share.cpu} CPU, ${share.memory}`).join(' and ')})`,
    );
  }
  const mebibytes = memory / (1024 * 1024);
  const memoryText = Number.isInteger(mebibytes) ? `${mebibytes}Mi` : String(memory);
  return {
    judge: { ...JUDGE_RESOURCES },
    candidate: { cpu: `${cpu}m`, memory: memoryText },
    ...(standIns ? { standIns: { ...STAND_INS_RESOURCES } } : {}),
  };
}

/**
 * The pod that evaluates one candidate. Throws when the ConfigMap has not been stored yet (no
 * uid to own the pod by), lives elsewhere, or lacks a key the pod would mount: such a pod would
 * never start, and waiting for its deadline would hide why.
 */
export function sandboxPod(input: SandboxPodInput): V1Pod {
  const { namespace, configMap, cycle, candidate, manifestKey, changeKeys, sandbox } = input;
  const owner = configMap.metadata;
  if (!owner?.name || !owner.uid) {
    throw new Error('the input ConfigMap must be created before its pods: it has no name or uid yet');
  }
  if (owner.namespace !== namespace) {
    throw new Error(
      `the input ConfigMap is in ${owner.namespace ?? 'no namespace'}, not the sandbox namespace ${namespace}`,
    );
  }
  const keys = [...new Set([manifestKey, ...changeKeys])];
  const missing = keys.filter((key) => configMap.data?.[key] === undefined);
  if (missing.length > 0) throw new Error(`the input ConfigMap has no ${missing.join(', ')}`);

  // Requests equal limits (Guaranteed QoS): the quota then counts exactly what pods may use. The
  // judge's share comes out of the pod's resources; init containers run before the others and may
  // use the candidate's share, which adds nothing to the pod's effective request.
  const split = splitResources(sandbox.resources, input.standIns ?? false);
  const workspaceSize = input.workspaceSizeLimit ?? DEFAULT_WORKSPACE_SIZE;
  const judgeResources = unthrottled(split.judge, CONTAINER_DISK);
  const candidateResources = bounded(split.candidate, CONTAINER_DISK);

  const source: V1Container = {
    name: SOURCE_CONTAINER,
    image: input.sourceImage,
    imagePullPolicy: 'IfNotPresent',
    // No shell: cp creates the missing target as a copy of the directory, and `/.` follows a
    // sourcePath that is a symbolic link. Arguments go to cp as they are, spaces included.
    command: ['cp', '-R', `${sandbox.sourcePath.replace(/\/+$/, '')}/.`, SOURCE_DIR],
    resources: candidateResources,
    securityContext: containerSecurity(SANDBOX_UID),
    volumeMounts: [{ name: 'workspace', mountPath: SANDBOX_PATHS.workspace }],
    // cp writes no termination message; the tail of its log explains a failed copy.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };

  const executor: V1Container = {
    name: EXECUTOR_CONTAINER,
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['cp', EXECUTOR_IN_IMAGE, EXECUTOR_PATH],
    resources: judgeResources,
    securityContext: containerSecurity(JUDGE_UID),
    volumeMounts: [{ name: 'tools', mountPath: SANDBOX_PATHS.tools }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };

  const judge: V1Container = {
    name: JUDGE_CONTAINER,
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    args: [`${SANDBOX_PATHS.input}/${manifestKey}`],
    env: [
      { name: 'HOME', value: SANDBOX_PATHS.scratch },
      { name: 'TMPDIR', value: SANDBOX_PATHS.scratch },
    ],
    resources: judgeResources,
    securityContext: containerSecurity(JUDGE_UID),
    volumeMounts: [
      { name: 'input', mountPath: SANDBOX_PATHS.input, readOnly: true },
      // The judge reads the candidate's tree and output files, and never writes them.
      { name: 'workspace', mountPath: SANDBOX_PATHS.workspace, readOnly: true },
      { name: 'candidate-tmp', mountPath: SANDBOX_PATHS.candidateScratch, readOnly: true },
      { name: 'control', mountPath: SANDBOX_PATHS.control },
      { name: 'judge-tmp', mountPath: SANDBOX_PATHS.scratch },
    ],
    terminationMessagePath: SANDBOX_PATHS.terminationLog,
    // Not FallbackToLogsOnError: the log of a judge that died is not a result and must never be
    // parsed as one.
    terminationMessagePolicy: 'File',
  };

  const candidateContainer: V1Container = {
    name: CANDIDATE_CONTAINER,
    image: input.toolchainImage,
    imagePullPolicy: 'IfNotPresent',
    // The executor is the container's init process: it runs only what the judge asks, after the
    // judge proved isolation, and stops every process of the container after each command.
    command: [EXECUTOR_PATH],
    args: ['--socket', EXECUTOR_SOCKET, '--source', SOURCE_DIR],
    env: [
      { name: 'HOME', value: SANDBOX_PATHS.scratch },
      { name: 'TMPDIR', value: SANDBOX_PATHS.scratch },
    ],
    workingDir: SOURCE_DIR,
    resources: candidateResources,
    securityContext: containerSecurity(SANDBOX_UID),
    volumeMounts: [
      { name: 'workspace', mountPath: SANDBOX_PATHS.workspace },
      { name: 'candidate-tmp', mountPath: SANDBOX_PATHS.scratch },
      { name: 'control', mountPath: SANDBOX_PATHS.control, readOnly: true },
      { name: 'tools', mountPath: SANDBOX_PATHS.tools, readOnly: true },
    ],
    // Whatever the candidate writes to its termination log is never read.
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };

  // Dependency stand-ins run from the source image itself (the baseline's tree, read-only), as
  // their own user in their own PID namespace: candidate code can reach them only over loopback.
  const standIns: V1Container | undefined =
    input.standIns && split.standIns
      ? {
          name: STAND_INS_CONTAINER,
          image: input.sourceImage,
          imagePullPolicy: 'IfNotPresent',
          command: [EXECUTOR_PATH],
          args: ['--socket', STAND_INS_SOCKET, '--source', sandbox.sourcePath],
          env: [
            { name: 'HOME', value: SANDBOX_PATHS.scratch },
            { name: 'TMPDIR', value: SANDBOX_PATHS.scratch },
          ],
          resources: unthrottled(split.standIns, CONTAINER_DISK),
          securityContext: containerSecurity(STAND_INS_UID),
          volumeMounts: [
            { name: 'stand-ins-tmp', mountPath: SANDBOX_PATHS.scratch },
            { name: 'control', mountPath: SANDBOX_PATHS.control, readOnly: true },
            { name: 'tools', mountPath: SANDBOX_PATHS.tools, readOnly: true },
          ],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        }
      : undefined;

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: sandboxPodName(cycle, candidate),
      namespace,
      labels: { ...owner.labels, [CANDIDATE_LABEL]: labelValue(candidate) },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      restartPolicy: 'Never',
      // Counted from when the kubelet accepts the pod, so image pulls and the source copy are
      // inside it; a pod that is never scheduled is not, and needs the caller's own timeout.
      activeDeadlineSeconds: sandbox.timeoutSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      // A fork bomb is bounded by the kubelet's podPidsLimit, a node setting: the pod spec has no
      // field for it. The executor also stops every process of the candidate container after each
      // command. Containers keep their own PID namespaces (shareProcessNamespace stays off), so
      // candidate processes cannot even see the judge.
      shareProcessNamespace: false,
      securityContext: {
        runAsNonRoot: true,
        fsGroup: SANDBOX_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      initContainers: [source, executor],
      containers: [judge, candidateContainer, ...(standIns ? [standIns] : [])],
      volumes: [
        {
          name: 'input',
          configMap: {
            name: owner.name,
            defaultMode: 0o444,
            // Only this pod's files: a candidate never sees its siblings' patches.
            items: keys.map((key) => ({ key, path: key, mode: 0o444 })),
          },
        },
        { name: 'workspace', emptyDir: { sizeLimit: workspaceSize } },
        { name: 'candidate-tmp', emptyDir: { sizeLimit: SCRATCH_SIZE } },
        { name: 'judge-tmp', emptyDir: { sizeLimit: SCRATCH_SIZE } },
        { name: 'control', emptyDir: { sizeLimit: SMALL_VOLUME } },
        { name: 'tools', emptyDir: { sizeLimit: SMALL_VOLUME } },
        ...(standIns ? [{ name: 'stand-ins-tmp', emptyDir: { sizeLimit: SCRATCH_SIZE } }] : []),
      ],
    },
  };
}
