// A small client of the OCI distribution API (the registry HTTP API Docker and containerd use):
// manifests, blobs, monolithic and chunked uploads, and the two ways registries ask for
// credentials (a Bearer token from a token service, or Basic). No daemon, no helper binary.
//
// The pure parts (image references, which scheme a registry is spoken to with, auth challenges,
// docker config Secrets, picking a platform from an index) are exported for unit tests.
import { createHash } from 'node:crypto';
import { load } from 'js-yaml';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** What GET and HEAD of a manifest accept: single-platform manifests and indexes of both families. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerList,
].join(', ');

/** The failures a caller branches on; the message is for a person and holds no credential. */
export type RegistryErrorCode =
  /** Connection refused, DNS, TLS or a timeout: the registry did not answer. */
  | 'RegistryUnreachable'
  /** The registry wants credentials that were not given or were refused. */
  | 'Unauthorized'
  /** The credentials were accepted but may not do this (push to a read-only repository). */
  | 'Denied'
  /** No such manifest (tag or digest) or repository. */
  | 'ManifestUnknown'
  /** No such blob. */
  | 'BlobUnknown'
  /** The registry refused an object as too large. */
  | 'TooLarge'
  /** A manifest kind this client does not handle (Docker schema 1, an unknown media type). */
  | 'Unsupported'
  /** What the registry returned does not hash to the digest it was asked for or announced. */
  | 'DigestMismatch'
  /** Any other refusal or malformed answer. */
  | 'RegistryFailed';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `error` is a registry failure, optionally of the given code. */
export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

export interface ImageReference {
  /** Registry host as written (`localhost:5001`, `ghcr.io`); `docker.io` when the name has none. */
  registry: string;
  /** Repository path (`team/app`; `library/nginx` for Docker Hub's official images). */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` when the reference pins one. */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Splits an image name as Kubernetes and Docker read it; throws RegistryError('Unsupported') on anything else. */
export function parseImageReference(text: string): ImageReference {
  const bad = (why: string) => new RegistryError('Unsupported', `not an image reference (${why}): ${text}`);
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('only sha256 digests are supported');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('invalid tag');
  }
  const first = rest.split('/')[0] ?? '';
  const hasRegistry =
    rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : DOCKER_HUB;
  let repository = hasRegistry ? rest.slice(first.length + 1) : rest;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPOSITORY.test(repository)) throw bad('invalid repository');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `<registry>/<repository>@<digest>`, the pinned form kubelets and rollout tools reproduce exactly. */
export function pinnedReference(
  ref: Pick<ImageReference, 'registry' | 'repository'>,
  digest: string,
): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}

// ---------------------------------------------------------------------------------------------
// Where a registry is reached
// ---------------------------------------------------------------------------------------------

export interface EndpointOptions {
  /**
   * Base URL by registry host, for a registry the operator reaches under another address than
   * the kubelet (a kind or harness registry is `localhost:5001` to the node, `<node IP>:5001`
   * to a pod). The scheme of the URL is used as given.
   */
  endpoints?: Readonly<Record<string, string>>;
  /** Registry hosts spoken to over plain HTTP, besides loopback ones. */
  insecure?: readonly string[];
}

/** The base URL (no trailing slash) for `registry`: plain HTTP for loopback and listed hosts, HTTPS otherwise. */
export function registryBaseUrl(registry: string, options: EndpointOptions = {}): string {
  const mapped = options.endpoints?.[registry];
  if (mapped) return mapped.replace(/\/+$/, '');
  if (registry === DOCKER_HUB) return 'https://registry-1.docker.io';
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback =
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
  const plain = loopback || (options.insecure ?? []).includes(registry);
  return `${plain ? 'http' : 'https'}://${registry}`;
}

/**
 * The endpoint map a cluster's local registry implies, from the `localRegistryHosting.v1` value
 * of the `kube-public/local-registry-hosting` ConfigMap (KEP-1755, written by kind's recipe and by
 * this project's harness): `host` as image names spell it, reached from pods at
 * `hostFromClusterNetwork` over plain HTTP. Empty when the text names no such pair; throws
 * RegistryError('Unsupported') when it is not YAML.
 */
