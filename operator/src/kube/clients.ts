// API clients that count every request they make, so the operator can show (and the benchmark
// can prove) how little it talks to the API server when nothing changes.
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  CustomObjectsApi,
  ServerConfiguration,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

export type RequestObserver = (method: string, url: string) => void;

export interface KubeClients {
  kubeConfig: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** Any kind by apiVersion and kind: server-side apply of the sandbox's objects. */
  objects: KubernetesObjectApi;
}

/** Builds API clients on `kubeConfig` that report each request to `observe`. */
export function createKubeClients(kubeConfig: KubeConfig, observe: RequestObserver): KubeClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (context: RequestContext) => {
          observe(context.getHttpMethod(), context.getUrl());
          return context;
        },
        post: async (context: ResponseContext) => context,
      },
    ],
  });
  return {
    kubeConfig,
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    objects: new KubernetesObjectApi(configuration),
  };
}

/** The HTTP status of an API error, if it is one. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Short text for logs: the API server's message when there is one. */
export function describeError(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: fall through
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    return String((body as { message: unknown }).message);
  }
  return error instanceof Error ? error.message : String(error);
}

/** `name` as one JSON Pointer token (RFC 6901): an annotation key in a JSON patch path. */
export function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
