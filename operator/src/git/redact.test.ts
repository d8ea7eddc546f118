import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, REDACTED } from './redact.js';
import { classifyFailure } from './runner.js';

test('secrets, their URL-encoded form and URL passwords are removed', () => {
  const redact = createRedactor(['p@ss/word', 'bot', '']);
  const text =
    "fatal: unable to access 'https://bot:p%40ss%2Fword@git.example.com/x.git/': denied p@ss/word " +
    'and http://other:secret@h/y but ssh://git@h/z stays';
  const out = redact(text);
  assert.ok(!out.includes('p@ss/word'));
  assert.ok(!out.includes('p%40ss%2Fword'));
  assert.ok(!out.includes('secret'));
  assert.ok(!out.includes('bot'));
  assert.ok(out.includes(`https://${REDACTED}@git.example.com/x.git/`));
  assert.ok(out.includes('ssh://git@h/z'));
});

test('a secret that contains another is removed whole', () => {
  const redact = createRedactor(['abc', 'xxabcxx']);
  assert.equal(redact('[xxabcxx] [abc]'), `[${REDACTED}] [${REDACTED}]`);
});

test('git failures are told apart: credentials, reachability, other', () => {
  assert.equal(
    classifyFailure("fatal: Authentication failed for 'https://h/x.git/'"),
    'AuthenticationFailed',
  );
  assert.equal(
    classifyFailure("fatal: could not read Username for 'https://h': terminal prompts disabled"),
    'AuthenticationFailed',
  );
  assert.equal(classifyFailure('git@h: Permission denied (publickey).'), 'AuthenticationFailed');
  assert.equal(classifyFailure('Host key verification failed.'), 'AuthenticationFailed');
  assert.equal(
    classifyFailure("fatal: unable to access 'https://h/': Could not resolve host: h"),
    'RemoteUnreachable',
  );
  assert.equal(classifyFailure('ssh: connect to host h port 22: Connection refused'), 'RemoteUnreachable');
  assert.equal(classifyFailure("fatal: '/x' does not appear to be a git repository"), 'RemoteUnreachable');
  assert.equal(classifyFailure('error: something else'), 'GitFailed');
});
