// The `overlay` builder: the new image is the image the target container runs now plus one layer
// holding the files the selected commit changed, placed under the source path — for services
// that run their source (Node.js, Python, Ruby...), where that is the whole difference. It is
// pushed through the OCI distribution API to the repository of the current image, tagged with
// the cycle's name, and the cycle gets it pinned by digest.
//
// The layer holds the difference between the commit's tree and the commit the running image
// carries: the `io.hyperagents.source-commit` label this builder writes into every image it makes,
// or, for an image built elsewhere, `status.baseCommit`. An image that was itself an overlay is
// thus brought exactly to the new commit's files, including files an earlier overlay changed and
// the new commit restores. The commit's tree must be the tree the candidate was evaluated as
// (status `tree`), and its blobs are read by the same reader (git/tree-changes.ts) that made the
// changed-files bundle the sandbox evaluated: on an image carrying the base commit, the layer's
// files are that bundle's, byte for byte.
//
// Idempotent: the layer tar is reproducible, so a second visit finds the tag already naming an
// image whose filesystem is the base's plus this layer (its diff_ids say so) and returns it
// without uploading; blobs the repository has are never uploaded twice (HEAD first).
import type { ImprovementCycleSpec } from '../api/schema.js';
import type { KubeClients } from '../kube/clients.js';
import {
  failedOutcome,
  selectedCandidate,
  type BuildPort,
  type CycleContext,
  type WorkOutcome,
} from '../cycle/ports.js';
import { SourceUnavailableError, type SourceCheckouts } from '../git/source-checkout.js';
import { isGitLineageError } from '../git/errors.js';
import { readOptedInSecret } from '../kube/opted-in-secret.js';
import { commitChanges } from '../git/commit-changes.js';
import { readTarget } from '../kube/target.js';
import {
  assertLayerSize,
  compressLayer,
  layerEntries,
  layerRoot,
  LayerError,
  writeTar,
  type FileChange,
} from './layer.js';
import {
  credentialsFromDockerConfig,
  currentPlatform,
  isRegistryError,
  manifestKind,
  MEDIA_TYPES,
  OciRegistry,
  parseImageReference,
  pinnedReference,
  RegistryError,
  registryBaseUrl,
  selectPlatform,
  sha256Digest,
  type EndpointOptions,
  type ImageIndex,
  type ImageManifest,
  type ImageReference,
  type Platform,
  type RegistryCredentials,
  type RegistryErrorCode,
} from './oci-registry.js';

/** The label naming the commit whose files an overlay image carries at its source path. */
export const SOURCE_COMMIT_LABEL = 'io.hyperagents.source-commit';
/** The label naming the cycle (`namespace/name`) that built an overlay image. */
export const CYCLE_LABEL = 'io.hyperagents.cycle';

export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 * 1024;
/** overlayfs, and so Docker and containerd, stop at about 128 layers; stop before. */
export const DEFAULT_MAX_LAYERS = 120;
const CONFIG_MAX = 8 * 1024 * 1024;

export interface OverlayBuilderOptions {
  clients: Pick<KubeClients, 'apps' | 'core'>;
  /** The operator's clones of agents' repositories (the same the other phases use). */
  checkouts: SourceCheckouts;
  /** Other addresses for registries (a pod reaches a kind registry elsewhere) and plain-HTTP hosts. */
  registry?: EndpointOptions;
  /**
   * A `kubernetes.io/dockerconfigjson` Secret in the agent's namespace to push with; without it
   * (or without an entry for the registry there) the target pod template's imagePullSecrets are
   * tried, then anonymous access.
   */
  pushSecret?: string;
  /** Which manifest of an index is the base; the operator's own platform when absent. */
  platform?: Platform;
  /** Most bytes the changed files may hold; DEFAULT_MAX_LAYER_BYTES when absent. */
  maxLayerBytes?: number;
  /** Most layers the new image may have; DEFAULT_MAX_LAYERS when absent. */
  maxLayers?: number;
  /** Per registry request. */
  timeoutMs?: number;
  /** Upload chunk size; larger layers go in PATCH chunks. */
  chunkSize?: number;
  /** Replaces the global fetch for registry requests (tests count them). */
  fetch?: typeof fetch;
}

