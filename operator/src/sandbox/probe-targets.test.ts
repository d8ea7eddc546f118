import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isLoopback,
  nodeInternalAddresses,
  onePerFamily,
  probeName,
  registryTarget,
  serviceAddresses,
  serviceOf,
  urlTarget,
} from './probe-targets.js';

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

test('dual-stack clusters give a probe per family: Services, nodes and DNS answers', () => {
  assert.deepEqual(serviceAddresses({ clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00:10:96::1'] }), [
    '10.96.0.1',
    'fd00:10:96::1',
  ]);
  assert.deepEqual(serviceAddresses({ clusterIP: '10.96.0.10' }), ['10.96.0.10']);
  assert.deepEqual(serviceAddresses({ clusterIP: 'None', clusterIPs: ['None'] }), []);
  assert.deepEqual(serviceAddresses(undefined), []);
  assert.deepEqual(
    nodeInternalAddresses([
      { type: 'Hostname', address: 'node-1' },
      { type: 'InternalIP', address: 'fd00::2' },
      { type: 'InternalIP', address: '192.0.2.2' },
      { type: 'InternalIP', address: '192.0.2.3' },
      { type: 'ExternalIP', address: '203.0.113.9' },
    ]),
    ['192.0.2.2', 'fd00::2'],
  );
  assert.deepEqual(onePerFamily(['2001:db8::1', '2001:db8::2']), ['2001:db8::1']);
  assert.equal(probeName('api-server', '10.96.0.1'), 'api-server');
  assert.equal(probeName('api-server', 'fd00:10:96::1'), 'api-server-ipv6');
});
