import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sandboxNetworkPolicies } from './manifests.js';
import { policyDrift } from './policy-guard.js';

const expected = sandboxNetworkPolicies('hyperagent-sandbox-shop');

test('the default-deny policies as applied, or as the API server returns them, are no drift', () => {
  assert.equal(policyDrift(expected, expected), undefined);
  const stored = expected.map((policy) => ({
    ...policy,
    metadata: { ...policy.metadata, uid: 'x', resourceVersion: '7' },
    spec: { ...policy.spec!, podSelector: {} },
  }));
  assert.equal(policyDrift(expected, stored), undefined);
});

test('a deleted, an added or a loosened policy is named', () => {
  assert.equal(policyDrift(expected, [expected[0]!]), 'NetworkPolicy default-deny-egress was deleted');
  const allow = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-all', namespace: 'hyperagent-sandbox-shop' },
    spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
  };
  assert.equal(policyDrift(expected, [...expected, allow]), 'NetworkPolicy allow-all was added');
  const loosened = { ...expected[1]!, spec: { ...expected[1]!.spec!, egress: [{}] } };
  assert.equal(
    policyDrift(expected, [expected[0]!, loosened]),
    'NetworkPolicy default-deny-egress was changed',
  );
  const narrowed = {
    ...expected[0]!,
    spec: { ...expected[0]!.spec!, podSelector: { matchLabels: { app: 'none' } } },
  };
  assert.equal(
    policyDrift(expected, [narrowed, expected[1]!]),
    'NetworkPolicy default-deny-ingress was changed',
  );
});
