// What the isolation proof must fail to reach besides the cluster's own services: the agent's own
// endpoints (its git host, its Prometheus, the registries of its images) and the nodes' addresses.
// Pure: which host and port each target is; kube-sandbox turns hosts into addresses.

export interface ProbeTarget {
  /** Shown in the result when reached: `git-host`, `prometheus`, `registry`. */
  name: string;
  host: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { 'https:': 443, 'http:': 80, 'ssh:': 22, 'git:': 9418 };

/** Host and port of a URL (`https://git.example.com/a.git`), or of scp-like git (`git@host:a.git`). */
export function urlTarget(name: string, address: string): ProbeTarget | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(?!\/\/)/.exec(address);
  if (scp?.[1]) return { name, host: scp[1], port: 22 };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host && port ? { name, host, port } : undefined;
}

/**
 * The registry of an image reference (`localhost:5001/quote:1`, `ghcr.io/a/b@sha256:…`): its host
 * and port (443 unless given); undefined for Docker Hub's short names, which name no host.
 */
export function registryTarget(name: string, image: string): ProbeTarget | undefined {
  const first = image.split('/')[0] ?? '';
  if (!image.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    return undefined;
  }
  const [host, port] = first.split(':') as [string, string | undefined];
  return { name, host, port: port ? Number(port) : 443 };
}

/** Whether `host` names the machine itself: from a pod that is the pod, so the node stands in. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

/**
 * The Service a cluster host name names (`name.namespace`, `name.namespace.svc`,
 * `name.namespace.svc.<cluster domain>`); undefined for anything else. A two-label name could
 * also be a public domain: the caller looks the Service up and falls back to DNS.
 */
export function serviceOf(host: string): { name: string; namespace: string } | undefined {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\..+)?)?$/.exec(host);
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], namespace: match[2] };
}

/**
 * A dual-stack Service's addresses: its clusterIPs (one per family), else its clusterIP; none for
 * a headless Service.
 */
export function serviceAddresses(spec: { clusterIP?: string; clusterIPs?: string[] } | undefined): string[] {
  const all = spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : [];
  return all.filter((address) => address !== 'None');
}

/** A node's internal addresses, at most one per family (a dual-stack node reports both). */
export function nodeInternalAddresses(
  addresses: readonly { type: string; address: string }[] = [],
): string[] {
  const internal = addresses.filter((address) => address.type === 'InternalIP').map((each) => each.address);
  return onePerFamily(internal);
}

/** The first address of each family, IPv4 first. */
export function onePerFamily(addresses: readonly string[]): string[] {
  const v4 = addresses.find((address) => !address.includes(':'));
  const v6 = addresses.find((address) => address.includes(':'));
  return [v4, v6].filter((address): address is string => address !== undefined);
}

/** Probe names are unique per address: the IPv6 one of a target is named `<name>-ipv6`. */
export function probeName(name: string, address: string): string {
  return address.includes(':') ? `${name}-ipv6` : name;
}
