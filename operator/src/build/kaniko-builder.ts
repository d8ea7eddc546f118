// The `kaniko` builder: for services whose image must be rebuilt from source (compiled code), a
// Job runs the kaniko executor on the cycle's commit and pushes the result; the digest comes back
// through the container's termination message (`--digest-file=/dev/termination-log`).
//
// kaniko needs root inside its container to unpack and snapshot the image filesystem, so the pod
// is as restricted as that allows (no privilege escalation, capabilities cut to what Dockerfile
// steps commonly need, RuntimeDefault seccomp, no service account token) and fits Pod Security
// `baseline`, not `restricted`. Without an executor image configured the builder refuses: it
// never reports an image it did not build.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { API_VERSION, AGENT_LABEL, CYCLES } from '../api/resources.js';
import type { HyperAgentSpec } from '../api/schema.js';
import { describeError, statusCodeOf, type KubeClients } from '../controller/kube.js';
import type { CycleContext, WorkOutcome } from '../cycle/work.js';
import { SECRET_KEYS } from '../git/credentials.js';
import { cycleBranch } from '../git/refs.js';
import { readTargetImage, selectedCandidate } from './config-builder.js';
import type { ImageBuilder } from './image-builder.js';
import { parseImageReference, registryBaseUrl, type EndpointOptions } from './oci-registry.js';
import { imageTag } from './overlay-builder.js';

export const DEFAULT_KANIKO_DEADLINE_SECONDS = 1800;
export const KANIKO_CONTAINER = 'kaniko';
const DOCKER_CONFIG_DIR = '/kaniko/.docker';

/** Capabilities kaniko's own work and ordinary Dockerfile steps (chown, apt, useradd) use; all within Pod Security baseline. */
export const KANIKO_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETFCAP',
];

export interface KanikoResources {
  cpu: string;
  memory: string;
  ephemeralStorage: string;
}

export const DEFAULT_KANIKO_RESOURCES: KanikoResources = {
  cpu: '1',
  memory: '2Gi',
  ephemeralStorage: '10Gi',
};

export interface KanikoBuilderOptions {
  clients: Pick<KubeClients, 'apps' | 'core' | 'objects'>;
  /** The kaniko executor image (a pinned `gcr.io/kaniko-project/executor` release); without it every build fails KanikoNotConfigured. */
  image?: string;
  /** A `kubernetes.io/dockerconfigjson` Secret in the agent's namespace, mounted for kaniko to push with. */
  pushSecret?: string;
  /** Repository to push to (`registry/path`); the target image's repository when absent. */
  destination?: string;
  /** Dockerfile path inside the context; `Dockerfile` when absent. */
  dockerfile?: string;
  /** Directory of the repository that is the build context; the root when absent. */
  contextSubPath?: string;
  /** activeDeadlineSeconds of the Job. */
  deadlineSeconds?: number;
  resources?: KanikoResources;
  /** Only for registries that authenticate the pod's identity (workload identity); mounts its token. */
  serviceAccountName?: string;
  /** Plain-HTTP registries (loopback ones are always plain HTTP, as for the overlay builder). */
  registry?: EndpointOptions;
}

export interface KanikoJobInput {
  name: string;
  namespace: string;
  cycle: { name: string; uid: string };
  agent: string;
  image: string;
  /** `git://host/path#refs/heads/<branch>#<commit>`. */
  context: string;
  pullMethod: 'https' | 'http';
  /** `registry/repository:tag`. */
  destination: string;
  /** Registry host of the destination, when it is spoken to over plain HTTP. */
  insecureRegistry?: string;
  dockerfile: string;
  contextSubPath?: string;
  /** Secret with `username` and `password` for an https repository. */
  gitSecret?: string;
  pushSecret?: string;
  deadlineSeconds: number;
  resources: KanikoResources;
  serviceAccountName?: string;
}

/**
 * kaniko's git context for the commit on the cycle branch. Only http(s) repositories can be
 * cloned by kaniko with a user name and password; anything else gives `{ error }` saying so.
 */
