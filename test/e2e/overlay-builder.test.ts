// The overlay builder end to end: the service's repository (served over HTTP with Basic auth,
// cloned with the agent's credentials Secret), the target Deployment on the cluster, the
// harness's real registry. The image it pushes is then run by Docker and by the cluster's
// containerd: the changed file has the new content, the deleted file is gone, the new script is
// executable, the untouched files are the base image's. A second overlay on top of the first
// restores a file the first changed, which only a layer computed against the commit the running
// image carries gets right.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { defaultedAgentSpec } from '../../operator/src/api/defaults.js';
import {
  OverlayBuilder,
  SOURCE_COMMIT_LABEL,
  type OverlayBuilderOptions,
} from '../../operator/src/build/overlay-builder.js';
import {
  OciRegistry,
  parseImageReference,
  MEDIA_TYPES,
  type ImageManifest,
} from '../../operator/src/build/oci-registry.js';
import { createKubeClients } from '../../operator/src/kube/clients.js';
import type { CycleContext, WorkOutcome } from '../../operator/src/cycle/ports.js';
import { SourceCheckouts } from '../../operator/src/git/source-checkout.js';
import { gitCredentials } from '../../operator/src/kube/opted-in-secret.js';
import { core, eventually, freshNamespace, kubeConfig, kubectl } from '../support/cluster.js';
import { startGitHttpServer } from '../support/git-http-server.js';
import { closedPort } from '../support/ports.js';
import { createQuoteRemote, readTree } from '../support/quote-fixture.js';
import { applyJson, deleteNamespace, optedInSecret, restrictedContainer } from '../support/workloads.js';

const QUOTE_IMAGE = process.env.HYPERAGENT_E2E_QUOTE_IMAGE ?? 'localhost:5001/hyperagent-e2e-quote:0.1.0';
const REF = parseImageReference(QUOTE_IMAGE);
const FIXTURE = 'test/e2e/images/quote';
const AGENT = 'quote';
const run = randomBytes(3).toString('hex');
const docker = promisify(execFile);

let namespace: string;
let scratch: string;
let closeGit: () => Promise<void>;
let repoUrl: string;
let files: Record<string, string>;
let baseCommit: string;
let firstCommit: string;
let secondCommit: string;
let firstImage: string;
const pulled: string[] = [];
const requests: string[] = [];
const clients = createKubeClients(kubeConfig, () => {});

// What the first candidate commit holds, against the image's own source.
const NEW_QUOTE = (original: string) =>
  original.replace('OVERHEAD_MS = 40', 'OVERHEAD_MS = 25') + `\n// overlay ${run}\n`;
const WARM_SCRIPT = '#!/bin/sh\necho warm\n';
const EXTRA = `export const extra = '${run}';\n`;

function git(cwd: string, ...args: string[]): Promise<string> {
  return promisify(execFile)('git', args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Dev',
      GIT_AUTHOR_EMAIL: 'dev@example.com',
      GIT_COMMITTER_NAME: 'Dev',
      GIT_COMMITTER_EMAIL: 'dev@example.com',
    },
  }).then((r) => r.stdout.trim());
}

function cycleName(label: string): string {
  return `${AGENT}-${label}-${run}`;
}

function cycleContext(name: string, commit: string, deployment = 'quote-service'): CycleContext {
  return {
    namespace,
    name,
    uid: `uid-${name}`,
    spec: {
      agent: AGENT,
      slot: '2026-01-01T00:00:00Z',
      agentGeneration: 1,
      agentSpec: defaultedAgentSpec({
        target: { deployment, container: 'quote' },
        source: { repo: repoUrl, branch: 'main', credentialsSecret: 'git', paths: ['src', 'test', 'bin'] },
        goal: 'reduce p99 latency of GET /quote',
        objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' }],
        improvement: { interval: '6h' },
        sandbox: { sourcePath: '/app' },
      }),
    },
    status: {
      candidates: [{ id: 'c1', kind: 'code', summary: 'cut the per-request overhead' }],
      selected: 'c1',
      baseCommit,
      commit,
    },
  };
}

