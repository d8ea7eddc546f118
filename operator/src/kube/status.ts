// Status writes that persist only a difference and survive concurrent writers.
//
// The first attempt uses the cached object (no extra GET); on 409 Conflict the object is read
// fresh and the new status recomputed from it, a few times with backoff.
import { isDeepStrictEqual } from 'node:util';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { ResourceInfo } from '../api/resources.js';
import { statusCodeOf } from './clients.js';

interface WithStatus<S> {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  status?: S;
}

/**
 * Writes `compute(obj)` as the status of `cached` when it differs from the stored one.
 * Returns the object as last written or read; a vanished object (404) returns undefined.
 */
export async function writeStatus<S, T extends WithStatus<S>>(
  api: CustomObjectsApi,
  resource: ResourceInfo,
  cached: T,
  compute: (current: T) => S,
  attempts = 5,
): Promise<T | undefined> {
  let current = cached;
  for (let attempt = 1; ; attempt++) {
    const next = compute(current);
    if (isDeepStrictEqual(stripUndefined(next), stripUndefined(current.status))) return current;
    try {
      return (await api.replaceNamespacedCustomObjectStatus({
        group: resource.group,
        version: resource.version,
        plural: resource.plural,
        namespace: current.metadata.namespace,
        name: current.metadata.name,
        body: { ...current, status: next },
      })) as T;
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404) return undefined;
      if (code !== 409 || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      try {
        current = (await api.getNamespacedCustomObject({
          group: resource.group,
          version: resource.version,
          plural: resource.plural,
          namespace: current.metadata.namespace,
          name: current.metadata.name,
        })) as T;
      } catch (readError) {
        if (statusCodeOf(readError) === 404) return undefined;
        throw readError;
      }
    }
  }
}

/** JSON round trip: the API server never stores undefined, so neither may the comparison. */
function stripUndefined(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