export function endpointsFromLocalRegistryHosting(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = load(text);
  } catch {
    throw new RegistryError('Unsupported', 'localRegistryHosting.v1 is not YAML');
  }
  if (!isObject(parsed)) return {};
  const host = typeof parsed.host === 'string' ? parsed.host.trim() : '';
  const inCluster =
    typeof parsed.hostFromClusterNetwork === 'string' ? parsed.hostFromClusterNetwork.trim() : '';
  if (!host || !inCluster || host === inCluster) return {};
  return { [host]: /^https?:\/\//.test(inCluster) ? inCluster : `http://${inCluster}` };
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

export type RegistryCredentials =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (`identitytoken` of `docker login` with some registries). */
  | { kind: 'identityToken'; token: string; username?: string }
  /** A ready bearer token (`registrytoken`), sent as is. */
  | { kind: 'bearer'; token: string };

/** The registry a docker config key names: `https://index.docker.io/v1/` and bare hosts alike. */
export function normalizeRegistryKey(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/**
 * The credentials a docker config (`.dockerconfigjson` with `auths`, or legacy `.dockercfg`)
 * holds for `registry`, or undefined when it has none. Throws RegistryError('Unauthorized') when
 * the text is not JSON or the entry is malformed; the message never holds a value of it.
 */
export function credentialsFromDockerConfig(text: string, registry: string): RegistryCredentials | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RegistryError('Unauthorized', 'the docker config Secret does not hold JSON');
  }
  if (!isObject(parsed)) throw new RegistryError('Unauthorized', 'the docker config Secret is not an object');
  const auths = isObject(parsed.auths) ? parsed.auths : parsed;
  const wanted = normalizeRegistryKey(registry);
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeRegistryKey(key) !== wanted || !isObject(entry)) continue;
    return entryCredentials(entry, key);
  }
  return undefined;
}