function builder(options: Partial<OverlayBuilderOptions> = {}): OverlayBuilder {
  return new OverlayBuilder({
    clients,
    checkouts: new SourceCheckouts(gitCredentials(clients.core), join(scratch, 'work')),
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    }) as typeof fetch,
    ...options,
  });
}

function imageOf(outcome: WorkOutcome): string {
  assert.equal(outcome.state, 'succeeded', JSON.stringify(outcome));
  const image = outcome.state === 'succeeded' ? outcome.status?.image : undefined;
  assert.match(image ?? '', new RegExp(`^${REF.registry}/${REF.repository}@sha256:[0-9a-f]{64}$`));
  return image!;
}

function reasonOf(outcome: WorkOutcome): string {
  assert.equal(outcome.state, 'failed', JSON.stringify(outcome));
  return outcome.state === 'failed' ? outcome.reason : '';
}

/** Runs `script` with sh in the image, under Docker; returns stdout. */
async function inImage(image: string, script: string): Promise<string> {
  if (!pulled.includes(image)) {
    await docker('docker', ['pull', '--quiet', image]);
    pulled.push(image);
  }
  const { stdout } = await docker('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--entrypoint',
    'sh',
    image,
    '-c',
    script,
  ]);
  return stdout;
}

async function setImage(deployment: string, image: string): Promise<void> {
  await kubectl('-n', namespace, 'set', 'image', `deployment/${deployment}`, `quote=${image}`);
}

before(async () => {
  namespace = await freshNamespace('e2e-overlay');
  scratch = await mkdtemp(join(tmpdir(), 'e2e-overlay-'));
  files = await readTree(FIXTURE, (name) => name === 'Dockerfile');

  // The repository holds exactly what the image holds at /app.
  createQuoteRemote(scratch, files);
  const server = await startGitHttpServer({
    projectRoot: scratch,
    username: 'builder',
    password: 'git-e2e-password',
  });
  closeGit = () => server.close();
  repoUrl = `${server.url}/remote.git`;

  // The candidate commits, on their cycle branches, as Committing would leave them.
  const work = join(scratch, 'dev');
  await git(scratch, 'clone', '--quiet', join(scratch, 'remote.git'), work);
  baseCommit = await git(work, 'rev-parse', 'HEAD');
  await git(work, 'checkout', '--quiet', '-b', `hyperagent/${AGENT}/${cycleName('first')}`);
  await writeFile(join(work, 'src/quote.mjs'), NEW_QUOTE(files['src/quote.mjs']!));
  await mkdir(join(work, 'bin'));
  await writeFile(join(work, 'bin/warm.sh'), WARM_SCRIPT, { mode: 0o755 });
  await mkdir(join(work, 'src/lib'));
  await writeFile(join(work, 'src/lib/extra.mjs'), EXTRA);
  await rm(join(work, 'test/quote.test.mjs'));
  await git(work, 'add', '--all');
  await git(work, 'commit', '--quiet', '-m', 'Cut the per-request overhead');
  firstCommit = await git(work, 'rev-parse', 'HEAD');
  await git(work, 'push', '--quiet', 'origin', 'HEAD');

  // The second restores src/quote.mjs as the image first had it, and changes nothing else.
  await git(work, 'checkout', '--quiet', '-b', `hyperagent/${AGENT}/${cycleName('second')}`);
  await writeFile(join(work, 'src/quote.mjs'), files['src/quote.mjs']!);
  await git(work, 'commit', '--quiet', '--all', '-m', 'Restore the overhead');
  secondCommit = await git(work, 'rev-parse', 'HEAD');
  await git(work, 'push', '--quiet', 'origin', 'HEAD');

  const deployment = (name: string, image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'quote', image, ...restrictedContainer }] },
      },
    },
  });
  await applyJson([
    ...optedInSecret(
      { name: 'git', namespace, stringData: { username: 'builder', password: 'git-e2e-password' } },
      'git',
    ),
    deployment('quote-service', QUOTE_IMAGE),
    deployment('quote-missing', `${REF.registry}/${REF.repository}:no-such-tag-${run}`),
  ]);
});

