import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import { GitLineageError } from '../git/errors.js';
import { LayerError } from './layer.js';
import {
  MEDIA_TYPES,
  parseImageReference,
  RegistryError,
  sha256Digest,
  type ImageManifest,
} from './oci-registry.js';
import {
  carriedCommit,
  CYCLE_LABEL,
  imageTag,
  isOverlayOf,
  outcomeOf,
  overlayApplicability,
  overlayImage,
  SOURCE_COMMIT_LABEL,
  type BaseImage,
} from './overlay-builder.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const COMMIT = 'c'.repeat(40);

function base(
  mediaType: string,
  extra: Partial<ImageManifest> = {},
  config: Record<string, unknown> = {},
): BaseImage {
  const configJson = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { User: '65532:65532', Cmd: ['node', '/app/src/server.mjs'], Labels: { team: 'shop' } },
    rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] },
    history: [{ created_by: 'FROM' }, { created_by: 'COPY src' }],
    ...config,
  };
  const docker = mediaType === MEDIA_TYPES.dockerManifest;
  return {
    ref: parseImageReference('localhost:5001/quote:0.1.0'),
    digest: d('b'),
    mediaType,
    manifest: {
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig,
        digest: d('f'),
        size: 10,
      },
      layers: [
        {
          mediaType: docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip,
          digest: d('3'),
          size: 100,
        },
        {
          mediaType: docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip,
          digest: d('4'),
          size: 200,
        },
      ],
      ...extra,
    },
    config: Buffer.from(JSON.stringify(configJson)),
  };
}

const layer = { digest: d('5'), diffId: d('6'), gzip: { length: 321 } };
const info = {
  created: '2026-01-02T03:04:05.000Z',
  createdBy: 'hyperagent-operator overlay: 2 files',
  labels: { [SOURCE_COMMIT_LABEL]: COMMIT, [CYCLE_LABEL]: 'shop/quote-1' },
};

test('a Docker schema 2 base gives a Docker schema 2 image with one more layer and diff_id', () => {
  const b = base(MEDIA_TYPES.dockerManifest);
  const made = overlayImage(b, layer, info);
  assert.equal(made.mediaType, MEDIA_TYPES.dockerManifest);
  const manifest = JSON.parse(made.manifest.toString()) as ImageManifest;
  assert.equal(manifest.mediaType, MEDIA_TYPES.dockerManifest);
  assert.deepEqual(manifest.config, {
    mediaType: MEDIA_TYPES.dockerConfig,
    digest: sha256Digest(made.config),
    size: made.config.length,
  });
  assert.deepEqual(
    manifest.layers.map((l) => [l.mediaType, l.digest, l.size]),
    [
      [MEDIA_TYPES.dockerLayerGzip, d('3'), 100],
      [MEDIA_TYPES.dockerLayerGzip, d('4'), 200],
      [MEDIA_TYPES.dockerLayerGzip, d('5'), 321],
    ],
  );
  assert.equal(manifest.annotations, undefined, 'Docker manifests have no annotations');
  const config = JSON.parse(made.config.toString());
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [d('1'), d('2'), d('6')] });
  assert.equal(config.created, info.created);
  assert.deepEqual(config.config.Cmd, ['node', '/app/src/server.mjs'], 'the rest of the config is kept');
  assert.equal(config.config.User, '65532:65532');
  assert.deepEqual(config.config.Labels, { team: 'shop', ...info.labels });
  assert.equal(config.history.length, 3);
  assert.deepEqual(config.history[2], {
    created: info.created,
    created_by: info.createdBy,
    comment: 'hyperagent overlay',
  });
});

test('an OCI base gives an OCI image that names its base; a subject is not inherited', () => {
  const b = base(MEDIA_TYPES.ociManifest, {
    annotations: { 'org.opencontainers.image.source': 'https://git.example.com/quote' },
    subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('9'), size: 1 },
  });
  const made = overlayImage(b, layer, info);
  const manifest = JSON.parse(made.manifest.toString()) as ImageManifest;
  assert.equal(made.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(manifest.layers.at(-1)?.mediaType, MEDIA_TYPES.ociLayerGzip);
  assert.equal(manifest.config.mediaType, MEDIA_TYPES.ociConfig);
  assert.equal(manifest.subject, undefined);
  assert.deepEqual(manifest.annotations, {
    'org.opencontainers.image.source': 'https://git.example.com/quote',
    'org.opencontainers.image.base.name': 'localhost:5001/quote:0.1.0',
    'org.opencontainers.image.base.digest': d('b'),
  });
});

test('a base without history gets none; null Labels are fine', () => {
  const b = base(MEDIA_TYPES.ociManifest, {}, { history: undefined, config: { Labels: null } });
  const config = JSON.parse(overlayImage(b, layer, info).config.toString());
  assert.equal(config.history, undefined);
  assert.deepEqual(config.config.Labels, info.labels);
});

