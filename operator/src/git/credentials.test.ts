// The environment GitAccess builds. https is also exercised end to end against a real smart-HTTP
// server in credentials-http.test.ts; ssh is checked here at the level of the environment and of
// the configuration ssh itself derives from it (`ssh -G`), as there is no sshd to talk to.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ASKPASS_PASSWORD_VAR,
  ASKPASS_USERNAME_VAR,
  decodeSecretData,
  openGitAccess,
  type GitAccess,
} from './credentials.js';
import { isGitLineageError, type GitErrorCode } from './errors.js';
import { REDACTED } from './redact.js';

const PASSWORD = 'pw-Zq8!"$`\\x';
// The ssh check needs the OpenSSH client (ssh -G, ssh-keygen), as the operator image does.
const NO_SSH = spawnSync('ssh', ['-V']).status !== 0 || spawnSync('ssh-keygen', ['-?']).error !== undefined;
let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hyperagent-cred-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function withAccess(access: GitAccess, body: (a: GitAccess) => Promise<void>): Promise<void> {
  try {
    await body(access);
  } finally {
    await access.dispose();
  }
}

test('https: an askpass helper in a private directory answers from the git child environment', async () => {
  const access = await openGitAccess({
    repo: 'https://git.example.com/shop/quote.git',
    secret: { username: Buffer.from('bot'), password: PASSWORD },
    secretName: 'quote-git',
    tmpRoot: root,
  });
  await withAccess(access, async (a) => {
    assert.equal(a.credentials, 'https');
    assert.equal(await mode(a.dir), 0o700);
    const askpass = a.env.GIT_ASKPASS ?? '';
    assert.ok(askpass.startsWith(a.dir));
    assert.equal(await mode(askpass), 0o700);
    assert.ok(!(await readFile(askpass, 'utf8')).includes(PASSWORD));
    assert.deepEqual(await readdir(a.dir), ['askpass.sh']);
    assert.deepEqual(a.unsafe, { allowUnsafeSshCommand: true, allowUnsafeAskPass: true });
    assert.deepEqual(Object.keys(a.env).sort(), [
      'GIT_ASKPASS',
      'GIT_CONFIG_NOSYSTEM',
      'GIT_SSH_COMMAND',
      'GIT_TERMINAL_PROMPT',
      'HOME',
      ASKPASS_PASSWORD_VAR,
      ASKPASS_USERNAME_VAR,
      'LC_ALL',
      'PATH',
    ]);
    assert.equal(a.env.HOME, a.dir);

    const ask = (prompt: string) => execFileSync(askpass, [prompt], { env: { ...a.env }, encoding: 'utf8' });
    assert.equal(ask("Username for 'https://git.example.com': "), 'bot\n');
    assert.equal(ask("Password for 'https://bot@git.example.com': "), `${PASSWORD}\n`);
    assert.throws(() => ask('Are you sure you want to continue connecting (yes/no)? '));

    // A short user name is not a secret and stays readable.
    assert.equal(a.redact(`denied ${PASSWORD} for bot`), `denied ${REDACTED} for bot`);
  });
  await assert.rejects(stat(access.dir));
  await access.dispose();
});

test('a user name long enough to be a token is redacted too', async () => {
  const token = 'ghp_0123456789abcdef';
  const access = await openGitAccess({
    repo: 'https://h/x.git',
    secret: { username: token, password: 'x-oauth-basic' },
    tmpRoot: root,
  });
  await withAccess(access, async (a) => {
    assert.equal(a.redact(`user ${token} refused`), `user ${REDACTED} refused`);
  });
});

