import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  credentialsFromDockerConfig,
  endpointsFromLocalRegistryHosting,
  currentPlatform,
  isRegistryError,
  manifestKind,
  MEDIA_TYPES,
  normalizeRegistryKey,
  OciRegistry,
  parseAuthChallenge,
  parseImageReference,
  pinnedReference,
  registryBaseUrl,
  RegistryError,
  selectPlatform,
  sha256Digest,
  type ImageIndex,
} from './oci-registry.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('image references: registry, repository, tag and digest as Kubernetes reads them', () => {
  assert.deepEqual(parseImageReference('localhost:5001/hyperagent-e2e-quote:0.1.0-c16f'), {
    registry: 'localhost:5001',
    repository: 'hyperagent-e2e-quote',
    tag: '0.1.0-c16f',
  });
  assert.deepEqual(parseImageReference(`ghcr.io/acme/shop/quote@${DIGEST}`), {
    registry: 'ghcr.io',
    repository: 'acme/shop/quote',
    digest: DIGEST,
  });
  assert.deepEqual(parseImageReference(`registry.local/quote:1.2@${DIGEST}`), {
    registry: 'registry.local',
    repository: 'quote',
    tag: '1.2',
    digest: DIGEST,
  });
  assert.deepEqual(parseImageReference('nginx'), {
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: 'latest',
  });
  assert.deepEqual(parseImageReference('acme/quote:2'), {
    registry: 'docker.io',
    repository: 'acme/quote',
    tag: '2',
  });
  assert.deepEqual(parseImageReference('localhost/quote'), {
    registry: 'localhost',
    repository: 'quote',
    tag: 'latest',
  });
  assert.deepEqual(parseImageReference('[::1]:5000/quote:v1'), {
    registry: '[::1]:5000',
    repository: 'quote',
    tag: 'v1',
  });
});

test('malformed image references are refused as Unsupported', () => {
  for (const bad of ['Quote:1', 'quote@sha256:short', 'quote@md5:abc', 'quote:-bad', 'a//b', '']) {
    assert.throws(
      () => parseImageReference(bad),
      (e: unknown) => isRegistryError(e, 'Unsupported'),
      bad,
    );
  }
});

test('the pinned form is registry/repository@digest', () => {
  assert.equal(
    pinnedReference(parseImageReference('localhost:5001/quote:1'), DIGEST),
    `localhost:5001/quote@${DIGEST}`,
  );
});

