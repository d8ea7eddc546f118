import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandEnv } from './commands.js';

test('the environment takes the manifest values and keeps the runner variables last', () => {
  const env = commandEnv(
    '/scratch',
    { CACHE_SIZE: '128', HOME: '/elsewhere', HYPERAGENT_PARAMETERS_FILE: '/elsewhere' },
    { HYPERAGENT_PARAMETERS_FILE: '/hyperagent/control/parameters.json' },
  );
  assert.deepEqual(env, {
    HOME: '/elsewhere',
    TMPDIR: '/scratch',
    CI: 'true',
    CACHE_SIZE: '128',
    HYPERAGENT_PARAMETERS_FILE: '/hyperagent/control/parameters.json',
  });
});