export function kanikoContext(
  repo: string,
  branch: string,
  commit: string,
): { context: string; pullMethod: 'https' | 'http' } | { error: string } {
  const match = /^(https?):\/\/([^/?#]+)(\/[^?#]*)$/i.exec(repo);
  if (!match) {
    return {
      error: `kaniko clones git contexts over http(s) only; ${repo} is not an http(s) URL (ssh and file repositories cannot be built with kaniko)`,
    };
  }
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return { error: `not a full commit id: ${commit}` };
  return {
    context: `git://${match[2]}${match[3]}#refs/heads/${branch}#${commit}`,
    pullMethod: match[1]!.toLowerCase() === 'http' ? 'http' : 'https',
  };
}

/** `<cycle>-kaniko`, shortened (with a hash) to a valid label value, as Job names must be. */
export function kanikoJobName(cycle: string): string {
  const name = `${cycle}-kaniko`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(cycle).digest('hex').slice(0, 8);
  return `${cycle.slice(0, 46).replace(/[-.]+$/, '')}-kaniko-${hash}`;
}

/** The Job that builds and pushes one commit: owned by the cycle, one try, a deadline, no API token. */
export function kanikoJob(input: KanikoJobInput): V1Job {
  const labels = {
    [AGENT_LABEL]: input.agent,
    'hyperagents.io/cycle': input.cycle.name,
    'app.kubernetes.io/managed-by': 'hyperagent-operator',
    'app.kubernetes.io/component': 'kaniko-build',
  };
  const args = [
    `--context=${input.context}`,
    `--dockerfile=${input.dockerfile}`,
    `--destination=${input.destination}`,
    '--digest-file=/dev/termination-log',
    '--reproducible',
    '--ignore-var-run',
    ...(input.contextSubPath ? [`--context-sub-path=${input.contextSubPath}`] : []),
    ...(input.insecureRegistry ? [`--insecure-registry=${input.insecureRegistry}`] : []),
  ];
  const env = [
    { name: 'DOCKER_CONFIG', value: DOCKER_CONFIG_DIR },
    { name: 'GIT_PULL_METHOD', value: input.pullMethod },
    ...(input.gitSecret
      ? [
          {
            name: 'GIT_USERNAME',
            valueFrom: { secretKeyRef: { name: input.gitSecret, key: SECRET_KEYS.username } },
          },
          {
            name: 'GIT_PASSWORD',
            valueFrom: { secretKeyRef: { name: input.gitSecret, key: SECRET_KEYS.password } },
          },
        ]
      : []),
  ];
  const limits = {
    cpu: input.resources.cpu,
    memory: input.resources.memory,
    'ephemeral-storage': input.resources.ephemeralStorage,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: CYCLES.kind,
          name: input.cycle.name,
          uid: input.cycle.uid,
          controller: true,
        },
      ],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: input.serviceAccountName !== undefined,
          ...(input.serviceAccountName ? { serviceAccountName: input.serviceAccountName } : {}),
          enableServiceLinks: false,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: KANIKO_CONTAINER,
              image: input.image,
              imagePullPolicy: 'IfNotPresent',
              args,
              env,
              resources: { requests: limits, limits },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                runAsUser: 0,
                runAsGroup: 0,
                runAsNonRoot: false,
                privileged: false,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'], add: [...KANIKO_CAPABILITIES] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              ...(input.pushSecret
                ? { volumeMounts: [{ name: 'docker-config', mountPath: DOCKER_CONFIG_DIR, readOnly: true }] }
                : {}),
            },
          ],
          ...(input.pushSecret
            ? {
                volumes: [
                  {
                    name: 'docker-config',
                    secret: {
                      secretName: input.pushSecret,
                      items: [{ key: '.dockerconfigjson', path: 'config.json' }],
                    },
                  },
                ],
              }
            : {}),
        },
      },
    },
  };
}

/** Where a finished Job stands: the digest kaniko wrote, or why it failed; undefined while it runs. */
export function kanikoResult(
  job: V1Job,
  pods: readonly V1Pod[],
): { digest: string } | { error: string } | undefined {
  const terminated = pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .find((c) => c.name === KANIKO_CONTAINER && c.state?.terminated)?.state?.terminated;
  const failedCondition = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  if ((job.status?.succeeded ?? 0) > 0) {
    const digest = terminated?.message?.trim() ?? '';
    if (/^sha256:[0-9a-f]{64}$/.test(digest)) return { digest };
    return {
      error: `the kaniko Job succeeded but left no digest in its termination message (${digest.slice(0, 200) || 'empty'})`,
    };
  }
  if (failedCondition || (job.status?.failed ?? 0) > 0) {
    const why =
      terminated?.message?.trim() || failedCondition?.message || failedCondition?.reason || 'no message';
    return { error: `the kaniko Job failed: ${why.slice(-2000)}` };
  }
  return undefined;
}