test('loopback registries are plain HTTP, others HTTPS, unless mapped or listed', () => {
  assert.equal(registryBaseUrl('localhost:5001'), 'http://localhost:5001');
  assert.equal(registryBaseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryBaseUrl('[::1]:5000'), 'http://[::1]:5000');
  assert.equal(registryBaseUrl('kind-registry.localhost:5000'), 'http://kind-registry.localhost:5000');
  assert.equal(registryBaseUrl('ghcr.io'), 'https://ghcr.io');
  assert.equal(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
  assert.equal(registryBaseUrl('10.0.0.5:5000', { insecure: ['10.0.0.5:5000'] }), 'http://10.0.0.5:5000');
  assert.equal(
    registryBaseUrl('localhost:5001', { endpoints: { 'localhost:5001': 'http://192.0.2.2:5001/' } }),
    'http://192.0.2.2:5001',
  );
});

test('a local registry ConfigMap (KEP-1755) maps the node name of the registry to its in-cluster address', () => {
  const hosting = [
    'host: "localhost:5001"',
    'hostFromContainerRuntime: "localhost:5001"',
    'hostFromClusterNetwork: "192.0.2.2:5001"',
    'help: "https://kind.sigs.k8s.io/docs/user/local-registry/"',
  ].join('\n');
  assert.deepEqual(endpointsFromLocalRegistryHosting(hosting), { 'localhost:5001': 'http://192.0.2.2:5001' });
  assert.deepEqual(endpointsFromLocalRegistryHosting('host: "localhost:5001"'), {});
  assert.deepEqual(endpointsFromLocalRegistryHosting('host: a\nhostFromClusterNetwork: a'), {});
  assert.throws(
    () => endpointsFromLocalRegistryHosting('host: [unclosed'),
    (e: unknown) => isRegistryError(e, 'Unsupported'),
  );
});

test('docker config keys name registries in several spellings', () => {
  assert.equal(normalizeRegistryKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeRegistryKey('registry-1.docker.io'), 'docker.io');
  assert.equal(normalizeRegistryKey('http://LOCALHOST:5001/v2/'), 'localhost:5001');
  assert.equal(normalizeRegistryKey('ghcr.io'), 'ghcr.io');
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

test('credentials from a .dockerconfigjson: auth, username and password, tokens', () => {
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub-user:hub:pass:with:colons') },
      'ghcr.io': { username: 'bot', password: 'ghp_secret' },
      'quay.io': { auth: b64('<token>:'), identitytoken: 'refresh-me' },
      'gcr.io': { registrytoken: 'ya29.token' },
    },
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'docker.io'), {
    kind: 'basic',
    username: 'hub-user',
    password: 'hub:pass:with:colons',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'ghcr.io'), {
    kind: 'basic',
    username: 'bot',
    password: 'ghp_secret',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'quay.io'), {
    kind: 'identityToken',
    token: 'refresh-me',
    username: '<token>',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'gcr.io'), { kind: 'bearer', token: 'ya29.token' });
  assert.equal(credentialsFromDockerConfig(config, 'localhost:5001'), undefined);
});

test('credentials from a legacy .dockercfg (no auths wrapper)', () => {
  const legacy = JSON.stringify({ 'registry.local:5000': { auth: b64('u:p'), email: 'x@example.com' } });
  assert.deepEqual(credentialsFromDockerConfig(legacy, 'registry.local:5000'), {
    kind: 'basic',
    username: 'u',
    password: 'p',
  });
});

test('a malformed docker config is refused without echoing its values', () => {
  const secret = 'very-secret-password';
  const cases = [
    `not json ${secret}`,
    JSON.stringify({ auths: { 'ghcr.io': { auth: b64(`nocolon${secret}`) } } }),
    JSON.stringify({ auths: { 'ghcr.io': { username: 'bot' } } }),
    JSON.stringify([secret]),
  ];
  for (const text of cases) {
    assert.throws(
      () => credentialsFromDockerConfig(text, 'ghcr.io'),
      (e: unknown) => isRegistryError(e, 'Unauthorized') && !e.message.includes(secret),
      text,
    );
  }
});

test('auth challenges: scheme and quoted or bare parameters', () => {
  assert.deepEqual(
    parseAuthChallenge(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:a/b:pull,push',
      },
    },
  );
  assert.deepEqual(parseAuthChallenge('Basic realm="Registry Realm"'), {
    scheme: 'basic',
    params: { realm: 'Registry Realm' },
  });
  assert.deepEqual(parseAuthChallenge('Bearer realm=https://x/token, service=reg'), {
    scheme: 'bearer',
    params: { realm: 'https://x/token', service: 'reg' },
  });
  assert.deepEqual(parseAuthChallenge('Bearer realm="a\\"b"'), {
    scheme: 'bearer',
    params: { realm: 'a"b' },
  });
  assert.equal(parseAuthChallenge(null), undefined);
  assert.equal(parseAuthChallenge(''), undefined);
});

