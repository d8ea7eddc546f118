import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TtlLruCache } from '../src/cache.js';

test('the cache keeps at most maxEntries (0: none), evicting the least recently used', () => {
  const cache = new TtlLruCache<number>(2, 1_000);
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1); // a is now the most recently used
  cache.set('c', 3);
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.size, 2);

  const disabled = new TtlLruCache<number>(0, 1_000);
  disabled.set('a', 1);
  assert.equal(disabled.enabled, false);
  assert.equal(disabled.get('a'), undefined);
  assert.equal(disabled.size, 0);
});

test('cache entries expire after the default TTL or their own', () => {
  let now = 0;
  const cache = new TtlLruCache<string>(10, 100, () => now);
  cache.set('price', 'p');
  cache.set('rate', 'r', 1_000);
  now = 99;
  assert.equal(cache.get('price'), 'p');
  now = 100;
  assert.equal(cache.get('price'), undefined, 'expired at the TTL');
  assert.equal(cache.get('rate'), 'r', 'its own, longer TTL');
  assert.equal(cache.size, 1, 'the expired entry was dropped when read');
  now = 1_000;
  assert.equal(cache.get('rate'), undefined);
});
