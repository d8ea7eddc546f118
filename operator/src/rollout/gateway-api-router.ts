// The Gateway API TrafficRouter: the canary Deployment runs apart from the stable Service (its pods
// lack the labels that Service selects) behind a canary Service of its own, `<service>-canary`, and
// the user's HTTPRoute shares each stable rule's requests between the two by backend weight
// (http-route.ts). A weight is exact whatever the replica counts; the canary runs
// ceil(weight × stable replicas / 100) pods, at least one.
//
// Order keeps every request served:
//   setWeight  the canary pods are ready and listed ready behind the canary Service before the
//              route sends them anything; with a smoke-test header its twins go in first, and the
//              weight only once the gateway has taken them.
//   removeCanary  the route is put back first; the canary is deleted only once the gateway has
//              taken the restored route and DRAIN_MS has passed since (in-flight requests end).
// A weight is reported in place only when the gateway reports the route's current generation
// accepted with its backends resolved. Every change is a write of the whole route with its
// resourceVersion: a concurrent edit fails the write, and the next visit starts from what is there.
import {
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from '../api/resources.js';
import { FIELD_MANAGER, serverSideApply, statusCodeOf, type KubeClients } from '../kube/clients.js';
import { REVISION_ANNOTATION, apartCanaryLabels, canaryDeployment, canaryName } from './canary-deployment.js';
import { deleteOwnedCanary, ownedBy, readOperatorCanary } from './canary-workload.js';
import {
  HTTP_ROUTE,
  gatewayTook,
  routeProblems,
  routeTraffic,
  withCanary,
  withoutCanary,
  type HttpRoute,
  type RouteBackends,
  type SmokeHeader,
} from './http-route.js';
import {
  ForeignCanaryError,
  WeightUnreachableError,
  type CanaryTarget,
  type ReleasedTarget,
  type TrafficRouter,
  type TrafficState,
} from './traffic-router.js';

/** On the canary Service: when the route stopped sending to it (the drain starts then). */
export const UNROUTED_ANNOTATION = 'hyperagents.io/unrouted-at';

export interface GatewayRoutingSpec {
  httpRoute: string;
  header?: SmokeHeader;
}

export interface GatewayApiRouterOptions {
  clients: Pick<KubeClients, 'apps' | 'core' | 'custom' | 'objects'>;
  routing: GatewayRoutingSpec;
  /** How long the canary keeps running after the gateway took the restored route. */
  drainMs?: number;
  now?: () => Date;
}

/**
 * Traefik reported a route Accepted 0.2–0.5 s before its traffic followed (issue 20's gateway
 * e2e); 2 s covers that four times over. Requests still in flight then are the canary pods' own
 * graceful termination's to finish.
 */
export const DEFAULT_DRAIN_MS = 2_000;

/** The canary's pods for `weight` percent beside `stableReplicas`: the same share of pods, at least one. */
export function canaryReplicasFor(stableReplicas: number, weight: number): number {
  return Math.max(1, Math.ceil((Math.max(1, stableReplicas) * weight) / 100));
}

/** True when the canary Deployment runs `revision` with every one of its pods ready. */
export function canaryReadyFor(canary: V1Deployment | undefined, revision: string): boolean {
  if (!canary || canary.metadata?.annotations?.[REVISION_ANNOTATION] !== revision) return false;
  const desired = canary.spec?.replicas ?? 1;
  const status = canary.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (canary.metadata?.generation ?? 1);
  return (
    observed &&
    desired > 0 &&
    (status.updatedReplicas ?? 0) === desired &&
    (status.replicas ?? 0) === desired &&
    (status.readyReplicas ?? 0) === desired
  );
}

/** The canary Service: the stable Service's ports, selecting the canary pods alone. */
export function canaryServiceOf(stable: V1Service, target: CanaryTarget, name: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: target.namespace,
      labels: { [ROLE_LABEL]: 'canary', [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [{ ...target.owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      type: 'ClusterIP',
      selector: apartCanaryLabels(target.deployment),
      ports: (stable.spec?.ports ?? []).map((port) => ({
        ...(port.name ? { name: port.name } : {}),
        port: port.port,
        ...(port.targetPort !== undefined ? { targetPort: port.targetPort } : {}),
        ...(port.protocol ? { protocol: port.protocol } : {}),
        ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}),
      })),
    },
  };
}

/** Present and not being deleted. */
function live(object: KubernetesObject | undefined): boolean {
  return object !== undefined && !object.metadata?.deletionTimestamp;
}

function isOperatorService(service: V1Service): boolean {
  const labels = service.metadata?.labels ?? {};
  return labels[ROLE_LABEL] === 'canary' && labels[MANAGED_BY_LABEL] === MANAGED_BY;
}

interface EndpointSlice extends KubernetesObject {
  endpoints?: { conditions?: { ready?: boolean } }[];
}

export class GatewayApiRouter implements TrafficRouter {
  constructor(private readonly options: GatewayApiRouterOptions) {}

  async observe(target: CanaryTarget): Promise<TrafficState> {
    const backends = this.backendsOf(target);
    const [canary, service, route] = await Promise.all([
      this.readCanary(target),
      this.readCanaryService(target, backends.canaryService),
      this.readRoute(target),
    ]);
    // a canary whose deletion is under way is sent nothing (removeCanary deletes only after the
    // gateway took the clean route and the drain passed): its pods ending is the cluster's work,
    // not a step of the rollout, so the rollout may end without waiting for their preStop hooks
    const workloadLive = live(canary) || live(service);
    if (!route) {
      // a route that is gone sends the canary nothing: a rollback can end
      return {
        canaryPresent: workloadLive,
        weight: 0,
        actualPercent: 0,
        detail: `the HTTPRoute ${this.options.routing.httpRoute} does not exist: nothing is routed to the canary`,
      };
    }
    const traffic = routeTraffic(route, backends);
    // whoever deleted its objects (the canary itself, given the rights), a canary the route still
    // names is not removed: the rollout ends only once the route is the user's again
    const canaryPresent = workloadLive || !traffic.clean;
    if (traffic.weight === undefined) {
      return { canaryPresent, detail: `the HTTPRoute ${route.metadata.name} is between two weights` };
    }
    const seen = { canaryPresent, actualPercent: traffic.weight };
    const took = gatewayTook(route);
    if (!took.took) return { ...seen, detail: `waiting for the gateway: ${took.why}`, settling: true };
    // a canary that just became ready gets its route written in this visit; the gateway's answer
    // to it is then worth looking for soon
    const ready = canaryReadyFor(canary, target.revision.name);
    if (traffic.weight === 0) {
      return traffic.smoke
        ? { ...seen, detail: 'only requests with the smoke-test header reach the canary', settling: ready }
        : { ...seen, weight: 0, detail: 'the HTTPRoute sends the canary nothing', settling: ready };
    }
    if (!ready) {
      return { ...seen, detail: `the canary Deployment is not ready with ${target.revision.name}` };
    }
    return {
      ...seen,
      weight: traffic.weight,
      detail: `the HTTPRoute ${route.metadata.name} sends ${traffic.weight}% to ${backends.canaryService}${traffic.smoke ? ' (and every request with the smoke-test header)' : ''}`,
    };
  }

  async setWeight(target: CanaryTarget, weight: number): Promise<void> {
    const backends = this.backendsOf(target);
    const route = await this.readRoute(target);
    if (!route) {
      if (weight <= 0) return;
      throw new WeightUnreachableError(
        `the HTTPRoute ${target.namespace}/${this.options.routing.httpRoute} does not exist`,
      );
    }
    const traffic = routeTraffic(route, backends);
    if (weight <= 0) {
      if (traffic.clean || (traffic.weight === 0 && !traffic.smoke)) return;
      await this.writeRoute(withCanary(route, backends, 0));
      return;
    }
    const stable = await this.options.clients.apps.readNamespacedDeployment({
      name: target.deployment,
      namespace: target.namespace,
    });
    const stableService = await this.options.clients.core.readNamespacedService({
      name: backends.service,
      namespace: target.namespace,
    });
    const previous = await this.readCanary(target);
    const previousService = await this.readCanaryService(target, backends.canaryService);
    // the last canary still on its way out: an apply now would land on an object about to vanish
    if (previous?.metadata?.deletionTimestamp || previousService?.metadata?.deletionTimestamp) return;
    const replicas = canaryReplicasFor(stable.spec?.replicas ?? 1, weight);
    const apartFrom = stableService.spec?.selector ?? {};
    // the Deployment as stored, status included: nothing is sent to the canary before all its
    // pods serve and are listed behind its Service
    const canary = await serverSideApply(
      this.options.clients.objects,
      canaryDeployment(stable, target, replicas, weight, { apartFrom }),
    );
    await serverSideApply(
      this.options.clients.objects,
      canaryServiceOf(stableService, target, backends.canaryService),
    );
    if (!canaryReadyFor(canary, target.revision.name)) return;
    if ((await this.readyEndpoints(target.namespace, backends.canaryService)) < replicas) return;
    const header = this.options.routing.header;
    if (header && !traffic.smoke) {
      await this.writeRoute(withCanary(route, backends, traffic.weight ?? 0, header));
      return;
    }
    if (header && !gatewayTook(route).took) return;
    if (traffic.weight !== weight) await this.writeRoute(withCanary(route, backends, weight, header));
  }

  async removeCanary(target: CanaryTarget): Promise<void> {
    const backends = this.backendsOf(target);
    const route = await this.readRoute(target);
    const service = await this.readCanaryService(target, backends.canaryService);
    if (route && !routeTraffic(route, backends).clean) {
      await this.writeRoute(withoutCanary(route, backends));
      return;
    }
    if (route && !gatewayTook(route).took) return;
    if (service) {
      const unrouted = service.metadata?.annotations?.[UNROUTED_ANNOTATION];
      if (!unrouted) {
        await this.options.clients.core.patchNamespacedService(
          {
            name: backends.canaryService,
            namespace: target.namespace,
            body: { metadata: { annotations: { [UNROUTED_ANNOTATION]: this.now().toISOString() } } },
          },
          mergePatch(),
        );
        return;
      }
      const drainMs = this.options.drainMs ?? DEFAULT_DRAIN_MS;
      if (this.now().getTime() - Date.parse(unrouted) < drainMs) return;
    }
    const canary = await this.readCanary(target);
    if (canary && !canary.metadata?.deletionTimestamp) {
      await this.deleteIgnoringMissing(() =>
        this.options.clients.apps.deleteNamespacedDeployment({
          name: canaryName(target.deployment),
          namespace: target.namespace,
          propagationPolicy: 'Foreground',
        }),
      );
    }
    if (service && !service.metadata?.deletionTimestamp) {
      await this.deleteIgnoringMissing(() =>
        this.options.clients.core.deleteNamespacedService({
          name: backends.canaryService,
          namespace: target.namespace,
        }),
      );
    }
  }

  async release(target: ReleasedTarget, owner: string): Promise<void> {
    const backends = this.backendsOf(target);
    const service = await this.readService(target.namespace, backends.canaryService);
    const serviceOurs =
      service !== undefined && isOperatorService(service) && ownedBy(service.metadata, owner);
    if (serviceOurs) {
      const route = await this.readRoute(target);
      if (route && !routeTraffic(route, backends).clean)
        await this.writeRoute(withoutCanary(route, backends), { conflicts: 'throw' });
      await this.deleteIgnoringMissing(() =>
        this.options.clients.core.deleteNamespacedService({
          name: backends.canaryService,
          namespace: target.namespace,
        }),
      );
    }
    await deleteOwnedCanary(this.options.clients.apps, target.namespace, target.deployment, owner);
  }

  async check(target: CanaryTarget, _weights: readonly number[]): Promise<string[]> {
    if (!target.service) {
      return [
        'the Gateway API router needs spec.target.service, the Service its HTTPRoute sends stable traffic to',
      ];
    }
    const backends = this.backendsOf(target);
    const problems: string[] = [];
    const stableService = await this.readService(target.namespace, backends.service);
    if (!stableService) problems.push(`the Service ${target.namespace}/${backends.service} does not exist`);
    else if (Object.keys(stableService.spec?.selector ?? {}).length === 0) {
      problems.push(
        `the Service ${backends.service} selects no pods by label; the canary cannot run apart from it`,
      );
    }
    const route = await this.readRoute(target);
    if (!route) {
      problems.push(`the HTTPRoute ${target.namespace}/${this.options.routing.httpRoute} does not exist`);
    } else {
      problems.push(...routeProblems(route, backends, this.options.routing.header));
    }
    const stable = await this.options.clients.apps.readNamespacedDeployment({
      name: target.deployment,
      namespace: target.namespace,
    });
    try {
      canaryDeployment(stable, target, 1, 0, { apartFrom: stableService?.spec?.selector ?? {} });
    } catch (error) {
      problems.push((error as Error).message);
    }
    try {
      await this.readCanaryService(target, backends.canaryService);
    } catch (error) {
      if (!(error instanceof ForeignCanaryError)) throw error;
      problems.push(error.message);
    }
    return problems;
  }

  // -------------------------------------------------------------------------------------------

  private backendsOf(target: ReleasedTarget): RouteBackends {
    const service = target.service ?? target.deployment;
    return { service, canaryService: canaryName(service) };
  }

  private async readRoute(target: ReleasedTarget): Promise<HttpRoute | undefined> {
    try {
      return (await this.options.clients.custom.getNamespacedCustomObject({
        group: HTTP_ROUTE.group,
        version: HTTP_ROUTE.version,
        plural: HTTP_ROUTE.plural,
        namespace: target.namespace,
        name: this.options.routing.httpRoute,
      })) as HttpRoute;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the route as read (its resourceVersion guards it). A concurrent change is retried on
   * the next visit, or thrown when there is none (a release), so the caller's retry comes back.
   */
  private async writeRoute(route: HttpRoute, options: { conflicts?: 'retry' | 'throw' } = {}): Promise<void> {
    try {
      await this.options.clients.custom.replaceNamespacedCustomObject({
        group: HTTP_ROUTE.group,
        version: HTTP_ROUTE.version,
        plural: HTTP_ROUTE.plural,
        namespace: route.metadata.namespace ?? '',
        name: route.metadata.name ?? '',
        body: route,
        fieldManager: FIELD_MANAGER,
      });
    } catch (error) {
      if (statusCodeOf(error) !== 409 || options.conflicts === 'throw') throw error;
    }
  }

  /** The canary Deployment, undefined when absent; throws ForeignCanaryError for one we did not make. */
  private readCanary(target: CanaryTarget): Promise<V1Deployment | undefined> {
    return readOperatorCanary(this.options.clients.apps, target.namespace, target.deployment);
  }

  /** The canary Service, undefined when absent; throws ForeignCanaryError for one we did not make. */
  private async readCanaryService(target: CanaryTarget, name: string): Promise<V1Service | undefined> {
    const service = await this.readService(target.namespace, name);
    if (service && !isOperatorService(service)) {
      throw new ForeignCanaryError(
        `a Service ${target.namespace}/${name} exists and is not a canary Service of this operator; rename it or delete it`,
      );
    }
    return service;
  }

  private async readService(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
      return await this.options.clients.core.readNamespacedService({ name, namespace });
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Ready endpoints behind the Service `name`, over all its EndpointSlices. */
  private async readyEndpoints(namespace: string, name: string): Promise<number> {
    const slices = await this.options.clients.objects.list<EndpointSlice>(
      'discovery.k8s.io/v1',
      'EndpointSlice',
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      `kubernetes.io/service-name=${name}`,
    );
    return slices.items
      .flatMap((slice) => slice.endpoints ?? [])
      .filter((endpoint) => endpoint.conditions?.ready !== false).length;
  }

  private async deleteIgnoringMissing(remove: () => Promise<unknown>): Promise<void> {
    try {
      await remove();
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}

function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}