/** The image an overlay goes on: its single-platform manifest and config. */
export interface BaseImage {
  ref: ImageReference;
  /** Digest of the single-platform manifest (not of an index it was picked from). */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  config: Buffer;
}

/** What the new image says about itself. */
export interface OverlayInfo {
  /** RFC 3339; the commit time, so the same commit gives the same config. */
  created: string;
  createdBy: string;
  labels: Record<string, string>;
}

export interface OverlayImage {
  mediaType: string;
  manifest: Buffer;
  config: Buffer;
}

export class OverlayBuilder implements BuildPort {
  readonly type = 'overlay' as const;

  constructor(private readonly options: OverlayBuilderOptions) {}

  /**
   * Builds and pushes the overlay; succeeds with `status.image` = `<registry>/<repository>@<digest>`.
   * Fails with NothingSelected, NotACodeCandidate, NoCommit, OverlayNotApplicable,
   * TargetUnavailable, SourceUnavailable, CommitNotFound, TreeMismatch, NothingToBuild, UnsafePath,
   * UnsupportedMode, LayerTooLarge, TooManyLayers, UnsupportedImage, BaseImageNotFound,
   * RegistryUnreachable, RegistryAuthFailed or RegistryFailed, each with a message that says what.
   */
  async build(cycle: CycleContext): Promise<WorkOutcome> {
    const candidate = selectedCandidate(cycle);
    if ('failed' in candidate) return candidate.failed;
    if (candidate.kind !== 'code') {
      return failedOutcome(
        'NotACodeCandidate',
        `candidate ${candidate.id} is a ${candidate.kind} candidate; an overlay carries code changes`,
      );
    }
    const { commit, baseCommit } = cycle.status;
    if (!commit || !baseCommit) {
      return failedOutcome(
        'NoCommit',
        `status.${commit ? 'baseCommit' : 'commit'} is not set; the overlay is the difference between the two`,
      );
    }
    const target = await readTarget(this.options.clients.apps, cycle.namespace, cycle.spec.agentSpec.target);
    if ('failed' in target) return target.failed;
    const notApplicable = overlayApplicability(cycle.spec, target.image);
    if (notApplicable) return failedOutcome('OverlayNotApplicable', notApplicable);

    try {
      const ref = parseImageReference(target.image);
      const registry = await this.registryFor(cycle.namespace, ref, target.pullSecrets);
      const base = await resolveBaseImage(registry, ref, this.options.platform ?? currentPlatform());
      const maxLayers = this.options.maxLayers ?? DEFAULT_MAX_LAYERS;
      if (base.manifest.layers.length + 1 > maxLayers) {
        return failedOutcome(
          'TooManyLayers',
          `${target.image} already has ${base.manifest.layers.length} layers; another would pass the limit of ${maxLayers}. Rebuild the image from source (in CI, say) to start a fresh chain`,
        );
      }
      const carried = carriedCommit(base.config) ?? baseCommit;
      const source = await this.readChanges(cycle, carried, commit, candidate.tree);
      if (source.changes.length === 0) {
        return failedOutcome(
          'NothingToBuild',
          `commit ${short(commit)} has the same files as ${short(carried)}, which ${target.image} already carries`,
        );
      }
      const sourcePath = cycle.spec.agentSpec.sandbox.sourcePath;
      const entries = layerEntries(source.changes, layerRoot(sourcePath));
      assertLayerSize(entries, this.options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES);
      const tar = await writeTar(entries, source.committedAt);
      const tag = imageTag(cycle.name);
      const count = source.changes.length;
      const what = `${count} file${count === 1 ? '' : 's'} of commit ${short(commit)} (against ${short(carried)}) under ${sourcePath}`;

      const existing = await findExisting(registry, ref.repository, tag, base, tar.diffId);
      if (existing) {
        const image = pinnedReference(ref, existing);
        return {
          state: 'succeeded',
          message: `${image} (tag ${tag}) already holds ${what} on ${target.image}`,
          status: { image },
        };
      }
      const layer = compressLayer(tar);
      const made = overlayImage(base, layer, {
        created: new Date(source.committedAt * 1000).toISOString(),
        createdBy: `hyperagent-operator overlay: ${what}`,
        labels: { [SOURCE_COMMIT_LABEL]: commit, [CYCLE_LABEL]: `${cycle.namespace}/${cycle.name}` },
      });
      await registry.pushBlob(ref.repository, layer.gzip);
      await registry.pushBlob(ref.repository, made.config);
      const image = pinnedReference(
        ref,
        await registry.putManifest(ref.repository, tag, made.mediaType, made.manifest),
      );
      return {
        state: 'succeeded',
        message: `built ${image} (tag ${tag}): ${target.image} plus one layer (${layer.gzip.length} bytes gzipped) with ${what}`,
        status: { image },
      };
    } catch (error) {
      return outcomeOf(error);
    }
  }

