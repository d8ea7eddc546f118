import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, registryTarget, serviceOf, urlTarget } from './probe-targets.js';

test('git and Prometheus addresses become host and port', () => {
  assert.deepEqual(urlTarget('git-host', 'https://git.example.com/shop/q.git'), {
    name: 'git-host',
    host: 'git.example.com',
    port: 443,
  });
  assert.deepEqual(urlTarget('git-host', 'http://192.0.2.2:41234/remote.git'), {
    name: 'git-host',
    host: '192.0.2.2',
    port: 41234,
  });
  assert.deepEqual(urlTarget('git-host', 'git@github.com:shop/q.git'), {
    name: 'git-host',
    host: 'github.com',
    port: 22,
  });
  assert.deepEqual(urlTarget('prometheus', 'http://prometheus.monitoring:9090'), {
    name: 'prometheus',
    host: 'prometheus.monitoring',
    port: 9090,
  });
  assert.equal(urlTarget('x', 'not a url'), undefined);
});

test('image registries, loopback and Service names', () => {
  assert.deepEqual(registryTarget('registry', 'localhost:5001/quote-service:1.0.0'), {
    name: 'registry',
    host: 'localhost',
    port: 5001,
  });
  assert.deepEqual(registryTarget('registry', 'ghcr.io/a/b@sha256:00'), {
    name: 'registry',
    host: 'ghcr.io',
    port: 443,
  });
  assert.equal(registryTarget('registry', 'nginx:1.27'), undefined);
  assert.equal(registryTarget('registry', 'library/nginx'), undefined);
  assert.equal(isLoopback('localhost'), true);
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('10.0.0.1'), false);
  assert.deepEqual(serviceOf('prometheus.monitoring'), { name: 'prometheus', namespace: 'monitoring' });
  assert.deepEqual(serviceOf('prometheus.monitoring.svc.cluster.local'), {
    name: 'prometheus',
    namespace: 'monitoring',
  });
  assert.equal(serviceOf('192.0.2.2'), undefined);
});
