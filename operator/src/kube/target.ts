// The agent's target: its Deployment, and the container of it that runs the service. One reader
// for every phase that needs it (proposal, sandbox, build, canary) and for manual rollback, so a
// target that cannot be used fails every one of them with the same reason and the same words.
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import type { HyperAgentSpec } from '../api/schema.js';
import { failedOutcome, type FailedOutcome } from '../cycle/ports.js';
import { statusCodeOf, type KubeClients } from './clients.js';

export type TargetSpec = HyperAgentSpec['target'];

/** The running service as the Deployment describes it. */
export interface Target {
  deployment: V1Deployment;
  /** The container that runs the service (spec.target.container, or the first). */
  container: V1Container;
  /** Its image, exactly as the Deployment names it. */
  image: string;
  /** Names of the pod template's imagePullSecrets, in order. */
  pullSecrets: string[];
}

/** The container `name` names, or the first when absent; undefined when there is no such container. */
export function targetContainer(deployment: V1Deployment, name?: string): V1Container | undefined {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  return name ? containers.find((c) => c.name === name) : containers[0];
}

/** The target in `deployment`, or a failed outcome (TargetUnavailable) saying what it lacks. */
export function targetOf(
  deployment: V1Deployment,
  namespace: string,
  spec: TargetSpec,
): Target | { failed: FailedOutcome } {
  const container = targetContainer(deployment, spec.container);
  if (!container?.image) {
    const which = spec.container ? `container named ${spec.container}` : 'container';
    return {
      failed: failedOutcome(
        'TargetUnavailable',
        `The target Deployment ${namespace}/${spec.deployment} has no ${which} with an image.`,
      ),
    };
  }
  const pullSecrets = (deployment.spec?.template.spec?.imagePullSecrets ?? [])
    .map((secret) => secret.name)
    .filter((name): name is string => typeof name === 'string' && name !== '');
  return { deployment, container, image: container.image, pullSecrets };
}

/**
 * Reads the target Deployment in `namespace`. A Deployment that does not exist, or has no such
 * container, is a failed outcome (TargetUnavailable); any other API error is thrown, since the API
 * server may answer on the next visit.
 */
export async function readTarget(
  apps: KubeClients['apps'],
  namespace: string,
  spec: TargetSpec,
): Promise<Target | { failed: FailedOutcome }> {
  let deployment: V1Deployment;
  try {
    deployment = await apps.readNamespacedDeployment({ name: spec.deployment, namespace });
  } catch (error) {
    if (statusCodeOf(error) !== 404) throw error;
    return {
      failed: failedOutcome(
        'TargetUnavailable',
        `The target Deployment ${namespace}/${spec.deployment} does not exist.`,
      ),
    };
  }
  return targetOf(deployment, namespace, spec);
}
