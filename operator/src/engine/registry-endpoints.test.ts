import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRegistryEndpoint } from './registry-endpoints.js';

test('host=url becomes one endpoint; anything else is refused with the expected form', () => {
  assert.deepEqual(parseRegistryEndpoint('localhost:5001=http://192.0.2.2:5001'), {
    'localhost:5001': 'http://192.0.2.2:5001',
  });
  assert.deepEqual(parseRegistryEndpoint('registry.local=https://10.0.0.9/'), {
    'registry.local': 'https://10.0.0.9',
  });
  for (const bad of ['localhost:5001', '=http://x', 'a=ftp://x', 'a=http://x/path']) {
    assert.throws(
      () => parseRegistryEndpoint(bad),
      /--registry-endpoint wants host=http\(s\):\/\/address/,
      bad,
    );
  }
});
