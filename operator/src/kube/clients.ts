// API clients that count every request they make, so the operator can show (and the benchmark
// can prove) how little it talks to the API server when nothing changes, and that keep their
// connections open between requests.
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  CustomObjectsApi,
  PatchStrategy,
  type Configuration,
  type KubernetesObject,
  ServerConfiguration,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

export type RequestObserver = (method: string, url: string) => void;

/** The field manager of everything the operator applies. */
export const FIELD_MANAGER = 'hyperagent-operator';

/**
 * Server-side apply of `object` by the operator, forcing conflicts (the fields it applies are its
 * own); returns the object as stored.
 */
export function serverSideApply<T extends KubernetesObject>(
  objects: KubernetesObjectApi,
  object: T,
): Promise<T> {
  return objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

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
  const configuration = kubeConfiguration(kubeConfig, observe);
  return {
    kubeConfig,
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    objects: new KubernetesObjectApi(configuration),
  };
}

/**
 * The configuration of generated API clients on `kubeConfig`: its server and credentials, each
 * request reported to `observe` when given, and connections kept open (`keptAlive`).
 */
export function kubeConfiguration(kubeConfig: KubeConfig, observe?: RequestObserver): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  // Requests are counted where credentials are applied, which every request passes: client-node
  // 1.3's generated APIs run a configuration's middleware only when a call passes middleware of
  // its own, so a counting middleware there never ran (the operator's count read 0 until then).
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: keptAlive(kubeConfig, observe) },
  });
}

/** The TLS settings of an agent that decide which connections it may share. */
const TLS_FIELDS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
] as const satisfies readonly (keyof AgentOptions)[];

/**
 * The kubeconfig's authentication, each request reported to `observe`, with one pool of kept-alive connections in place of the new
 * agent client-node builds for every request. Without it every API request opens a TCP connection
 * and a TLS handshake of its own: at 1,000 agents that was most of the operator's reconcile time
 * and its memory churn, and a load on the API server that client-go never puts on it. Credentials
 * are still read for each request (a rotated token takes effect at once); a change of TLS material
 * (a rotated client certificate) opens a new pool, and the one before closes once idle.
 */
export function keptAlive(kubeConfig: KubeConfig, observe?: RequestObserver): SecurityAuthentication {
  let pool: { key: string; agent: HttpAgent } | undefined;
  const shared = (fresh: HttpAgent): HttpAgent => {
    // proxy agents (socks, http(s) proxies) are used as client-node built them
    if (fresh.constructor !== HttpsAgent && fresh.constructor !== HttpAgent) return fresh;
    const options = (fresh as HttpsAgent).options;
    const hash = createHash('sha256').update(fresh.constructor.name);
    for (const field of TLS_FIELDS) hash.update(`|${field}=`).update(settingText(options[field]));
    const key = hash.digest('hex');
    if (pool?.key === key) return pool.agent;
    const tls = Object.fromEntries(TLS_FIELDS.map((field) => [field, options[field]]));
    const settings = {
      keepAlive: true,
      // a free connection closes before the API server's own idle timeout (90 s) can close it
      timeout: 30_000,
      maxSockets: 32,
      maxFreeSockets: 8,
    };
    const agent =
      fresh instanceof HttpsAgent ? new HttpsAgent({ ...tls, ...settings }) : new HttpAgent(settings);
    // the pool before is dropped: its requests in flight finish, its idle connections time out
    pool = { key, agent };
    return agent;
  };
  return {
    getName: () => 'kubeconfig authentication, kept-alive connections',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      observe?.(context.getHttpMethod(), context.getUrl());
      await kubeConfig.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (fresh) context.setAgent(shared(fresh));
    },
  };
}

function settingText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(settingText).join(',');
  return String(value);
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
