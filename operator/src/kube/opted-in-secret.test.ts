import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { readOptedInSecret } from './opted-in-secret.js';

const REF = { name: 'git', namespace: 'shop' };

/** A core client whose readNamespacedSecret answers `secret`, or fails with an API error of `code`. */
function core(answer: V1Secret | number) {
  return {
    readNamespacedSecret: async () => {
      if (typeof answer === 'number') {
        throw Object.assign(new Error(`HTTP ${answer}`), {
          code: answer,
          body: { message: `status ${answer}` },
        });
      }
      return answer;
    },
  };
}

test('an opted-in Secret is returned; one without the label is a problem that says how to opt in', async () => {
  const labelled = {
    metadata: { name: 'git', labels: { 'hyperagents.io/git-credentials': 'true' } },
    data: {},
  };
  assert.deepEqual(await readOptedInSecret(core(labelled), REF, 'git', 'credentials Secret'), {
    secret: labelled,
  });
  const unlabelled = await readOptedInSecret(
    core({ metadata: { name: 'git' } }),
    REF,
    'git',
    'credentials Secret',
  );
  assert.ok('problem' in unlabelled);
  assert.match(unlabelled.problem, /^the Secret shop\/git has not opted in to be used as git credentials: /);
  assert.equal(unlabelled.notFound, false);
});

test('a read the API server refuses says how to opt in; any other failure says what could not be read', async () => {
  const forbidden = await readOptedInSecret(core(403), REF, 'llm', 'API key Secret');
  assert.deepEqual(forbidden, {
    problem:
      'the operator may not read the Secret shop/git: a Secret is opted in to be used as an LLM API key by a Role that lets the operator get that Secret alone and the label hyperagents.io/llm-api-key=true; kubectl hyperagent secret allow git --for llm -n shop applies both',
    notFound: false,
  });
  assert.deepEqual(await readOptedInSecret(core(404), REF, 'registry', 'registry Secret'), {
    problem: 'cannot read the registry Secret shop/git: status 404',
    notFound: true,
  });
});
