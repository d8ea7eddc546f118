// The OCI distribution client against the harness's real registry (distribution, plain HTTP on
// localhost): manifests of the images the cluster runs, blobs uploaded in one piece and in chunks,
// manifests stored by tag, and the failures a build must report. Credentials are exercised
// through a small gate in front of the same registry that asks for them the two ways registries
// do (a Bearer token from a token service, and Basic), so what passes the gate reached the
// registry with them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  isRegistryError,
  MEDIA_TYPES,
  OciRegistry,
  parseImageReference,
  sha256Digest,
  type ImageManifest,
  type RegistryCredentials,
} from '../../operator/src/build/oci-registry.js';
import { writeTar } from '../../operator/src/build/layer.js';
import { closedPort } from '../support/ports.js';

const REGISTRY = process.env.HYPERAGENT_REGISTRY ?? 'localhost:5001';
const QUOTE_IMAGE = process.env.HYPERAGENT_E2E_QUOTE_IMAGE ?? `${REGISTRY}/hyperagent-e2e-quote:0.1.0`;
const SCRATCH = 'hyperagent-e2e-scratch';
const run = randomBytes(4).toString('hex');

/** A client whose requests are recorded as `METHOD /path`. */
function recordingClient(
  options: {
    registry?: string;
    baseUrl?: string;
    chunkSize?: number;
    credentials?: RegistryCredentials;
  } = {},
) {
  const requests: string[] = [];
  const client = new OciRegistry({
    registry: options.registry ?? REGISTRY,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    timeoutMs: 10_000,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      requests.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    }) as typeof fetch,
  });
  return { client, requests };
}

test('reads the Docker schema 2 manifest and config of an image the cluster runs', async () => {
  const ref = parseImageReference(QUOTE_IMAGE);
  const { client } = recordingClient();
  const fetched = await client.getManifest(ref.repository, ref.tag!);
  assert.equal(fetched.mediaType, MEDIA_TYPES.dockerManifest);
  const head = await client.headManifest(ref.repository, ref.tag!);
  assert.equal(head?.digest, fetched.digest);
  const byDigest = await client.getManifest(ref.repository, fetched.digest);
  assert.deepEqual(byDigest.bytes, fetched.bytes);
  const manifest = JSON.parse(fetched.bytes.toString()) as ImageManifest;
  const config = JSON.parse(
    (await client.getBlob(ref.repository, manifest.config.digest, 1 << 20)).toString(),
  );
  assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
  assert.equal(await client.hasBlob(ref.repository, manifest.layers[0]!.digest), true);
});

test('unknown tags and repositories are ManifestUnknown; absent objects are undefined or false to HEAD', async () => {
  const ref = parseImageReference(QUOTE_IMAGE);
  const { client } = recordingClient();
  await assert.rejects(client.getManifest(ref.repository, `no-such-tag-${run}`), (e: unknown) =>
    isRegistryError(e, 'ManifestUnknown'),
  );
  await assert.rejects(client.getManifest(`no-such-repository-${run}`, 'v1'), (e: unknown) =>
    isRegistryError(e, 'ManifestUnknown'),
  );
  assert.equal(await client.headManifest(ref.repository, `no-such-tag-${run}`), undefined);
  assert.equal(await client.hasBlob(ref.repository, sha256Digest(Buffer.from(run))), false);
  await assert.rejects(client.getBlob(ref.repository, sha256Digest(Buffer.from(run)), 100), (e: unknown) =>
    isRegistryError(e, 'BlobUnknown'),
  );
});

test('a blob goes up in one piece, a larger one in chunks; neither is sent twice', async () => {
  for (const [size, chunkSize, patches] of [
    [1000, 4096, 0],
    [100_000, 16_384, 7],
  ] as const) {
    const { client, requests } = recordingClient({ chunkSize });
    const data = randomBytes(size);
    const first = await client.pushBlob(SCRATCH, data);
    assert.deepEqual(first, { digest: sha256Digest(data), uploaded: true });
    assert.equal(requests.filter((r) => r.startsWith('PATCH')).length, patches);
    assert.deepEqual(await client.getBlob(SCRATCH, first.digest, size), data);
    requests.length = 0;
    assert.deepEqual(await client.pushBlob(SCRATCH, data), { digest: first.digest, uploaded: false });
    assert.deepEqual(requests, [`HEAD /v2/${SCRATCH}/blobs/${first.digest}`]);
  }
});

async function pushTinyImage(client: OciRegistry, repository: string, tag: string): Promise<string> {
  const tar = await writeTar(
    [{ type: 'file', name: 'hello.txt', mode: 0o644, content: Buffer.from(run) }],
    0,
  );
  const layer = gzipSync(tar.tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [tar.diffId] },
    }),
  );
  await client.pushBlob(repository, layer);
  await client.pushBlob(repository, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.ociLayerGzip, digest: sha256Digest(layer), size: layer.length }],
    }),
  );
  return client.putManifest(repository, tag, MEDIA_TYPES.ociManifest, manifest);
}

