// The canary Deployment on the cluster, whatever the router: read only when this operator made it,
// deleted only on behalf of the cycle that made it.
import type { V1Deployment, V1ObjectMeta } from '@kubernetes/client-node';
import { statusCodeOf, type KubeClients } from '../kube/clients.js';
import { canaryName, isOperatorCanary } from './canary-deployment.js';
import { ForeignCanaryError } from './traffic-router.js';

/** The canary Deployment of `deployment`, undefined when absent; throws ForeignCanaryError for one we did not make. */
export async function readOperatorCanary(
  apps: KubeClients['apps'],
  namespace: string,
  deployment: string,
): Promise<V1Deployment | undefined> {
  const name = canaryName(deployment);
  let canary: V1Deployment;
  try {
    canary = await apps.readNamespacedDeployment({ name, namespace });
  } catch (error) {
    if (statusCodeOf(error) === 404) return undefined;
    throw error;
  }
  if (!isOperatorCanary(canary)) {
    throw new ForeignCanaryError(
      `a Deployment ${namespace}/${name} exists and is not a canary of this operator; rename it or delete it`,
    );
  }
  return canary;
}

/** True when `metadata` names `ownerUid` among its owners. */
export function ownedBy(metadata: V1ObjectMeta | undefined, ownerUid: string): boolean {
  return (metadata?.ownerReferences ?? []).some((o) => o.uid === ownerUid);
}

/** Deletes the canary Deployment of `deployment` in the foreground when the cycle `ownerUid` made it. */
export async function deleteOwnedCanary(
  apps: KubeClients['apps'],
  namespace: string,
  deployment: string,
  ownerUid: string,
): Promise<void> {
  const name = canaryName(deployment);
  try {
    const canary = await apps.readNamespacedDeployment({ name, namespace });
    if (
      !isOperatorCanary(canary) ||
      !ownedBy(canary.metadata, ownerUid) ||
      canary.metadata?.deletionTimestamp
    )
      return;
    await apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Foreground' });
  } catch (error) {
    if (statusCodeOf(error) !== 404) throw error;
  }
}
