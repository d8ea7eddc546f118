import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeParameters } from './parameters.js';

const texts = new Map([
  ['src/cache.ts', 'const size = Number(process.env.QUOTE_CACHE_SIZE ?? 100);\n'],
  ['src/other.ts', 'const x = process.env.QUOTE_CACHE_SIZE_MAX; // a different variable\n'],
  ['deploy/app.yaml', 'env:\n  - name: QUOTE_CACHE_SIZE\n    value: "100"\n'],
  ['config/app.yaml', 'cache:\n  size: 100\nworkers: 4\n'],
  ['config/app.json', '{ "cache": { "size": 100 } }\n'],
  ['src/config.ts', 'export const size = settings.cache.size;\n'],
  ['src/sizes.ts', 'const size = 3; // mentions size but not the cache key\n'],
  ['src/deeper.ts', 'read(settings.cache.size.max);\n'],
  ['README.md', 'Set `mode` to fast.\n'],
]);

test('env parameters are used where the variable is named as a whole word', () => {
  const [node] = describeParameters(
    [{ name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer', min: 0, max: 1000, step: 10 }],
    texts,
  );
  assert.deepEqual(node, {
    name: 'cache-size',
    carrier: 'env:QUOTE_CACHE_SIZE',
    type: 'integer',
    min: 0,
    max: 1000,
    step: 10,
    usedIn: ['deploy/app.yaml', 'src/cache.ts'],
  });
});

test('config keys: the full dotted key anywhere, or every segment in a config file with the last as a key', () => {
  const [size, workers, mode] = describeParameters(
    [
      { name: 'cache-size', configKey: 'cache.size', type: 'number', min: 1, max: 10 },
      { name: 'workers', configKey: 'workers', type: 'integer', min: 1, max: 8 },
      { name: 'mode', configKey: 'server.mode', type: 'choice', choices: ['fast', 'safe'] },
    ],
    texts,
  );
  assert.deepEqual(size?.usedIn, ['config/app.json', 'config/app.yaml', 'src/config.ts']);
  assert.equal(size?.carrier, 'config:cache.size');
  assert.deepEqual(workers?.usedIn, ['config/app.yaml']);
  assert.deepEqual(mode?.usedIn, []);
  assert.deepEqual(mode?.choices, ['fast', 'safe']);
  assert.equal(mode?.min, undefined);
});