  private async registryFor(
    namespace: string,
    ref: ImageReference,
    pullSecrets: readonly string[],
  ): Promise<OciRegistry> {
    const credentials = await this.credentialsFor(namespace, ref.registry, pullSecrets);
    return new OciRegistry({
      registry: ref.registry,
      baseUrl: registryBaseUrl(ref.registry, this.options.registry),
      ...(credentials ? { credentials } : {}),
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      ...(this.options.chunkSize ? { chunkSize: this.options.chunkSize } : {}),
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
  }

  private async readChanges(
    cycle: CycleContext,
    from: string,
    to: string,
    tree: string | undefined,
  ): Promise<{ changes: FileChange[]; committedAt: number }> {
    const spec = cycle.spec.agentSpec;
    return this.options.checkouts.withWorkspace(
      { namespace: cycle.namespace, agent: cycle.spec.agent, source: spec.source },
      async (ws) => {
        const maxBytes = this.options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
        try {
          return await commitChanges(ws, from, to, tree, maxBytes);
        } catch (error) {
          if (!isGitLineageError(error, 'ChangesTooLarge')) throw error;
          throw new LayerError(
            'LayerTooLarge',
            `the changed files hold more than the ${maxBytes} bytes an overlay layer may`,
          );
        }
      },
    );
  }

  private async credentialsFor(
    namespace: string,
    registry: string,
    pullSecrets: readonly string[],
  ): Promise<RegistryCredentials | undefined> {
    const names = [
      ...new Set([...(this.options.pushSecret ? [this.options.pushSecret] : []), ...pullSecrets]),
    ];
    for (const name of names) {
      const read = await readOptedInSecret(
        this.options.clients.core,
        { name, namespace },
        'registry',
        'registry Secret',
      );
      if ('problem' in read) {
        // A missing pull Secret does not stop the kubelet either; a missing push Secret is a mistake.
        if (name !== this.options.pushSecret && read.notFound) continue;
        throw new RegistryError('Unauthorized', read.problem);
      }
      const data = read.secret.data;
      const encoded = data?.['.dockerconfigjson'] ?? data?.['.dockercfg'];
      if (!encoded) continue;
      const credentials = credentialsFromDockerConfig(
        Buffer.from(encoded, 'base64').toString('utf8'),
        registry,
      );
      if (credentials) return credentials;
    }
    return undefined;
  }
}

/**
 * Why an overlay of the target image would not be what the sandbox evaluated, or undefined when
 * it would: the sandbox copies the source from `sandbox.sourceImage`, and an overlay adds files
 * to the running image, so the two must be the same image.
 */
export function overlayApplicability(spec: ImprovementCycleSpec, targetImage: string): string | undefined {
  const sourceImage = spec.agentSpec.sandbox.sourceImage;
  if (!sourceImage || sourceImage === targetImage) return undefined;
  return (
    `spec.sandbox.sourceImage (${sourceImage}) is not the image the service runs (${targetImage}): an overlay adds the ` +
    `changed files to the running image, so its source at ${spec.agentSpec.sandbox.sourcePath} must be what was evaluated. ` +
    `Unset sourceImage for a service that runs its source; a compiled service needs a builder that runs its build, which this operator does not ship yet`
  );
}

/** The image tag for a cycle: its name, or a prefix and a hash when longer than a tag may be. */
export function imageTag(cycle: string): string {
  const safe = cycle.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[.-]+/, '');
  if (safe.length > 0 && safe.length <= 128) return safe;
  const hash = sha256Digest(Buffer.from(cycle, 'utf8')).slice('sha256:'.length, 'sha256:'.length + 12);
  return `${safe.slice(0, 115) || 'cycle'}-${hash}`;
}

/** The commit the image's SOURCE_COMMIT_LABEL names, if it names a full one. */
export function carriedCommit(config: Buffer): string | undefined {
  const parsed = parseJson(config, 'image config') as { config?: { Labels?: Record<string, unknown> } };
  const value = parsed.config?.Labels?.[SOURCE_COMMIT_LABEL];
  return typeof value === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(value) ? value : undefined;
}

/**
 * The new manifest and config: the base's plus `layer` (its diff_id appended to rootfs.diff_ids,
 * a history entry, the labels), in the base's family (Docker schema 2 or OCI). Throws
 * RegistryError('Unsupported') when the base config and manifest disagree on the layers.
 */
export function overlayImage(
  base: Pick<BaseImage, 'ref' | 'digest' | 'mediaType' | 'manifest' | 'config'>,
  layer: { digest: string; diffId: string; gzip: { length: number } },
  info: OverlayInfo,
): OverlayImage {
  const docker = base.mediaType === MEDIA_TYPES.dockerManifest;
  const config = parseJson(base.config, 'image config') as Record<string, unknown> & {
    rootfs?: { type?: string; diff_ids?: unknown };
    history?: unknown;
    config?: Record<string, unknown> & { Labels?: Record<string, string> | null };
  };
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== base.manifest.layers.length) {
    throw new RegistryError(
      'Unsupported',
      `the config of ${base.ref.repository}@${base.digest} lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff_ids for ${base.manifest.layers.length} layers`,
    );
  }
  const history = Array.isArray(config.history)
    ? [
        ...config.history,
        { created: info.created, created_by: info.createdBy, comment: 'hyperagent overlay' },
      ]
    : undefined;
  const newConfig = {
    ...config,
    created: info.created,
    config: { ...(config.config ?? {}), Labels: { ...(config.config?.Labels ?? {}), ...info.labels } },
    rootfs: { type: 'layers', diff_ids: [...diffIds, layer.diffId] },
    ...(history ? { history } : {}),
  };
  const configBytes = Buffer.from(JSON.stringify(newConfig));
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  // A referrer's subject belongs to the base, not to the overlay.
  const { subject: _subject, ...rest } = base.manifest;
  const manifest = {
    ...rest,
    schemaVersion: 2,
    mediaType,
    config: { ...base.manifest.config, digest: sha256Digest(configBytes), size: configBytes.length },
    layers: [
      ...base.manifest.layers,
      {
        mediaType: docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip,
        digest: layer.digest,
        size: layer.gzip.length,
      },
    ],
    ...(docker
      ? {}
      : {
          annotations: {
            ...(base.manifest.annotations ?? {}),
            'org.opencontainers.image.base.name': `${base.ref.registry}/${base.ref.repository}${base.ref.tag ? `:${base.ref.tag}` : ''}`,
            'org.opencontainers.image.base.digest': base.digest,
          },
        }),
  };
  return { mediaType, manifest: Buffer.from(JSON.stringify(manifest)), config: configBytes };
}