export class KanikoBuilder implements ImageBuilder {
  readonly type = 'kaniko' as const;

  constructor(private readonly options: KanikoBuilderOptions) {}

  /**
   * Starts the Job once and reports where it stands; succeeds with `status.image` =
   * `<destination>@<digest>`. Fails with KanikoNotConfigured (no executor image), NothingSelected,
   * NoCommit, UnsupportedSource, TargetUnavailable, KanikoJobFailed or BuildFailed.
   */
  async build(cycle: CycleContext): Promise<WorkOutcome> {
    if (!this.options.image) {
      return failed(
        'KanikoNotConfigured',
        'this operator has no kaniko executor image configured, so it cannot build images from source; set one (see docs/builders.md) or use the overlay builder for services that run their source',
      );
    }
    const candidate = selectedCandidate(cycle);
    if ('failed' in candidate) return candidate.failed;
    const commit = cycle.status.commit;
    if (!commit) return failed('NoCommit', 'status.commit is not set; kaniko builds the committed candidate');
    const spec: HyperAgentSpec = cycle.spec.agentSpec;
    const context = kanikoContext(
      spec.source.repo,
      cycleBranch({ namespace: cycle.namespace, name: cycle.spec.agent }, cycle.name),
      commit,
    );
    if ('error' in context) return failed('UnsupportedSource', context.error);

    let repository = this.options.destination;
    if (!repository) {
      const target = await readTargetImage(this.options.clients.apps, cycle);
      if ('failed' in target) return target.failed;
      const ref = parseImageReference(target.image);
      repository = `${ref.registry}/${ref.repository}`;
    }
    const registryHost = repository.split('/')[0] ?? '';
    const name = kanikoJobName(cycle.name);
    const insecure = registryBaseUrl(registryHost, this.options.registry).startsWith('http://');
    const job = kanikoJob({
      name,
      namespace: cycle.namespace,
      cycle: { name: cycle.name, uid: cycle.uid },
      agent: cycle.spec.agent,
      image: this.options.image,
      context: context.context,
      pullMethod: context.pullMethod,
      destination: `${repository}:${imageTag(cycle.name)}`,
      ...(insecure ? { insecureRegistry: registryHost } : {}),
      dockerfile: this.options.dockerfile ?? 'Dockerfile',
      ...(this.options.contextSubPath ? { contextSubPath: this.options.contextSubPath } : {}),
      ...(spec.source.credentialsSecret ? { gitSecret: spec.source.credentialsSecret } : {}),
      ...(this.options.pushSecret ? { pushSecret: this.options.pushSecret } : {}),
      deadlineSeconds: this.options.deadlineSeconds ?? DEFAULT_KANIKO_DEADLINE_SECONDS,
      resources: this.options.resources ?? DEFAULT_KANIKO_RESOURCES,
      ...(this.options.serviceAccountName ? { serviceAccountName: this.options.serviceAccountName } : {}),
    });

    try {
      const existing = await this.readJob(cycle.namespace, name);
      if (!existing) {
        // Another replica (or an earlier visit whose write the cache has not seen) may have made it.
        await this.options.clients.objects.create(job).catch((error: unknown) => {
          if (statusCodeOf(error) !== 409) throw error;
        });
        return {
          state: 'running',
          message: `started the kaniko Job ${name} for commit ${commit.slice(0, 12)}`,
          retryAfterMs: 5000,
        };
      }
      const pods = await this.options.clients.core.listNamespacedPod({
        namespace: cycle.namespace,
        labelSelector: `job-name=${name}`,
      });
      const result = kanikoResult(existing, pods.items);
      if (!result)
        return { state: 'running', message: `the kaniko Job ${name} is building`, retryAfterMs: 5000 };
      if ('error' in result) return failed('KanikoJobFailed', result.error);
      const image = `${repository}@${result.digest}`;
      return {
        state: 'succeeded',
        message: `kaniko built ${image} from commit ${commit.slice(0, 12)}`,
        status: { image },
      };
    } catch (error) {
      return failed(
        'BuildFailed',
        `cannot run the kaniko Job ${cycle.namespace}/${name}: ${describeError(error)}`,
      );
    }
  }

  private async readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    try {
      return (await this.options.clients.objects.read({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace },
      })) as V1Job;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}

function failed(reason: string, message: string): WorkOutcome {
  return { state: 'failed', reason, message };
}
