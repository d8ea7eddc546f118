// The `config` builder: a parameter change needs no new image. The revision is the image the
// target container runs now plus the candidate's parameter values, which the canary applies to
// its pod template (environment variables, or keys of the service's configuration file).
import type { HyperAgentSpec } from '../api/schema.js';
import {
  failedOutcome,
  selectedCandidate,
  type BuildPort,
  type CycleContext,
  type WorkOutcome,
} from '../cycle/ports.js';
import type { KubeClients } from '../kube/clients.js';
import { readTarget } from '../kube/target.js';

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

export class ConfigBuilder implements BuildPort {
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
      return failedOutcome(
        'NotAConfigCandidate',
        `candidate ${candidate.id} is a ${candidate.kind} candidate${candidate.kind === 'config' ? ' without parameters' : ''}; the config builder only carries parameter changes`,
      );
    }
    const changes = parameterChanges(candidate.parameters, cycle.spec.agentSpec.improvement.parameters);
    const undeclared = changes.filter((c) => c.carrier === 'undeclared').map((c) => c.name);
    if (undeclared.length > 0) {
      return failedOutcome(
        'UndeclaredParameter',
        `candidate ${candidate.id} sets parameters the agent does not declare: ${undeclared.join(', ')}`,
      );
    }
    const target = await readTarget(this.options.clients.apps, cycle.namespace, cycle.spec.agentSpec.target);
    if ('failed' in target) return target.failed;
    return {
      state: 'succeeded',
      message: configBuildMessage(target.image, target.container.name, changes),
      status: { image: target.image },
    };
  }
}