test('manifest kinds: by media type, or by shape when the registry names none', () => {
  assert.equal(manifestKind(MEDIA_TYPES.dockerManifest, {}), 'image');
  assert.equal(manifestKind(`${MEDIA_TYPES.ociManifest}; charset=utf-8`, {}), 'image');
  assert.equal(manifestKind(MEDIA_TYPES.ociIndex, {}), 'index');
  assert.equal(manifestKind(MEDIA_TYPES.dockerList, {}), 'index');
  assert.equal(manifestKind('', { schemaVersion: 2, manifests: [] }), 'index');
  assert.equal(manifestKind('application/json', { schemaVersion: 2, config: {}, layers: [] }), 'image');
  assert.equal(manifestKind('', { mediaType: MEDIA_TYPES.ociIndex, manifests: [] }), 'index');
  assert.throws(
    () => manifestKind('application/vnd.docker.distribution.manifest.v1+prettyjws', {}),
    (e: unknown) => isRegistryError(e, 'Unsupported') && /schema 1/.test(e.message),
  );
});

const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: 'sha256:amd',
      size: 1,
      platform: { os: 'linux', architecture: 'amd64' },
    },
    {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: 'sha256:arm',
      size: 1,
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    },
    {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: 'sha256:att',
      size: 1,
      platform: { os: 'unknown', architecture: 'unknown' },
    },
  ],
};

test('an index entry is picked by os and architecture, variant only when both name one', () => {
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'amd64' }).digest, 'sha256:amd');
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm64' }).digest, 'sha256:arm');
  assert.equal(
    selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest,
    'sha256:arm',
  );
  assert.throws(
    () => selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v7' }),
    (e: unknown) => isRegistryError(e, 'ManifestUnknown'),
  );
  assert.throws(
    () => selectPlatform(index, { os: 'linux', architecture: 's390x' }),
    (e: unknown) =>
      isRegistryError(e, 'ManifestUnknown') &&
      e.message.includes('linux/amd64, linux/arm64/v8') &&
      !e.message.includes('unknown/'),
  );
});

test('the current platform is linux with a Go architecture name', () => {
  const platform = currentPlatform();
  assert.equal(platform.os, 'linux');
  assert.notEqual(platform.architecture, 'x64');
});

