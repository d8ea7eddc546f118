import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../operator/src/api/sandbox-protocol.js';
import { checkManifest, readManifest } from './manifest.js';
import { sampleManifest, tempDir, writeFiles } from './test-helpers.js';

test('a manifest that matches the protocol is accepted as it is', () => {
  const manifest = sampleManifest({
    commands: [
      { name: 'test', run: 'npm test', timeoutSeconds: 600 },
      { name: 'benchmark', run: 'node bench.js', timeoutSeconds: 300 },
    ],
    env: { CACHE_SIZE: '128' },
    config: { 'cache.ttl': 30, 'cache.mode': 'lru', 'cache.on': true },
  });
  assert.deepEqual(checkManifest(manifest), { ok: true, manifest });
});

test('schema errors are named, at most three of them, with the candidate when known', () => {
  const broken = {
    ...sampleManifest(),
    version: PROTOCOL_VERSION + 1,
    benchmarkRuns: 0,
    commands: [{ name: 'lint', run: 'x', timeoutSeconds: 1 }],
  };
  const check = checkManifest(broken);
  assert.equal(check.ok, false);
  if (check.ok) return;
  assert.equal(check.candidate, 'c1');
  assert.match(check.message, /^manifest does not match the schema: \/version: /);
  assert.equal(check.message.split('; ').length, 3);
  const nonsense = checkManifest('nonsense');
  assert.equal(nonsense.ok, false);
  assert.equal(nonsense.ok ? 'ok' : nonsense.candidate, '');
});

test('a command listed twice or a changes name with a path is refused', () => {
  const twice = sampleManifest({
    commands: [
      { name: 'test', run: 'a', timeoutSeconds: 1 },
      { name: 'test', run: 'b', timeoutSeconds: 1 },
    ],
  });
  assert.deepEqual(checkManifest(twice), {
    ok: false,
    candidate: 'c1',
    nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    message: 'command test is listed more than once',
  });
  assert.deepEqual(checkManifest(sampleManifest({ changes: '../etc/passwd' })), {
    ok: false,
    candidate: 'c1',
    nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    message: 'changes name "../etc/passwd" is not a file of the input directory',
  });
});

test('a missing or non-JSON manifest file is an invalid manifest', async () => {
  const dir = await tempDir();
  await writeFiles(dir, { 'manifest.json': '{ not json', 'good.json': JSON.stringify(sampleManifest()) });
  const missing = await readManifest(join(dir, 'absent.json'));
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? '' : missing.message, /^cannot read manifest .*absent\.json: ENOENT/);
  const garbled = await readManifest(join(dir, 'manifest.json'));
  assert.match(garbled.ok ? '' : garbled.message, /is not JSON/);
  assert.equal((await readManifest(join(dir, 'good.json'))).ok, true);
});