/** Whether `config` (of an existing image) is `base`'s filesystem plus exactly the layer `diffId`. */
export function isOverlayOf(
  existing: { manifest: ImageManifest; config: Buffer },
  base: BaseImage,
  diffId: string,
): boolean {
  const ids = (parseJson(existing.config, 'image config') as { rootfs?: { diff_ids?: unknown } }).rootfs
    ?.diff_ids;
  const baseIds = (parseJson(base.config, 'image config') as { rootfs?: { diff_ids?: unknown } }).rootfs
    ?.diff_ids;
  if (!Array.isArray(ids) || !Array.isArray(baseIds)) return false;
  const expected = [...baseIds, diffId];
  const layersMatch =
    existing.manifest.layers.length === base.manifest.layers.length + 1 &&
    base.manifest.layers.every((l, i) => existing.manifest.layers[i]?.digest === l.digest);
  return layersMatch && ids.length === expected.length && expected.every((id, i) => ids[i] === id);
}

async function resolveBaseImage(
  registry: OciRegistry,
  ref: ImageReference,
  platform: Platform,
): Promise<BaseImage> {
  let fetched = await registry.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
  let json = parseJson(fetched.bytes, 'manifest');
  if (manifestKind(fetched.mediaType, json) === 'index') {
    const entry = selectPlatform(json as ImageIndex, platform);
    fetched = await registry.getManifest(ref.repository, entry.digest);
    json = parseJson(fetched.bytes, 'manifest');
    if (manifestKind(fetched.mediaType, json) !== 'image') {
      throw new RegistryError(
        'Unsupported',
        `the index entry ${entry.digest} of ${ref.repository} is itself an index`,
      );
    }
  }
  const manifest = json as ImageManifest;
  const mediaType = typeOf(fetched.mediaType, manifest);
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
    throw new RegistryError(
      'Unsupported',
      `the manifest ${ref.repository}@${fetched.digest} has no config or layers`,
    );
  }
  const config = await registry.getBlob(ref.repository, manifest.config.digest, CONFIG_MAX);
  return { ref, digest: fetched.digest, mediaType, manifest, config };
}

