// The canary Deployment, built as a plain value from the stable one: `<target>-canary`, with the
// stable pod template (so the Service that selects the stable pods selects the canary pods too;
// for a router that sends the canary its own traffic, `apartFrom` names the stable Service's
// selector, whose labels the canary pods then do not carry, and CANARY_OF_LABEL selects them),
// ROLE_LABEL=canary on the Deployment, its selector and its pods (so the two Deployments never
// claim each other's pods), the revision's image and parameter values on the target container,
// and the cycle as owner (deleting the cycle removes the canary). Nothing here talks to the API
// server.
import type { V1Container, V1Deployment, V1EnvVar, V1LabelSelector } from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from '../api/resources.js';
import type { HyperAgentSpec } from '../api/schema.js';
import { targetContainer } from '../kube/target.js';
import type { CanaryTarget } from './traffic-router.js';

/** On the canary Deployment and on a promoted stable Deployment: the revision it runs. */
export const REVISION_ANNOTATION = 'hyperagents.io/revision';
/** On the canary Deployment: the weight its replica count was chosen for. */
export const WEIGHT_ANNOTATION = 'hyperagents.io/canary-weight';
/** On canary pods kept apart from the stable Service: the stable Deployment they are a canary of. */
export const CANARY_OF_LABEL = 'hyperagents.io/canary-of';

type ParameterSpec = HyperAgentSpec['improvement']['parameters'][number];

/** `<deployment>-canary`: the name of the canary Deployment of a target. */
export function canaryName(deployment: string): string {
  return `${deployment}-canary`;
}

/** True when `deployment` is a canary this operator made (and may therefore change or delete). */
export function isOperatorCanary(deployment: V1Deployment): boolean {
  const labels = deployment.metadata?.labels ?? {};
  return labels[ROLE_LABEL] === 'canary' && labels[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** Parameter values as the environment of the target container, with what cannot be carried that way. */
export interface ParameterEnv {
  /** Environment variable name → value. */
  env: Record<string, string>;
  /** Parameter name → value, as strings (what the revision runs with). */
  parameters: Record<string, string>;
  /** Values that cannot be delivered by environment variable: configKey or undeclared parameters. */
  problems: string[];
}

/**
 * Maps parameter values to the environment variables the agent declares for them. A configKey
 * parameter or an undeclared name is a problem, never dropped silently: the canary would not run
 * what was evaluated.
 */
export function parameterEnv(
  declared: readonly ParameterSpec[],
  values: Readonly<Record<string, string | number | boolean>>,
): ParameterEnv {
  const result: ParameterEnv = { env: {}, parameters: {}, problems: [] };
  for (const name of Object.keys(values).sort()) {
    const value = String(values[name]);
    const parameter = declared.find((p) => p.name === name);
    if (!parameter) {
      result.problems.push(`parameter ${name} is not declared in spec.improvement.parameters`);
    } else if (parameter.env) {
      result.env[parameter.env] = value;
      result.parameters[name] = value;
    } else {
      result.problems.push(
        `parameter ${name} is carried by the configuration key ${parameter.configKey ?? '?'}; the canary can set environment variables only`,
      );
    }
  }
  return result;
}

/** `container` with each variable of `env` set by value (replacing a valueFrom), others kept in order. */
export function withEnv(container: V1Container, env: Readonly<Record<string, string>>): V1Container {
  const current = container.env ?? [];
  const names = new Set(current.map((e) => e.name));
  const kept: V1EnvVar[] = current.map((e) => (e.name in env ? { name: e.name, value: env[e.name] } : e));
  const added: V1EnvVar[] = Object.keys(env)
    .filter((name) => !names.has(name))
    .sort()
    .map((name) => ({ name, value: env[name] }));
  const all = [...kept, ...added];
  return { ...container, ...(all.length > 0 ? { env: all } : {}) };
}

/** The canary's selector: the stable selector narrowed to canary pods. */
export function canarySelector(stable: V1LabelSelector | undefined): V1LabelSelector {
  return {
    ...(stable?.matchExpressions ? { matchExpressions: stable.matchExpressions } : {}),
    matchLabels: { ...(stable?.matchLabels ?? {}), [ROLE_LABEL]: 'canary' },
  };
}

/** What selects the pods of a canary kept apart from the stable Service (its own Service's selector). */
export function apartCanaryLabels(deployment: string): Record<string, string> {
  return { [ROLE_LABEL]: 'canary', [CANARY_OF_LABEL]: deployment };
}

/** `labels` without the keys `selector` names. */
function without(
  labels: Readonly<Record<string, string>> | undefined,
  selector: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => !Object.hasOwn(selector, key)));
}