test('an OCI manifest stored under a tag is found under that tag and its digest', async () => {
  const { client } = recordingClient();
  const digest = await pushTinyImage(client, SCRATCH, `tiny-${run}`);
  assert.equal((await client.headManifest(SCRATCH, `tiny-${run}`))?.digest, digest);
  const fetched = await client.getManifest(SCRATCH, digest);
  assert.equal(fetched.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(fetched.digest, digest);
});

test('a registry nobody answers at is RegistryUnreachable, naming where it was looked for', async () => {
  const port = await closedPort();
  const { client } = recordingClient({ baseUrl: `http://127.0.0.1:${port}` });
  await assert.rejects(
    client.getManifest('anything', 'v1'),
    (e: unknown) =>
      isRegistryError(e, 'RegistryUnreachable') &&
      e.message.includes(`127.0.0.1:${port}`) &&
      /ECONNREFUSED/.test(e.message),
  );
});

// ---------------------------------------------------------------------------------------------
// A gate in front of the real registry that wants credentials
// ---------------------------------------------------------------------------------------------

const USER = 'pusher';
const PASSWORD = `pw-${run}`;
const REFRESH = `refresh-${run}`;
const upstream = new URL(`http://${REGISTRY}`);
let gate: Server;
let gateHost = '';
let mode: 'bearer' | 'basic' = 'bearer';
const issued = new Set<string>();
const tokenRequests: string[] = [];

function forward(req: IncomingMessage, res: ServerResponse): void {
  const headers = { ...req.headers };
  delete headers.authorization;
  const out = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.writeHead(502).end());
  req.pipe(out);
}

async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${gateHost}`);
  let body = '';
  for await (const chunk of req) body += String(chunk);
  const form = new URLSearchParams(body);
  tokenRequests.push(`${req.method} scope=${url.searchParams.get('scope') ?? form.get('scope')}`);
  const basicOk =
    req.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const refreshOk =
    req.method === 'POST' &&
    form.get('grant_type') === 'refresh_token' &&
    form.get('refresh_token') === REFRESH;
  if (!basicOk && !refreshOk) {
    res.writeHead(401).end();
    return;
  }
  const token = randomBytes(8).toString('hex');
  issued.add(token);
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(refreshOk ? { access_token: token } : { token }));
}

before(async () => {
  gate = createServer((req, res) => {
    if (req.url?.startsWith('/token')) {
      void tokenEndpoint(req, res);
      return;
    }
    const auth = req.headers.authorization ?? '';
    const allowed =
      mode === 'bearer'
        ? issued.has(auth.replace(/^Bearer /, ''))
        : auth === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (!allowed) {
      req.resume();
      res
        .writeHead(401, {
          'www-authenticate':
            mode === 'bearer'
              ? `Bearer realm="http://${gateHost}/token",service="gate"`
              : 'Basic realm="gate"',
        })
        .end();
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  gateHost = `127.0.0.1:${(gate.address() as AddressInfo).port}`;
});

after(async () => {
  gate.closeAllConnections();
  await new Promise((resolve) => gate.close(resolve));
});

function gated(credentials?: RegistryCredentials) {
  return recordingClient({ registry: gateHost, chunkSize: 4096, ...(credentials ? { credentials } : {}) });
}

test('Bearer: a token for pull, then one for push, asked with the user and password', async () => {
  mode = 'bearer';
  tokenRequests.length = 0;
  const { client } = gated({ kind: 'basic', username: USER, password: PASSWORD });
  const data = randomBytes(10_000);
  assert.equal((await client.pushBlob(SCRATCH, data)).uploaded, true);
  assert.equal(await client.hasBlob(SCRATCH, sha256Digest(data)), true);
  await pushTinyImage(client, SCRATCH, `bearer-${run}`);
  assert.deepEqual(tokenRequests, [
    `GET scope=repository:${SCRATCH}:pull`,
    `GET scope=repository:${SCRATCH}:pull,push`,
  ]);
});

test('Bearer with an identity token: the refresh token is exchanged by POST', async () => {
  mode = 'bearer';
  tokenRequests.length = 0;
  const { client } = gated({ kind: 'identityToken', token: REFRESH });
  await pushTinyImage(client, SCRATCH, `refresh-${run}`);
  assert.ok(
    tokenRequests.length > 0 && tokenRequests.every((r) => r.startsWith('POST')),
    tokenRequests.join('; '),
  );
});

test('Basic: the user and password go with every request once asked for', async () => {
  mode = 'basic';
  const { client } = gated({ kind: 'basic', username: USER, password: PASSWORD });
  const digest = await pushTinyImage(client, SCRATCH, `basic-${run}`);
  assert.equal((await client.headManifest(SCRATCH, `basic-${run}`))?.digest, digest);
});

test('wrong or missing credentials are Unauthorized, and the message holds no password', async () => {
  for (const m of ['bearer', 'basic'] as const) {
    mode = m;
    const wrong = gated({ kind: 'basic', username: USER, password: 'wrong-password-xyz' });
    await assert.rejects(
      wrong.client.hasBlob(SCRATCH, sha256Digest(Buffer.from('x'))),
      (e: unknown) => isRegistryError(e, 'Unauthorized') && !e.message.includes('wrong-password-xyz'),
      m,
    );
    const anonymous = gated();
    await assert.rejects(anonymous.client.getManifest(SCRATCH, `tiny-${run}`), (e: unknown) =>
      isRegistryError(e, 'Unauthorized'),
    );
  }
});