async function findExisting(
  registry: OciRegistry,
  repository: string,
  tag: string,
  base: BaseImage,
  diffId: string,
): Promise<string | undefined> {
  const head = await registry.headManifest(repository, tag);
  if (!head) return undefined;
  const fetched = await registry.getManifest(repository, head.digest);
  const json = parseJson(fetched.bytes, 'manifest');
  if (manifestKind(fetched.mediaType, json) !== 'image') return undefined;
  const manifest = json as ImageManifest;
  const config = await registry.getBlob(repository, manifest.config.digest, CONFIG_MAX);
  return isOverlayOf({ manifest, config }, base, diffId) ? fetched.digest : undefined;
}

function typeOf(header: string, manifest: ImageManifest): string {
  const type = header.split(';')[0]!.trim();
  if (type === MEDIA_TYPES.dockerManifest || type === MEDIA_TYPES.ociManifest) return type;
  return manifest.mediaType === MEDIA_TYPES.dockerManifest
    ? MEDIA_TYPES.dockerManifest
    : MEDIA_TYPES.ociManifest;
}

const REGISTRY_REASONS: Record<RegistryErrorCode, string> = {
  RegistryUnreachable: 'RegistryUnreachable',
  Unauthorized: 'RegistryAuthFailed',
  Denied: 'RegistryAuthFailed',
  ManifestUnknown: 'BaseImageNotFound',
  BlobUnknown: 'RegistryFailed',
  TooLarge: 'LayerTooLarge',
  Unsupported: 'UnsupportedImage',
  DigestMismatch: 'RegistryFailed',
  RegistryFailed: 'RegistryFailed',
};

/** The failed outcome for an error of the build: its code as the reason where it has one. */
export function outcomeOf(error: unknown): WorkOutcome {
  if (isRegistryError(error)) return failedOutcome(REGISTRY_REASONS[error.code], error.message);
  if (error instanceof LayerError) return failedOutcome(error.code, error.message);
  if (error instanceof SourceUnavailableError) return failedOutcome('SourceUnavailable', error.message);
  if (isGitLineageError(error)) {
    const kept = error.code === 'CommitNotFound' || error.code === 'TreeMismatch';
    return failedOutcome(kept ? error.code : 'SourceUnavailable', error.message);
  }
  return failedOutcome('BuildFailed', error instanceof Error ? error.message : String(error));
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError('Unsupported', `the ${what} is not JSON`);
  }
}
