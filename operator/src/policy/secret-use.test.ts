import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECRET_USE_LABELS, secretAccessProblem, secretGrant, secretUseProblem } from './secret-use.js';

test('a Secret is used only for what its label opts it in to, and the refusal says how to opt in', () => {
  const git = { name: 'git', namespace: 'demo', labels: { 'hyperagents.io/git-credentials': 'true' } };
  assert.equal(secretUseProblem(git, 'git'), undefined);
  assert.equal(
    secretUseProblem(git, 'llm'),
    'the Secret demo/git has not opted in to be used as an LLM API key: the operator uses a Secret only when it carries the label hyperagents.io/llm-api-key=true (kubectl hyperagent secret allow git --for llm -n demo, or kubectl label secret git -n demo hyperagents.io/llm-api-key=true)',
  );
});

test('only the value "true" opts in; no labels at all is no', () => {
  for (const value of ['false', 'yes', '', 'True']) {
    const secret = { name: 's', namespace: 'n', labels: { [SECRET_USE_LABELS.git]: value } };
    assert.match(secretUseProblem(secret, 'git') ?? '', /has not opted in to be used as git credentials/);
  }
  assert.match(secretUseProblem({ name: 's', namespace: 'n' }, 'git') ?? '', /kubectl label secret s -n n/);
});

test('the grant lets the operator get that one Secret, in its namespace, and nothing else', () => {
  const [role, binding] = secretGrant({ name: 'git', namespace: 'demo' }) as [
    { metadata: { name: string; namespace: string }; rules: unknown[] },
    { roleRef: { name: string }; subjects: unknown[] },
  ];
  assert.equal(role.metadata.namespace, 'demo');
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['git'], verbs: ['get'] },
  ]);
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', namespace: 'hyperagent-system', name: 'hyperagent-hyperagent-operator' },
  ]);
  assert.match(
    secretAccessProblem({ name: 'git', namespace: 'demo' }, 'git'),
    /kubectl hyperagent secret allow git --for git -n demo applies both$/,
  );
});

test('registry Secrets (the overlay builder pulls and pushes with them) opt in the same way', () => {
  assert.match(
    secretUseProblem({ name: 'regcred', namespace: 'shop' }, 'registry') ?? '',
    /^the Secret shop\/regcred has not opted in to be used as registry credentials: .*hyperagents\.io\/registry-credentials=true \(kubectl hyperagent secret allow regcred --for registry -n shop,/,
  );
});