// A registry in memory, enough to walk the client through token auth and a chunked upload.
function fakeRegistry(options: { chunkMin?: number } = {}) {
  const calls: string[] = [];
  const blobs = new Map<string, Buffer>();
  let upload: Buffer[] = [];
  const handler = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? 'GET';
    const auth = new Headers(init.headers).get('authorization') ?? '';
    calls.push(`${method} ${url.pathname}${url.search} ${auth.split(' ')[0] ?? ''}`.trim());
    if (url.pathname === '/token') {
      const scope = url.searchParams.get('scope') ?? '';
      if (auth !== `Basic ${b64('bot:pw')}`) return new Response('no', { status: 401 });
      return Response.json({ token: `t:${scope}` });
    }
    const needs = method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push';
    if (!auth.startsWith('Bearer t:') || !auth.endsWith(needs === 'pull' ? ':pull' : ':pull,push')) {
      if (!(needs === 'pull' && auth.endsWith(':pull,push'))) {
        return new Response(null, {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="http://reg.test/token",service="reg.test"` },
        });
      }
    }
    const blob = /^\/v2\/app\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname);
    if (blob && method === 'HEAD') return new Response(null, { status: blobs.has(blob[1]!) ? 200 : 404 });
    if (url.pathname === '/v2/app/blobs/uploads/' && method === 'POST') {
      upload = [];
      return new Response(null, {
        status: 202,
        headers: {
          location: '/v2/app/blobs/uploads/u1?_state=s0',
          ...(options.chunkMin ? { 'oci-chunk-min-length': String(options.chunkMin) } : {}),
        },
      });
    }
    if (url.pathname === '/v2/app/blobs/uploads/u1' && method === 'PATCH') {
      const range = new Headers(init.headers).get('content-range');
      const received = upload.reduce((n, b) => n + b.length, 0);
      const body = Buffer.from(init.body as Uint8Array);
      assert.equal(range, `${received}-${received + body.length - 1}`);
      upload.push(body);
      return new Response(null, {
        status: 202,
        headers: { location: `/v2/app/blobs/uploads/u1?_state=s${upload.length}` },
      });
    }
    if (url.pathname === '/v2/app/blobs/uploads/u1' && method === 'PUT') {
      if (init.body) upload.push(Buffer.from(init.body as Uint8Array));
      const data = Buffer.concat(upload);
      const digest = url.searchParams.get('digest')!;
      if (sha256Digest(data) !== digest)
        return Response.json({ errors: [{ code: 'DIGEST_INVALID' }] }, { status: 400 });
      blobs.set(digest, data);
      return new Response(null, { status: 201 });
    }
    return Response.json(
      { errors: [{ code: 'UNSUPPORTED', message: `${method} ${url.pathname}` }] },
      { status: 404 },
    );
  };
  return { calls, blobs, fetch: handler as typeof fetch };
}

test('token auth: one token per scope, asked with the Basic credentials, reused', async () => {
  const fake = fakeRegistry();
  const client = new OciRegistry({
    registry: 'reg.test',
    baseUrl: 'http://reg.test',
    credentials: { kind: 'basic', username: 'bot', password: 'pw' },
    fetch: fake.fetch,
  });
  const data = Buffer.from('hello layer');
  assert.deepEqual(await client.pushBlob('app', data), { digest: sha256Digest(data), uploaded: true });
  assert.deepEqual(await client.pushBlob('app', data), { digest: sha256Digest(data), uploaded: false });
  const tokens = fake.calls.filter((c) => c.startsWith('GET /token'));
  assert.deepEqual(tokens, [
    'GET /token?service=reg.test&scope=repository%3Aapp%3Apull Basic',
    'GET /token?service=reg.test&scope=repository%3Aapp%3Apull%2Cpush Basic',
  ]);
  // the second push is one HEAD, answered with the push token already held
  assert.match(fake.calls.at(-1)!, /^HEAD \/v2\/app\/blobs\/sha256:[0-9a-f]+ Bearer$/);
});

test('a refused token request is Unauthorized, naming the scope and no secret', async () => {
  const fake = fakeRegistry();
  const client = new OciRegistry({
    registry: 'reg.test',
    baseUrl: 'http://reg.test',
    credentials: { kind: 'basic', username: 'bot', password: 'wrong-password' },
    fetch: fake.fetch,
  });
  await assert.rejects(
    client.hasBlob('app', DIGEST),
    (e: unknown) =>
      isRegistryError(e, 'Unauthorized') &&
      /repository:app:pull/.test(e.message) &&
      !e.message.includes('wrong-password'),
  );
});

test('large blobs go in PATCH chunks with contiguous ranges, honouring the minimum chunk', async () => {
  for (const [chunkSize, chunkMin, patches] of [
    [4, undefined, 3],
    [2, 5, 2],
  ] as const) {
    const fake = fakeRegistry({ ...(chunkMin ? { chunkMin } : {}) });
    const client = new OciRegistry({
      registry: 'reg.test',
      baseUrl: 'http://reg.test',
      credentials: { kind: 'basic', username: 'bot', password: 'pw' },
      chunkSize,
      fetch: fake.fetch,
    });
    const data = Buffer.from('0123456789');
    await client.pushBlob('app', data);
    assert.deepEqual(fake.blobs.get(sha256Digest(data)), data);
    assert.equal(fake.calls.filter((c) => c.startsWith('PATCH')).length, patches);
  }
});

test('a registry that cannot be reached is RegistryUnreachable', async () => {
  const client = new OciRegistry({
    registry: 'reg.test',
    baseUrl: 'http://reg.test',
    fetch: (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch,
  });
  await assert.rejects(
    client.getManifest('app', 'v1'),
    (e: unknown) =>
      e instanceof RegistryError && e.code === 'RegistryUnreachable' && /ECONNREFUSED/.test(e.message),
  );
});
