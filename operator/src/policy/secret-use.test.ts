import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECRET_USE_LABELS, secretUseProblem } from './secret-use.js';

test('a Secret is used only for what its label opts it in to', () => {
  const git = { name: 'git', namespace: 'demo', labels: { 'hyperagents.io/git-credentials': 'true' } };
  assert.equal(secretUseProblem(git, 'git'), undefined);
  assert.equal(
    secretUseProblem(git, 'llm'),
    'the Secret demo/git has not opted in to be used as an LLM API key: the operator uses a Secret only when it carries the label hyperagents.io/llm-api-key=true (kubectl label secret git -n demo hyperagents.io/llm-api-key=true)',
  );
});

test('only the value "true" opts in; no labels at all is no', () => {
  for (const value of ['false', 'yes', '', 'True']) {
    const secret = { name: 's', namespace: 'n', labels: { [SECRET_USE_LABELS.git]: value } };
    assert.match(secretUseProblem(secret, 'git') ?? '', /has not opted in to be used as git credentials/);
  }
  assert.match(secretUseProblem({ name: 's', namespace: 'n' }, 'git') ?? '', /kubectl label secret s -n n/);
});