function entryCredentials(entry: Record<string, unknown>, key: string): RegistryCredentials {
  const text = (name: string) => (typeof entry[name] === 'string' ? (entry[name] as string) : '');
  if (text('registrytoken')) return { kind: 'bearer', token: text('registrytoken') };
  let username = text('username');
  let password = text('password');
  if (text('auth')) {
    const decoded = Buffer.from(text('auth'), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new RegistryError(
        'Unauthorized',
        `the docker config entry for ${key} has an 'auth' without 'user:password'`,
      );
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (text('identitytoken')) {
    return { kind: 'identityToken', token: text('identitytoken'), ...(username ? { username } : {}) };
  }
  if (!username || !password) {
    throw new RegistryError(
      'Unauthorized',
      `the docker config entry for ${key} has neither 'auth' nor 'username' and 'password'`,
    );
  }
  return { kind: 'basic', username, password };
}

export interface AuthChallenge {
  scheme: string;
  /** Parameters by lower-case name (`realm`, `service`, `scope`). */
  params: Record<string, string>;
}

/** The first challenge of a `WWW-Authenticate` header, or undefined when there is none. */
export function parseAuthChallenge(header: string | null | undefined): AuthChallenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header ?? '');
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const text = match[2] ?? '';
  let part: RegExpExecArray | null;
  while ((part = pattern.exec(text)) !== null && part[0] !== '') {
    params[part[1]!.toLowerCase()] =
      part[2] !== undefined ? part[2].replace(/\\(.)/g, '$1') : (part[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A single-platform image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** An OCI index or a Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** `sha256:<hex>` of `data`. */
export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The platform of this process, as an index names it (`linux`/`amd64`, `linux`/`arm64`/`v8`). */
export function currentPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const architecture = arch[process.arch] ?? process.arch;
  return { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) };
}

/** What kind of manifest `bytes` is: the media type named by the registry or, failing that, by its shape. */
export function manifestKind(mediaType: string, json: unknown): 'index' | 'image' {
  const type =
    mediaType.split(';')[0]!.trim() ||
    (isObject(json) && typeof json.mediaType === 'string' ? json.mediaType : '');
  if (type === MEDIA_TYPES.ociIndex || type === MEDIA_TYPES.dockerList) return 'index';
  if (type === MEDIA_TYPES.ociManifest || type === MEDIA_TYPES.dockerManifest) return 'image';
  if (type === '' || type === 'application/json') {
    if (isObject(json) && Array.isArray(json.manifests)) return 'index';
    if (isObject(json) && isObject(json.config) && Array.isArray(json.layers)) return 'image';
  }
  throw new RegistryError(
    'Unsupported',
    `unsupported manifest media type '${type || 'none'}' (Docker schema 1 is not supported)`,
  );
}

/**
 * The entry of `index` for `platform` (variant compared only when both name one); attestation
 * entries (`unknown/unknown`) are never picked. Throws ManifestUnknown listing what the index has.
 */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor {
  const entries = index.manifests.filter((m) => m.platform && m.platform.os !== 'unknown');
  const same = entries.filter(
    (m) => m.platform!.os === platform.os && m.platform!.architecture === platform.architecture,
  );
  const exact = same.find(
    (m) => !platform.variant || !m.platform!.variant || m.platform!.variant === platform.variant,
  );
  if (exact) return exact;
  const offered = entries.map((m) => platformName(m.platform!)).join(', ') || 'no platforms';
  throw new RegistryError(
    'ManifestUnknown',
    `the image index has no manifest for ${platformName(platform)} (it has ${offered})`,
  );
}

function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export interface RegistryClientOptions {
  /** Registry host as image names spell it (`localhost:5001`). */
  registry: string;
  /** Base URL to reach it; registryBaseUrl(registry) when absent. */
  baseUrl?: string;
  credentials?: RegistryCredentials;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size; default 8 MiB. */
  chunkSize?: number;
  /** Replaces the global fetch (to observe or count requests). */
  fetch?: typeof fetch;
}

type Action = 'pull' | 'pull,push';

interface RequestOptions {
  repository: string;
  action: Action;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Status codes that are answers, not failures. */
  ok: readonly number[];
  /** What a 404 means. */
  notFound?: RegistryErrorCode;
}

const MANIFEST_MAX = 4 * 1024 * 1024;

export class OciRegistry {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly chunkSize: number;
  private readonly fetchImpl: typeof fetch;
  /** Bearer tokens by scope; a Basic challenge is remembered as the scope `*`. */
  private readonly tokens = new Map<string, string>();
  private basic = false;

  constructor(private readonly options: RegistryClientOptions) {
    this.baseUrl = (options.baseUrl ?? registryBaseUrl(options.registry)).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.chunkSize = Math.max(1, options.chunkSize ?? 8 * 1024 * 1024);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The manifest `reference` (tag or digest) names, verified against its digest; throws ManifestUnknown when absent. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await this.request('GET', this.path(repository, 'manifests', reference), {
      repository,
      action: 'pull',
      headers: { Accept: MANIFEST_ACCEPT },
      ok: [200],
      notFound: 'ManifestUnknown',
    });
    const bytes = await readLimited(response, MANIFEST_MAX, `manifest ${repository}:${reference}`);
    const digest = sha256Digest(bytes);
    const announced = response.headers.get('docker-content-digest');
    const expected = reference.startsWith('sha256:')
      ? reference
      : announced?.startsWith('sha256:')
        ? announced
        : undefined;
    if (expected && expected !== digest) {
      throw new RegistryError('DigestMismatch', `manifest ${repository}@${expected} hashes to ${digest}`);
    }
    return { digest, mediaType: response.headers.get('content-type') ?? '', bytes };
  }

  /** The digest and media type of the manifest `reference` names, or undefined when there is none. */
  async headManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string } | undefined> {
    const response = await this.request('HEAD', this.path(repository, 'manifests', reference), {
      repository,
      action: 'pull',
      headers: { Accept: MANIFEST_ACCEPT },
      ok: [200, 404],
    });
    if (response.status === 404) return undefined;
    const digest = response.headers.get('docker-content-digest');
    if (!digest) {
      // Some registries leave the header out of HEAD answers: the body tells.
      return {
        digest: (await this.getManifest(repository, reference)).digest,
        mediaType: response.headers.get('content-type') ?? '',
      };
    }
    return { digest, mediaType: response.headers.get('content-type') ?? '' };
  }

  /** Whether the repository has the blob. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request('HEAD', this.path(repository, 'blobs', digest), {
      repository,
      action: 'pull',
      ok: [200, 404],
    });
    return response.status === 200;
  }

  /** The blob, verified against its digest; throws BlobUnknown when absent, TooLarge above `maxBytes`. */
  async getBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const response = await this.request('GET', this.path(repository, 'blobs', digest), {
      repository,
      action: 'pull',
      ok: [200],
      notFound: 'BlobUnknown',
    });
    const bytes = await readLimited(response, maxBytes, `blob ${digest}`);
    if (sha256Digest(bytes) !== digest) {
      throw new RegistryError(
        'DigestMismatch',
        `blob ${digest} of ${repository} hashes to ${sha256Digest(bytes)}`,
      );
    }
    return bytes;
  }

  /**
   * Uploads `data` unless the repository has it already (HEAD first): one POST and one PUT, or
   * PATCH chunks when it is larger than the chunk size. Returns its digest and whether bytes were sent.
   */
  async pushBlob(repository: string, data: Uint8Array): Promise<{ digest: string; uploaded: boolean }> {
    const digest = sha256Digest(data);
    if (await this.hasBlob(repository, digest)) return { digest, uploaded: false };
    const started = await this.request('POST', `${this.path(repository, 'blobs', 'uploads')}/`, {
      repository,
      action: 'pull,push',
      headers: { 'Content-Length': '0' },
      ok: [202],
    });
    let location = this.location(started);
    const minChunk = Number(started.headers.get('oci-chunk-min-length') ?? 0);
    const chunk = Math.max(this.chunkSize, Number.isFinite(minChunk) ? minChunk : 0);
    let body: Uint8Array | undefined = data;
    if (data.length > chunk) {
      for (let start = 0; start < data.length; start += chunk) {
        const part = data.subarray(start, Math.min(start + chunk, data.length));
        const patched = await this.request('PATCH', location, {
          repository,
          action: 'pull,push',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Range': `${start}-${start + part.length - 1}`,
            'Content-Length': String(part.length),
          },
          body: part,
          ok: [202],
        });
        location = this.location(patched);
      }
      body = undefined;
    }
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    await this.request('PUT', url.toString(), {
      repository,
      action: 'pull,push',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body?.length ?? 0),
      },
      ...(body ? { body } : {}),
      ok: [201],
    });
    return { digest, uploaded: true };
  }

  /** Stores a manifest under `reference` (a tag or its digest); returns its digest, checked against the registry's. */
  async putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Uint8Array,
  ): Promise<string> {
    const digest = sha256Digest(bytes);
    const response = await this.request('PUT', this.path(repository, 'manifests', reference), {
      repository,
      action: 'pull,push',
      headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
      body: bytes,
      ok: [201],
    });
    const stored = response.headers.get('docker-content-digest');
    if (stored && stored !== digest) {
      throw new RegistryError(
        'DigestMismatch',
        `the registry stored the manifest as ${stored}, not ${digest}`,
      );
    }
    return digest;
  }

  private path(repository: string, kind: 'manifests' | 'blobs', reference: string): string {
    return `${this.baseUrl}/v2/${repository}/${kind}/${reference}`;
  }

  private location(response: Response): string {
    const location = response.headers.get('location');
    if (!location)
      throw new RegistryError('RegistryFailed', 'the registry started an upload without a Location');
    return new URL(location, `${this.baseUrl}/`).toString();
  }

  private async request(method: string, url: string, options: RequestOptions): Promise<Response> {
    let response = await this.send(method, url, options);
    if (response.status === 401) {
      await drain(response);
      await this.authenticate(response.headers.get('www-authenticate'), options);
      response = await this.send(method, url, options);
      if (response.status === 401) {
        await drain(response);
        throw new RegistryError(
          'Unauthorized',
          `${this.options.registry} refused the credentials for ${options.repository} (${options.action})`,
        );
      }
    }
    if (options.ok.includes(response.status)) return response;
    const detail = await errorDetail(response);
    const what = `${method} ${new URL(url).pathname}`;
    if (response.status === 404) {
      throw new RegistryError(
        options.notFound ?? 'RegistryFailed',
        `${this.options.registry}: ${what}: not found${detail}`,
      );
    }
    if (response.status === 403)
      throw new RegistryError('Denied', `${this.options.registry}: ${what}: denied${detail}`);
    if (response.status === 413)
      throw new RegistryError('TooLarge', `${this.options.registry}: ${what}: too large${detail}`);
    throw new RegistryError(
      'RegistryFailed',
      `${this.options.registry}: ${what}: HTTP ${response.status}${detail}`,
    );
  }

  private async send(method: string, url: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    const authorization = this.authorization(options);
    if (authorization) headers.Authorization = authorization;
    try {
      return await this.fetchImpl(url, {
        method,
        headers,
        ...(options.body ? { body: options.body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new RegistryError(
        'RegistryUnreachable',
        `cannot reach ${this.options.registry} at ${this.baseUrl}: ${causeOf(error)}`,
      );
    }
  }

  private authorization(options: RequestOptions): string | undefined {
    const credentials = this.options.credentials;
    if (this.basic && credentials?.kind === 'basic') {
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const token =
      this.tokens.get(scopeOf(options.repository, 'pull,push')) ??
      (options.action === 'pull' ? this.tokens.get(scopeOf(options.repository, 'pull')) : undefined);
    if (token) return `Bearer ${token}`;
    if (credentials?.kind === 'bearer') return `Bearer ${credentials.token}`;
    return undefined;
  }

  private async authenticate(header: string | null, options: RequestOptions): Promise<void> {
    const challenge = parseAuthChallenge(header);
    const credentials = this.options.credentials;
    if (challenge?.scheme === 'basic') {
      if (credentials?.kind !== 'basic') {
        throw new RegistryError(
          'Unauthorized',
          `${this.options.registry} asks for a user name and password, and none were given`,
        );
      }
      this.basic = true;
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError(
        'Unauthorized',
        `${this.options.registry} asks for credentials in a way this client does not speak (${challenge?.scheme ?? 'no challenge'})`,
      );
    }
    const scope = scopeOf(options.repository, options.action);
    this.tokens.set(scope, await this.fetchToken(challenge.params, scope));
  }

  private async fetchToken(params: Record<string, string>, scope: string): Promise<string> {
    const credentials = this.options.credentials;
    const realm = new URL(params.realm!);
    let response: Response;
    try {
      if (credentials?.kind === 'identityToken') {
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: credentials.token,
          client_id: 'hyperagent-operator',
          scope,
          ...(params.service ? { service: params.service } : {}),
        });
        response = await this.fetchImpl(realm, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } else {
        if (params.service) realm.searchParams.set('service', params.service);
        realm.searchParams.set('scope', scope);
        const headers: Record<string, string> = {};
        if (credentials?.kind === 'basic') {
          headers.Authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
        }
        response = await this.fetchImpl(realm, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      }
    } catch (error) {
      throw new RegistryError(
        'RegistryUnreachable',
        `cannot reach the token service ${realm.origin}${realm.pathname}: ${causeOf(error)}`,
      );
    }
    if (!response.ok) {
      await drain(response);
      throw new RegistryError(
        'Unauthorized',
        `the token service of ${this.options.registry} refused ${credentials ? 'the credentials' : 'anonymous access'} for ${scope} (HTTP ${response.status})`,
      );
    }
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(
        'Unauthorized',
        `the token service of ${this.options.registry} answered without a token`,
      );
    }
    return token;
  }
}

function scopeOf(repository: string, action: Action): string {
  return `repository:${repository}:${action}`;
}

async function readLimited(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length > maxBytes) {
    await drain(response);
    throw new RegistryError('TooLarge', `${what} is ${length} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > maxBytes)
        throw new RegistryError('TooLarge', `${what} is more than the ${maxBytes} bytes allowed`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

/** The registry's own error codes and messages, as ` (CODE: message)`, or nothing. */
async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const errors = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': '));
    if (errors.length > 0) return ` (${errors.join('; ').slice(0, 500)})`;
  } catch {
    // not JSON
  }
  return text.trim() ? ` (${text.trim().slice(0, 200)})` : '';
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
