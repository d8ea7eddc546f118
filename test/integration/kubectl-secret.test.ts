// `kubectl hyperagent secret allow` against the real API server, run through kubectl as a user
// runs a plugin: the Secret gets the label naming its use, and a Role and RoleBinding let the
// operator's ServiceAccount get that Secret and no other (RBAC decides, asked with can-i).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { core, freshNamespace, kubectl } from '../support/cluster.js';
import { kubectlPlugin } from '../support/plugin.js';

const OPERATOR = 'system:serviceaccount:hyperagent-system:hyperagent-hyperagent-operator';
let namespace: string;

before(async () => {
  namespace = await freshNamespace('secret-allow');
  for (const name of ['git', 'other']) {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name }, stringData: { password: 'p' } },
    });
  }
});

const canOperatorGet = async (name: string) =>
  (
    await kubectl('auth', 'can-i', 'get', `secrets/${name}`, '-n', namespace, '--as', OPERATOR).catch(
      (error: { stdout?: string }) => error.stdout ?? '',
    )
  ).trim();

test('allow: the label for the use, and a Role that lets the operator get that Secret alone', async () => {
  assert.equal(await canOperatorGet('git'), 'no', 'before the grant');
  const run = await kubectlPlugin('hyperagent', 'secret', 'allow', 'git', '--for', 'git', '-n', namespace);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    new RegExp(
      `^${namespace}/git may now be used as git credentials: Role and RoleBinding hyperagent-read-git let hyperagent-system/hyperagent-hyperagent-operator get it`,
    ),
  );
  const secret = await core.readNamespacedSecret({ name: 'git', namespace });
  assert.equal(secret.metadata?.labels?.['hyperagents.io/git-credentials'], 'true');
  assert.equal(secret.metadata?.labels?.['hyperagents.io/llm-api-key'], undefined);
  assert.equal(await canOperatorGet('git'), 'yes');
  assert.equal(await canOperatorGet('other'), 'no');
  // a second use adds its label; running it again changes nothing else
  const again = await kubectlPlugin('hyperagent', 'secret', 'allow', 'git', '--for', 'llm', '-n', namespace);
  assert.equal(again.code, 0, again.stderr);
  const labels = (await core.readNamespacedSecret({ name: 'git', namespace })).metadata?.labels ?? {};
  assert.equal(labels['hyperagents.io/git-credentials'], 'true');
  assert.equal(labels['hyperagents.io/llm-api-key'], 'true');
});

test('allow refuses a Secret that does not exist, an unknown use and a malformed account, with exit status 2', async () => {
  const missing = await kubectlPlugin(
    'hyperagent',
    'secret',
    'allow',
    'nope',
    '--for',
    'git',
    '-n',
    namespace,
  );
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, new RegExp(`^error: cannot read the Secret ${namespace}/nope: `));
  const use = await kubectlPlugin('hyperagent', 'secret', 'allow', 'git', '--for', 'ssh', '-n', namespace);
  assert.notEqual(use.code, 0);
  assert.match(use.stderr, /Allowed choices are git, llm/);
  const account = await kubectlPlugin(
    'hyperagent',
    'secret',
    'allow',
    'git',
    '--for',
    'git',
    '--operator-account',
    'just-a-name',
    '-n',
    namespace,
  );
  assert.equal(account.code, 2);
  assert.match(account.stderr, /--operator-account wants namespace\/name, not just-a-name/);
});