/**
 * The canary's selector and pod labels. Beside the stable pods in one Service, the stable ones
 * narrowed by ROLE_LABEL; apart from the Service selecting `apartFrom`, the template's labels
 * without those keys (so that Service never selects a canary pod) and a selector of their own.
 */
function canaryPods(
  stable: V1Deployment,
  deployment: string,
  apartFrom: Readonly<Record<string, string>> | undefined,
): { selector: V1LabelSelector; labels: Record<string, string> } {
  const templateLabels = stable.spec?.template.metadata?.labels ?? {};
  if (!apartFrom) {
    return {
      selector: canarySelector(stable.spec?.selector),
      labels: { ...templateLabels, [ROLE_LABEL]: 'canary' },
    };
  }
  const own = apartCanaryLabels(deployment);
  return { selector: { matchLabels: own }, labels: { ...without(templateLabels, apartFrom), ...own } };
}

/**
 * The canary Deployment of `target` at `replicas`, asked for `weight`: the stable Deployment's pod
 * template with the revision's image and environment on the target container. Throws when the
 * stable Deployment has no such container.
 */
export function canaryDeployment(
  stable: V1Deployment,
  target: CanaryTarget,
  replicas: number,
  weight: number,
  options: { apartFrom?: Readonly<Record<string, string>> } = {},
): V1Deployment {
  const template = stable.spec?.template;
  const container = targetContainer(stable, target.container);
  if (!template?.spec || !container) {
    throw new Error(
      `the Deployment ${target.namespace}/${target.deployment} has no ${target.container ? `container named ${target.container}` : 'container'}`,
    );
  }
  const revision = target.revision;
  const changed = withEnv({ ...container, image: revision.image }, revision.env);
  const labels = {
    ...(stable.metadata?.labels ?? {}),
    [ROLE_LABEL]: 'canary',
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
  const pods = canaryPods(stable, target.deployment, options.apartFrom);
  const source = stable.spec!;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: canaryName(target.deployment),
      namespace: target.namespace,
      labels,
      annotations: { [REVISION_ANNOTATION]: revision.name, [WEIGHT_ANNOTATION]: String(weight) },
      ownerReferences: [{ ...target.owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      selector: pods.selector,
      ...(source.minReadySeconds !== undefined ? { minReadySeconds: source.minReadySeconds } : {}),
      ...(source.progressDeadlineSeconds !== undefined
        ? { progressDeadlineSeconds: source.progressDeadlineSeconds }
        : {}),
      ...(source.strategy ? { strategy: source.strategy } : {}),
      revisionHistoryLimit: 1,
      template: {
        metadata: {
          annotations: { ...(template.metadata?.annotations ?? {}), [REVISION_ANNOTATION]: revision.name },
          labels: pods.labels,
        },
        spec: {
          ...template.spec,
          containers: template.spec.containers.map((c) => (c.name === container.name ? changed : c)),
        },
      },
    },
  };
}

/** True when the pod template of `deployment` labels its pods with everything `selector` asks. */
export function selectsTemplate(
  selector: Readonly<Record<string, string>>,
  deployment: V1Deployment,
): boolean {
  const labels = deployment.spec?.template.metadata?.labels ?? {};
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((key) => labels[key] === selector[key]);
}
