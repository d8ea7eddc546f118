import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runnerPaths } from './paths.js';

test('the pod paths by default', () => {
  assert.deepEqual(runnerPaths({}, []), {
    manifest: '/hyperagent/input/manifest.json',
    input: '/hyperagent/input',
    source: '/hyperagent/workspace/src',
    scratch: '/tmp',
    result: '/dev/termination-log',
    control: '/hyperagent/control',
    candidateScratch: '/hyperagent/candidate-tmp',
    candidateScratchInCandidate: '/tmp',
    resolvConf: '/etc/resolv.conf',
  });
});

test('environment overrides and the manifest argument', () => {
  const env = {
    HYPERAGENT_INPUT_DIR: '/t/in',
    HYPERAGENT_WORKSPACE_DIR: '/t/ws',
    HYPERAGENT_SCRATCH_DIR: '/t/scratch',
    HYPERAGENT_RESULT_PATH: '/t/result.json',
    HYPERAGENT_CONTROL_DIR: '/t/control',
    HYPERAGENT_CANDIDATE_SCRATCH_DIR: '/t/candidate',
  };
  assert.deepEqual(runnerPaths(env, []), {
    manifest: '/t/in/manifest.json',
    input: '/t/in',
    source: '/t/ws/src',
    scratch: '/t/scratch',
    result: '/t/result.json',
    control: '/t/control',
    candidateScratch: '/t/candidate',
    candidateScratchInCandidate: '/t/candidate',
    resolvConf: '/etc/resolv.conf',
  });
  assert.equal(runnerPaths(env, ['/elsewhere/m.json']).manifest, '/elsewhere/m.json');
});