test(
  'ssh: the key is a 0600 file used alone, against the known hosts of the Secret only',
  { skip: NO_SSH },
  async () => {
    const keyDir = await mkdtemp(join(root, 'key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', join(keyDir, 'id')]);
    const key = (await readFile(join(keyDir, 'id'), 'utf8')).trimEnd(); // as Secrets often store it
    const knownHosts =
      'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const access = await openGitAccess({
      repo: 'git@git.example.com:shop/quote.git',
      secret: { 'ssh-privatekey': key, known_hosts: knownHosts, username: 'ignored', password: 'ignored' },
      tmpRoot: root,
    });
    await withAccess(access, async (a) => {
      assert.equal(a.credentials, 'ssh');
      assert.equal(a.env.GIT_ASKPASS, undefined);
      assert.equal(a.env[ASKPASS_PASSWORD_VAR], undefined);
      const keyFile = join(a.dir, 'id');
      assert.equal(await mode(keyFile), 0o600);
      assert.equal(await readFile(keyFile, 'utf8'), `${key}\n`);
      assert.equal(await readFile(join(a.dir, 'known_hosts'), 'utf8'), `${knownHosts}\n`);

      // What ssh makes of the command git will run, without connecting anywhere.
      const effective = execFileSync('sh', ['-c', `${a.env.GIT_SSH_COMMAND} -G git.example.com`], {
        env: { ...a.env },
        encoding: 'utf8',
      });
      const option = (name: string) =>
        effective
          .split('\n')
          .filter((line) => line.startsWith(`${name} `))
          .map((line) => line.slice(name.length + 1));
      assert.deepEqual(option('identityfile'), [keyFile]);
      assert.deepEqual(option('identitiesonly'), ['yes']);
      assert.deepEqual(option('stricthostkeychecking'), ['true']);
      assert.deepEqual(option('batchmode'), ['yes']);
      assert.deepEqual(option('userknownhostsfile'), [join(a.dir, 'known_hosts')]);
      assert.deepEqual(option('globalknownhostsfile'), ['/dev/null']);

      const body = key.split('\n')[1] ?? '';
      assert.ok(body.length > 16);
      assert.equal(a.redact(`oops ${body}`), `oops ${REDACTED}`);
    });
  },
);

test('ssh without known_hosts is refused: unknown host keys are never trusted', async () => {
  const before = await readdir(root);
  await assert.rejects(
    openGitAccess({
      repo: 'ssh://git@git.example.com/shop/quote.git',
      secret: { 'ssh-privatekey': 'KEY-MATERIAL-THAT-MUST-NOT-LEAK' },
      secretName: 'quote-git',
      tmpRoot: root,
    }),
    (e: unknown) =>
      isGitLineageError(e, 'KnownHostsRequired') &&
      e.message.includes('quote-git') &&
      e.message.includes('known_hosts') &&
      !e.message.includes('KEY-MATERIAL'),
  );
  assert.deepEqual(await readdir(root), before);
});

test('a Secret that does not fit the transport is refused by key name, never by value', async () => {
  const secretValues = ['s3cr3t-user', 's3cr3t-pass', 'KEY-MATERIAL'];
  const refused = (code: GitErrorCode) => (e: unknown) =>
    isGitLineageError(e, code) && !secretValues.some((v) => e.message.includes(v));
  await assert.rejects(
    openGitAccess({ repo: 'https://h/x.git', secret: { 'ssh-privatekey': 'KEY-MATERIAL' }, tmpRoot: root }),
    refused('CredentialsInvalid'),
  );
  await assert.rejects(
    openGitAccess({ repo: 'https://h/x.git', secret: { username: 's3cr3t-user' }, tmpRoot: root }),
    refused('CredentialsInvalid'),
  );
  await assert.rejects(
    openGitAccess({
      repo: 'https://h/x.git',
      secret: { username: 's3cr3t-user', password: 's3cr3t-pass\nmore' },
      tmpRoot: root,
    }),
    refused('CredentialsInvalid'),
  );
  await assert.rejects(
    openGitAccess({
      repo: 'ssh://git@h/x.git',
      secret: { username: 's3cr3t-user', password: 'p' },
      tmpRoot: root,
    }),
    refused('CredentialsInvalid'),
  );
  await assert.rejects(
    openGitAccess({ repo: 'https://s3cr3t-user:s3cr3t-pass@h/x.git', tmpRoot: root }),
    refused('InvalidRepository'),
  );
});

test('no Secret, or a transport that needs none, gives an environment without credentials', async () => {
  for (const options of [
    { repo: 'https://h/x.git' },
    { repo: 'file:///srv/x.git', secret: { username: 'u', password: 'p' } },
  ]) {
    const access = await openGitAccess({ ...options, tmpRoot: root });
    await withAccess(access, async (a) => {
      assert.equal(a.credentials, 'none');
      assert.equal(a.env.GIT_ASKPASS, undefined);
      assert.equal(a.env.GIT_TERMINAL_PROMPT, '0');
      assert.deepEqual(await readdir(a.dir), []);
    });
  }
});

test('Kubernetes Secret data is decoded from base64', () => {
  const decoded = decodeSecretData({ username: Buffer.from('bot').toString('base64') });
  assert.equal(decoded.username?.toString(), 'bot');
  assert.deepEqual(decodeSecretData(undefined), {});
});