after(async () => {
  for (const image of pulled) await docker('docker', ['rmi', image]).catch(() => undefined);
  await closeGit?.();
  await deleteNamespace(namespace);
  await rm(scratch, { recursive: true, force: true });
});

test('the overlay is a real image: changed, deleted, new and untouched files as the commit says', async () => {
  const outcome = await builder().build(cycleContext(cycleName('first'), firstCommit));
  firstImage = imageOf(outcome);

  assert.equal(await inImage(firstImage, 'cat /app/src/quote.mjs'), NEW_QUOTE(files['src/quote.mjs']!));
  assert.equal(
    await inImage(firstImage, 'test -e /app/test/quote.test.mjs && echo present || echo gone'),
    'gone\n',
  );
  assert.equal(await inImage(firstImage, 'ls -A /app/test'), '', 'the whiteout itself is not visible');
  assert.equal(
    await inImage(firstImage, 'stat -c "%a %u" /app/bin/warm.sh && /app/bin/warm.sh'),
    '755 0\nwarm\n',
  );
  assert.equal(await inImage(firstImage, 'cat /app/src/lib/extra.mjs'), EXTRA);
  for (const untouched of ['src/server.mjs', 'bench/run.mjs', 'package.json']) {
    assert.equal(await inImage(firstImage, `cat /app/${untouched}`), files[untouched], untouched);
  }
  // the service's own runtime loads the new code
  assert.equal(
    await inImage(
      firstImage,
      `node -e "import('/app/src/quote.mjs').then((m) => console.log(m.OVERHEAD_MS))"`,
    ),
    '25\n',
  );
  // the image says what it carries, and keeps the base's settings
  const { stdout } = await docker('docker', ['image', 'inspect', firstImage, '--format', '{{json .Config}}']);
  const config = JSON.parse(stdout) as { Labels: Record<string, string>; User: string; Cmd: string[] };
  assert.equal(config.Labels[SOURCE_COMMIT_LABEL], firstCommit);
  assert.equal(config.User, '65532:65532');
  assert.deepEqual(config.Cmd, ['node', '/app/src/server.mjs']);
  // one layer more than the base, stored under the cycle's tag
  const registry = new OciRegistry({ registry: REF.registry });
  const digest = firstImage.split('@')[1]!;
  assert.equal((await registry.headManifest(REF.repository, cycleName('first')))?.digest, digest);
  const built = JSON.parse(
    (await registry.getManifest(REF.repository, digest)).bytes.toString(),
  ) as ImageManifest;
  const base = JSON.parse(
    (await registry.getManifest(REF.repository, REF.tag!)).bytes.toString(),
  ) as ImageManifest;
  assert.equal(built.layers.length, base.layers.length + 1);
  assert.equal(built.mediaType, MEDIA_TYPES.dockerManifest);
});

test('a second build finds the image and uploads nothing', async () => {
  requests.length = 0;
  const outcome = await builder().build(cycleContext(cycleName('first'), firstCommit));
  assert.equal(imageOf(outcome), firstImage);
  assert.match(outcome.state === 'succeeded' ? (outcome.message ?? '') : '', /already holds/);
  assert.deepEqual(
    requests.filter((r) => !r.startsWith('GET') && !r.startsWith('HEAD')),
    [],
  );
});

test("the cluster's containerd pulls and runs the overlay", async () => {
  const name = 'overlay-cat';
  await applyJson([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'cat',
            image: firstImage,
            ...restrictedContainer,
            command: [
              'sh',
              '-c',
              'cat /app/src/quote.mjs; test ! -e /app/test/quote.test.mjs && echo deleted',
            ],
          },
        ],
      },
    },
  ]);
  const phase = await eventually(
    'the overlay pod to finish',
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
        ? pod.status.phase
        : undefined;
    },
    120_000,
  );
  const logs = await core.readNamespacedPodLog({ name, namespace, container: 'cat' });
  assert.equal(phase, 'Succeeded', logs);
  assert.equal(logs, `${NEW_QUOTE(files['src/quote.mjs']!)}deleted\n`);
});

