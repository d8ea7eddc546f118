// The `config` builder: a parameter change needs no new image. The revision is the image the
// target container runs now plus the candidate's parameter values, which the canary applies to
// its pod template (environment variables, or keys of the service's configuration file).
//
// Also home of the target lookup the other builders share: which container of the Deployment is
// the service, and which image and pull Secrets it has.
import type { V1Deployment, V1Container } from '@kubernetes/client-node';
import type { Candidate, HyperAgentSpec } from '../api/schema.js';
import { describeError, statusCodeOf, type KubeClients } from '../controller/kube.js';
import type { CycleContext, WorkOutcome } from '../cycle/work.js';
import type { ImageBuilder } from './image-builder.js';

/** What the builders need to know of the running service. */
export interface TargetImage {
  /** The container's image, exactly as the Deployment names it. */
  image: string;
  container: string;
  /** Names of the pod template's imagePullSecrets, in order. */
  pullSecrets: string[];
}

/** The container `name` names, or the first when absent; undefined when there is no such container. */
export function targetContainer(deployment: V1Deployment, name?: string): V1Container | undefined {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  return name ? containers.find((c) => c.name === name) : containers[0];
}

/** The target of `spec` in `deployment`, or a failed outcome (TargetUnavailable) saying what is missing. */
export function targetImageOf(
  deployment: V1Deployment,
  target: HyperAgentSpec['target'],
): TargetImage | { failed: WorkOutcome } {
  const container = targetContainer(deployment, target.container);
  if (!container?.image) {
    const which = target.container ? `a container named ${target.container}` : 'a container';
    return failed(
      'TargetUnavailable',
      `the target Deployment ${target.deployment} has no ${which} with an image`,
    );
  }
  const pullSecrets = (deployment.spec?.template.spec?.imagePullSecrets ?? [])
    .map((s) => s.name)
    .filter((n): n is string => typeof n === 'string' && n !== '');
  return { image: container.image, container: container.name, pullSecrets };
}

/** Reads the target Deployment of the cycle; failed outcomes name the Deployment and why it could not be read. */
export async function readTargetImage(
  apps: KubeClients['apps'],
  cycle: CycleContext,
): Promise<TargetImage | { failed: WorkOutcome }> {
  const target = cycle.spec.agentSpec.target;
  try {
    const deployment = await apps.readNamespacedDeployment({
      name: target.deployment,
      namespace: cycle.namespace,
    });
    return targetImageOf(deployment, target);
  } catch (error) {
    const absent = statusCodeOf(error) === 404 ? 'it does not exist' : describeError(error);
    return failed(
      'TargetUnavailable',
      `cannot read the target Deployment ${cycle.namespace}/${target.deployment}: ${absent}`,
    );
  }
}

/** The candidate the cycle selected, or a failed outcome (NothingSelected) when status names none that exists. */
export function selectedCandidate(cycle: CycleContext): Candidate | { failed: WorkOutcome } {
  const id = cycle.status.selected;
  const candidate = id ? cycle.status.candidates?.find((c) => c.id === id) : undefined;
  if (!candidate) {
    return failed(
      'NothingSelected',
      id ? `the selected candidate ${id} is not in status.candidates` : 'no candidate is selected',
    );
  }
  return candidate;
}

export interface ParameterChange {
  name: string;
  value: string;
  /** `env QUOTE_CACHE_SIZE`, `config cache.size`, or `undeclared` for a name the spec does not declare. */
  carrier: string;
}

/** The candidate's parameter values with what carries each, in name order. */
export function parameterChanges(
  values: Readonly<Record<string, string>> | undefined,
  declared: HyperAgentSpec['improvement']['parameters'],
): ParameterChange[] {
  return Object.keys(values ?? {})
    .sort()
    .map((name) => {
      const parameter = declared?.find((p) => p.name === name);
      const carrier = parameter?.env
        ? `env ${parameter.env}`
        : parameter?.configKey
          ? `config ${parameter.configKey}`
          : 'undeclared';
      return { name, value: values![name]!, carrier };
    });
}

/** The outcome message: the image kept and each parameter to apply. */
export function configBuildMessage(
  image: string,
  container: string,
  changes: readonly ParameterChange[],
): string {
  const list = changes.map((c) => `${c.name}=${c.value} (${c.carrier})`).join(', ');
  return `no image build: container ${container} keeps ${image}; the revision applies ${list}`;
}

export interface ConfigBuilderOptions {
  clients: Pick<KubeClients, 'apps'>;
}

export class ConfigBuilder implements ImageBuilder {
  readonly type = 'config' as const;

  constructor(private readonly options: ConfigBuilderOptions) {}

  /**
   * Succeeds with `status.image` = the target container's current image. Fails with
   * NothingSelected, NotAConfigCandidate (a code candidate, or one without parameters),
   * UndeclaredParameter, or TargetUnavailable.
   */
  async build(cycle: CycleContext): Promise<WorkOutcome> {
    const candidate = selectedCandidate(cycle);
    if ('failed' in candidate) return candidate.failed;
    if (candidate.kind !== 'config' || Object.keys(candidate.parameters ?? {}).length === 0) {
      return failed(
        'NotAConfigCandidate',
        `candidate ${candidate.id} is a ${candidate.kind} candidate${candidate.kind === 'config' ? ' without parameters' : ''}; the config builder only carries parameter changes`,
      ).failed;
    }
    const changes = parameterChanges(candidate.parameters, cycle.spec.agentSpec.improvement.parameters);
    const undeclared = changes.filter((c) => c.carrier === 'undeclared').map((c) => c.name);
    if (undeclared.length > 0) {
      return failed(
        'UndeclaredParameter',
        `candidate ${candidate.id} sets parameters the agent does not declare: ${undeclared.join(', ')}`,
      ).failed;
    }
    const target = await readTargetImage(this.options.clients.apps, cycle);
    if ('failed' in target) return target.failed;
    return {
      state: 'succeeded',
      message: configBuildMessage(target.image, target.container, changes),
      status: { image: target.image },
    };
  }
}

function failed(reason: string, message: string): { failed: WorkOutcome } {
  return { failed: { state: 'failed', reason, message } };
}
