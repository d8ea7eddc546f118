// The one way the stable Deployment is changed: promotion (the canary's revision) and a manual
// rollback (a revision from the agent's history) both make it run a revision, with the same patch.
import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.js';
import { stablePatch } from './promotion.js';
import type { Revision } from './traffic-router.js';

/** The stable Deployment and the container of it that runs the service. */
export interface StableTarget {
  namespace: string;
  deployment: string;
  container?: string;
}

/**
 * Makes `stable` (as just read) run `revision` on its target container: its image and parameter
 * variables, in one strategic-merge patch. Converges: applying it twice changes nothing more.
 * API errors propagate.
 */
export async function applyRevision(
  apps: KubeClients['apps'],
  target: StableTarget,
  stable: V1Deployment,
  revision: Revision,
): Promise<void> {
  await apps.patchNamespacedDeployment(
    {
      name: target.deployment,
      namespace: target.namespace,
      body: stablePatch(stable, target.container, revision),
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}
