// Which traffic router a canary runs through. spec.rollout.trafficRouting names one kind; this
// table builds its implementation from that kind's settings. A new router is one file that
// implements TrafficRouter, one line here, and its field under trafficRouting in api/schema.ts.
import type { HyperAgentSpec } from '../api/schema.js';
import type { KubeClients } from '../kube/clients.js';
import { failedOutcome, type FailedOutcome } from '../cycle/ports.js';
import { GatewayApiRouter, type GatewayRoutingSpec } from './gateway-api-router.js';
import { ReplicaRatioRouter } from './replica-ratio-router.js';
import type { TrafficRouter } from './traffic-router.js';

/** What a router is built from. */
export interface RouterDeps {
  clients: KubeClients;
}

/** Builds a router from its field under spec.rollout.trafficRouting (schema-valid). */
export type RouterFactory = (deps: RouterDeps, settings: unknown) => TrafficRouter;

/** The routers this operator ships, by their field under spec.rollout.trafficRouting. */
export const TRAFFIC_ROUTERS: Readonly<Record<string, RouterFactory>> = {
  replicaRatio: (deps) => new ReplicaRatioRouter({ clients: deps.clients }),
  gatewayAPI: (deps, settings) =>
    new GatewayApiRouter({ clients: deps.clients, routing: settings as GatewayRoutingSpec }),
};

type RoutingSpec = Pick<HyperAgentSpec['rollout'], 'trafficRouting'>;

/** The router kinds `rollout` names: the fields set under trafficRouting (replicaRatio when it is absent). */
export function routerKindsOf(rollout: RoutingSpec): string[] {
  if (!rollout.trafficRouting) return ['replicaRatio'];
  const routing = rollout.trafficRouting as Record<string, unknown>;
  return Object.keys(routing).filter((kind) => routing[kind] !== undefined);
}

/**
 * Builds routers by kind and settings, each once (a router may keep state between visits). A
 * kind this operator does not ship fails the cycle with UnknownTrafficRouter, naming the kinds it has.
 */
export class RouterChoice {
  private readonly built = new Map<string, TrafficRouter>();

  constructor(
    private readonly deps: RouterDeps,
    private readonly factories: Readonly<Record<string, RouterFactory>> = TRAFFIC_ROUTERS,
  ) {}

  routerFor(rollout: RoutingSpec): TrafficRouter | { failed: FailedOutcome } {
    const kinds = routerKindsOf(rollout);
    if (kinds.length !== 1) {
      const named = kinds.length === 0 ? 'no router' : kinds.join(' and ');
      return {
        failed: failedOutcome(
          'UnknownTrafficRouter',
          `spec.rollout.trafficRouting names ${named}; it must name exactly one.`,
        ),
      };
    }
    const kind = kinds[0]!;
    const settings = (rollout.trafficRouting as Record<string, unknown> | undefined)?.[kind] ?? {};
    const key = `${kind} ${JSON.stringify(settings)}`;
    const existing = this.built.get(key);
    if (existing) return existing;
    const factory = Object.hasOwn(this.factories, kind) ? this.factories[kind] : undefined;
    if (!factory) {
      const known = Object.keys(this.factories).join(', ');
      return {
        failed: failedOutcome(
          'UnknownTrafficRouter',
          `spec.rollout.trafficRouting names '${kind}', which this operator does not ship (it has: ${known}).`,
        ),
      };
    }
    const router = factory(this.deps, settings);
    this.built.set(key, router);
    return router;
  }
}
