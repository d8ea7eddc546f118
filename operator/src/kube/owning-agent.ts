// The HyperAgent a cycle belongs to, read fresh from the API server (not the cache): phases that
// read its status (the archive, say) must see what earlier cycles wrote.
import { HYPERAGENTS, type HyperAgent } from '../api/resources.js';
import type { KubeClients } from './clients.js';
import type { CycleContext } from '../cycle/ports.js';

/** Reads the cycle's agent; API errors (404 when the agent is gone) propagate to the caller. */
export async function readOwningAgent(clients: KubeClients, cycle: CycleContext): Promise<HyperAgent> {
  return (await clients.custom.getNamespacedCustomObject({
    group: HYPERAGENTS.group,
    version: HYPERAGENTS.version,
    plural: HYPERAGENTS.plural,
    namespace: cycle.namespace,
    name: cycle.spec.agent,
  })) as HyperAgent;
}
