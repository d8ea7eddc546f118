// Where the operator reaches the registries its image references name. An image the nodes pull as
// `localhost:5001/app` lives, for a pod, somewhere else (the node's address, kind's registry
// container): `--registry-endpoint` says where, or the cluster's `kube-public/local-registry-hosting`
// ConfigMap (KEP-1755, written by kind's local-registry recipe and by the test harness) does.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { endpointsFromLocalRegistryHosting } from '../build/oci-registry.js';
import { describeError, statusCodeOf } from '../kube/clients.js';

/** `host=url` → `{ host: url }`; throws on anything else, at start-up. */
export function parseRegistryEndpoint(text: string): Record<string, string> {
  const at = text.indexOf('=');
  const host = text.slice(0, at);
  const url = text.slice(at + 1);
  if (at <= 0 || !/^https?:\/\/[^/]+\/?$/.test(url)) {
    throw new Error(`--registry-endpoint wants host=http(s)://address, not ${text}`);
  }
  return { [host]: url.replace(/\/$/, '') };
}

/** The endpoints the local-registry-hosting ConfigMap implies; none when it is absent or unreadable. */
export async function localRegistryEndpoints(core: CoreV1Api, log: Logger): Promise<Record<string, string>> {
  try {
    const configMap = await core.readNamespacedConfigMap({
      name: 'local-registry-hosting',
      namespace: 'kube-public',
    });
    const hosting = configMap.data?.['localRegistryHosting.v1'];
    const endpoints = hosting ? endpointsFromLocalRegistryHosting(hosting) : {};
    if (Object.keys(endpoints).length > 0)
      log.info({ endpoints }, 'local registry endpoints from kube-public');
    return endpoints;
  } catch (error) {
    if (statusCodeOf(error) !== 404) {
      log.warn(
        { err: describeError(error) },
        'cannot read kube-public/local-registry-hosting; using image hosts as they are',
      );
    }
    return {};
  }
}