test('an overlay on an overlay brings the files to the new commit, including ones it restores', async () => {
  await setImage('quote-service', firstImage);
  const second = imageOf(await builder().build(cycleContext(cycleName('second'), secondCommit)));
  // Against status.baseCommit the restored file is unchanged and would be left out of the layer,
  // so the image would keep the first overlay's version: the label makes the difference.
  assert.equal(await inImage(second, 'cat /app/src/quote.mjs'), files['src/quote.mjs']);
  assert.equal(await inImage(second, 'cat /app/src/lib/extra.mjs'), EXTRA);
  assert.equal(
    await inImage(second, 'test -e /app/test/quote.test.mjs && echo present || echo gone'),
    'gone\n',
  );
  await setImage('quote-service', QUOTE_IMAGE);
});

test('an OCI index as the base: the platform is picked, and the overlay is an OCI image', async () => {
  // An OCI copy of the quote image (same blobs), in an index beside a second platform.
  const registry = new OciRegistry({ registry: REF.registry });
  const originalFetched = await registry.getManifest(REF.repository, REF.tag!);
  const original = JSON.parse(originalFetched.bytes.toString()) as ImageManifest;
  const oci = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { ...original.config, mediaType: MEDIA_TYPES.ociConfig },
      layers: original.layers.map((l) => ({ ...l, mediaType: MEDIA_TYPES.ociLayerGzip })),
    }),
  );
  const ociDigest = await registry.putManifest(REF.repository, `oci-${run}`, MEDIA_TYPES.ociManifest, oci);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MEDIA_TYPES.dockerManifest,
          digest: originalFetched.digest,
          size: originalFetched.bytes.length,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        {
          mediaType: MEDIA_TYPES.ociManifest,
          digest: ociDigest,
          size: oci.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  await registry.putManifest(REF.repository, `index-${run}`, MEDIA_TYPES.ociIndex, index);
  await setImage('quote-service', `${REF.registry}/${REF.repository}:index-${run}`);

  const outcome = await builder({ platform: { os: 'linux', architecture: 'amd64' } }).build(
    cycleContext(cycleName('oci'), firstCommit),
  );
  const image = imageOf(outcome);
  const built = JSON.parse(
    (await registry.getManifest(REF.repository, image.split('@')[1]!)).bytes.toString(),
  ) as ImageManifest;
  assert.equal(built.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(built.layers.at(-1)?.mediaType, MEDIA_TYPES.ociLayerGzip);
  assert.equal(built.annotations?.['org.opencontainers.image.base.digest'], ociDigest);
  assert.equal(await inImage(image, 'cat /app/src/quote.mjs'), NEW_QUOTE(files['src/quote.mjs']!));

  const missing = await builder({ platform: { os: 'linux', architecture: 's390x' } }).build(
    cycleContext(cycleName('s390x'), firstCommit),
  );
  assert.equal(reasonOf(missing), 'BaseImageNotFound');
  assert.match(
    missing.state === 'failed' ? missing.message : '',
    /linux\/s390x.*linux\/arm64\/v8, linux\/amd64/,
  );
  await setImage('quote-service', QUOTE_IMAGE);
});

test('clear failures: base image missing, registry unreachable, layer too large, commit unknown', async () => {
  const missing = await builder().build(cycleContext(cycleName('missing'), firstCommit, 'quote-missing'));
  assert.equal(reasonOf(missing), 'BaseImageNotFound');
  assert.match(missing.state === 'failed' ? missing.message : '', /not found/);

  const port = await closedPort();
  const unreachable = await builder({
    registry: { endpoints: { [REF.registry]: `http://127.0.0.1:${port}` } },
  }).build(cycleContext(cycleName('unreachable'), firstCommit));
  assert.equal(reasonOf(unreachable), 'RegistryUnreachable');

  const large = await builder({ maxLayerBytes: 100 }).build(cycleContext(cycleName('large'), firstCommit));
  assert.equal(reasonOf(large), 'LayerTooLarge');

  const unknown = await builder().build(cycleContext(cycleName('unknown'), 'f'.repeat(40)));
  assert.equal(reasonOf(unknown), 'CommitNotFound');
});
