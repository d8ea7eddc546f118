// What "the revision before" a promotion is on the cluster, decided without I/O: the stable
// Deployment's ReplicaSet that ran before its current one, as `kubectl rollout undo` finds it.
// Its pod template is exactly what ran (image, parameter variables and everything else), so a
// revert puts back something that served production, not a reconstruction of it.
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from './canary-deployment.js';

/** The Deployment controller's revision counter on a Deployment and its ReplicaSets. */
export const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';
/** The label the Deployment controller adds to each ReplicaSet's template; never copied back. */
const POD_TEMPLATE_HASH = 'pod-template-hash';

function revisionOf(object: { metadata?: { annotations?: Record<string, string> } }): number {
  const value = Number(object.metadata?.annotations?.[DEPLOYMENT_REVISION]);
  return Number.isInteger(value) ? value : Number.NaN;
}

/**
 * The ReplicaSet of `deployment` with the highest revision below the Deployment's own: the one
 * that ran before the current template. Undefined when there is none (a first rollout, or history
 * trimmed by revisionHistoryLimit).
 */
export function previousReplicaSet(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  const current = revisionOf(deployment);
  const uid = deployment.metadata?.uid;
  if (Number.isNaN(current) || !uid) return undefined;
  let best: V1ReplicaSet | undefined;
  for (const replicaSet of replicaSets) {
    const owned = (replicaSet.metadata?.ownerReferences ?? []).some((o) => o.uid === uid && o.controller);
    const revision = revisionOf(replicaSet);
    if (!owned || !(revision < current)) continue;
    if (!best || revision > revisionOf(best)) best = replicaSet;
  }
  return best;
}

/** The operator's name of the revision a ReplicaSet ran, when the Deployment carried one then. */
export function revisionNameOf(replicaSet: V1ReplicaSet): string | undefined {
  return replicaSet.metadata?.annotations?.[REVISION_ANNOTATION];
}

/**
 * The ReplicaSet's pod template as a Deployment takes it: plain JSON, without the hash label the
 * Deployment controller adds (it adds it again to whichever ReplicaSet runs the template).
 */
export function templateToRestore(replicaSet: V1ReplicaSet): object {
  const template = JSON.parse(JSON.stringify(replicaSet.spec?.template ?? {})) as V1PodTemplateSpec & {
    metadata?: { creationTimestamp?: unknown; labels?: Record<string, string> };
  };
  if (template.metadata) {
    delete template.metadata.creationTimestamp;
    if (template.metadata.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
  }
  return template;
}

/** Whether the Deployment's template runs what the ReplicaSet's does: every container's name, image and variables. */
export function runsTemplateOf(deployment: V1Deployment, replicaSet: V1ReplicaSet): boolean {
  const shape = (template: V1PodTemplateSpec | undefined) =>
    JSON.stringify(
      (template?.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, env: c.env ?? [] })),
    );
  return shape(deployment.spec?.template) === shape(replicaSet.spec?.template);
}