test('a config that disagrees with its manifest is refused', () => {
  const b = base(MEDIA_TYPES.dockerManifest, {}, { rootfs: { type: 'layers', diff_ids: [d('1')] } });
  assert.throws(
    () => overlayImage(b, layer, info),
    (e: unknown) =>
      e instanceof RegistryError && e.code === 'Unsupported' && /1 diff_ids for 2 layers/.test(e.message),
  );
});

test('the same input gives the same manifest bytes', () => {
  const one = overlayImage(base(MEDIA_TYPES.dockerManifest), layer, info);
  const two = overlayImage(base(MEDIA_TYPES.dockerManifest), layer, info);
  assert.deepEqual(one.manifest, two.manifest);
  assert.deepEqual(one.config, two.config);
});

test('an existing image is this overlay only when it is the base plus exactly this layer', () => {
  const b = base(MEDIA_TYPES.dockerManifest);
  const made = overlayImage(b, layer, info);
  const existing = { manifest: JSON.parse(made.manifest.toString()) as ImageManifest, config: made.config };
  assert.equal(isOverlayOf(existing, b, layer.diffId), true);
  assert.equal(isOverlayOf(existing, b, d('7')), false, 'another layer');
  const otherBase = base(
    MEDIA_TYPES.dockerManifest,
    {},
    { rootfs: { type: 'layers', diff_ids: [d('1'), d('8')] } },
  );
  assert.equal(isOverlayOf(existing, otherBase, layer.diffId), false, 'another base filesystem');
  const movedLayers = {
    ...existing,
    manifest: { ...existing.manifest, layers: existing.manifest.layers.slice(1) },
  };
  assert.equal(isOverlayOf(movedLayers, b, layer.diffId), false);
});

test('the carried commit comes from the label, when it is a full commit id', () => {
  const config = (labels: unknown) => Buffer.from(JSON.stringify({ config: { Labels: labels } }));
  assert.equal(carriedCommit(config({ [SOURCE_COMMIT_LABEL]: COMMIT })), COMMIT);
  assert.equal(carriedCommit(config({ [SOURCE_COMMIT_LABEL]: 'main' })), undefined);
  assert.equal(carriedCommit(config(null)), undefined);
  assert.equal(carriedCommit(Buffer.from('{}')), undefined);
});

test('image tags are the cycle name, or a prefix and a hash when too long', () => {
  assert.equal(imageTag('quote-20260101-0000'), 'quote-20260101-0000');
  const long = `quote.${'x'.repeat(200)}`;
  const tag = imageTag(long);
  assert.equal(tag.length, 128);
  assert.match(tag, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  assert.notEqual(imageTag(`${long}y`), tag);
  assert.equal(imageTag(long), tag, 'stable');
});

test('an overlay applies when the sandbox read the source from the running image', () => {
  const spec = (sandbox: Record<string, unknown>) => ({
    agent: 'quote',
    slot: '2026-01-01T00:00:00Z',
    agentGeneration: 1,
    agentSpec: defaultedMinimalSpec({ sandbox }),
  });
  assert.equal(overlayApplicability(spec({}), 'quote:1'), undefined);
  assert.equal(overlayApplicability(spec({ sourceImage: 'quote:1' }), 'quote:1'), undefined);
  assert.match(overlayApplicability(spec({ sourceImage: 'quote-src:1' }), 'quote:1') ?? '', /does not ship/);
});

test('errors become failed outcomes with reasons a user can act on', () => {
  const reason = (error: unknown) => {
    const outcome = outcomeOf(error);
    return outcome.state === 'failed' ? outcome.reason : outcome.state;
  };
  assert.equal(reason(new RegistryError('RegistryUnreachable', 'x')), 'RegistryUnreachable');
  assert.equal(reason(new RegistryError('ManifestUnknown', 'x')), 'BaseImageNotFound');
  assert.equal(reason(new RegistryError('Unauthorized', 'x')), 'RegistryAuthFailed');
  assert.equal(reason(new RegistryError('Denied', 'x')), 'RegistryAuthFailed');
  assert.equal(reason(new RegistryError('TooLarge', 'x')), 'LayerTooLarge');
  assert.equal(reason(new LayerError('LayerTooLarge', 'x')), 'LayerTooLarge');
  assert.equal(reason(new LayerError('UnsafePath', 'x')), 'UnsafePath');
  assert.equal(reason(new GitLineageError('CommitNotFound', 'x')), 'CommitNotFound');
  assert.equal(reason(new GitLineageError('TreeMismatch', 'x')), 'TreeMismatch');
  assert.equal(reason(new GitLineageError('RemoteUnreachable', 'x')), 'SourceUnavailable');
  assert.equal(reason(new Error('boom')), 'BuildFailed');
});
