import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { addCounts, countJUnit, countTestOutput, mentionedXmlFiles } from './test-report.js';
import { childNodeEnv, tempDir, writeFiles } from './test-helpers.js';

const execFileAsync = promisify(execFile);

/** Two passing, one failing, two skipped and two todo tests, one pair of them in a suite. */
const SAMPLE_TESTS = `
import { describe, test } from 'node:test';
import assert from 'node:assert';
test('passes', () => {});
test('fails', () => assert.equal(1, 2));
test('skipped', { skip: true }, () => {});
test('todo that fails', { todo: true }, () => { throw new Error('not yet'); });
test('todo that passes', { todo: true }, () => {});
describe('suite', () => {
  test('inner passes', () => {});
  test('inner skipped', (t) => t.skip());
});
`;

const outputs: Record<string, string> = {};

/** What `node --test` prints for the sample with each reporter (it exits 1: one test fails). */
before(async () => {
  const dir = await tempDir();
  await writeFiles(dir, { 'sample.test.mjs': SAMPLE_TESTS });
  for (const reporter of ['default', 'spec', 'tap', 'junit']) {
    const args = [
      '--test',
      ...(reporter === 'default' ? [] : [`--test-reporter=${reporter}`]),
      join(dir, 'sample.test.mjs'),
    ];
    const run = await execFileAsync(process.execPath, args, { env: childNodeEnv() }).catch(
      (error: { stdout: string }) => error,
    );
    outputs[reporter] = run.stdout;
  }
});

const EXPECTED = { passed: 2, failed: 1, skipped: 4 };

test("node's spec reporter summary is read", () => {
  assert.match(outputs.spec ?? '', /ℹ pass 2/);
  assert.deepEqual(countTestOutput(outputs.spec ?? ''), { format: 'node-spec', ...EXPECTED });
});

test("node's TAP reporter summary is read, and the default reporter's output too", () => {
  assert.deepEqual(countTestOutput(outputs.tap ?? ''), { format: 'tap', ...EXPECTED });
  const byDefault = countTestOutput(outputs.default ?? '');
  assert.deepEqual({ ...byDefault, format: undefined }, { format: undefined, ...EXPECTED });
});

test("node's JUnit reporter output is counted by test case", () => {
  assert.match(outputs.junit ?? '', /<testsuites>/);
  assert.deepEqual(countJUnit(outputs.junit ?? ''), { format: 'junit', ...EXPECTED });
});

test('without a summary, top-level TAP result lines are counted', () => {
  const withoutSummary = (outputs.tap ?? '')
    .split('\n')
    .filter((line) => !/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line))
    .join('\n');
  // The suite's own line stands for its two subtests (one passed, one skipped).
  assert.deepEqual(countTestOutput(withoutSummary), { format: 'tap', passed: 2, failed: 1, skipped: 3 });
  const plain = [
    '1..4',
    'ok 1 - a',
    'not ok 2 - b',
    'ok 3 - c # skip not on linux',
    'not ok 4 - d # TODO later',
    '',
  ].join('\n');
  assert.deepEqual(countTestOutput(plain), { format: 'tap', passed: 1, failed: 1, skipped: 2 });
});

test('tape-style summaries (no fail line when nothing failed) and several runs add up', () => {
  const tape = [
    'TAP version 13',
    '# adds',
    'ok 1 should be equal',
    '',
    '1..1',
    '# tests 1',
    '# pass  1',
    '',
    '# ok',
    '',
  ].join('\n');
  assert.deepEqual(countTestOutput(tape), { format: 'tap', passed: 1, failed: 0, skipped: 0 });
  assert.deepEqual(countTestOutput(`${outputs.spec}\n${outputs.spec}`), {
    format: 'node-spec',
    passed: 4,
    failed: 2,
    skipped: 8,
  });
});

test('colours and unrelated output do not get in the way; plain text is no report', () => {
  const coloured =
    '\u001b[34mℹ tests 3\u001b[39m\n\u001b[34mℹ pass 2\u001b[39m\n\u001b[34mℹ fail 1\u001b[39m\n';
  assert.deepEqual(countTestOutput(coloured), { format: 'node-spec', passed: 2, failed: 1, skipped: 0 });
  assert.equal(countTestOutput('ok, all good\nbuild finished\n'), undefined);
  assert.equal(countTestOutput(''), undefined);
});

test('a Surefire/Jest-style JUnit file: failures, errors, skips, CDATA and comments', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- <testcase name="commented out"/> -->
<testsuites name="jest tests" tests="6" failures="1" errors="1">
  <testsuite name="cache" tests="6" failures="1" errors="1" skipped="1">
    <testcase classname="cache" name="stores &gt; values" time="0.01"/>
    <testcase classname="cache" name="evicts" time="0.02">
      <failure message="expected 1"><![CDATA[Error: <testcase name="inside cdata"/> expected 1]]></failure>
    </testcase>
    <testcase classname="cache" name="loads" time="0.01"><error type="TypeError">boom</error></testcase>
    <testcase classname="cache" name='quoted "name"' time="0"><skipped/></testcase>
    <testcase classname="cache" name="a > b" time="0.01"></testcase>
    <testcase classname="cache" name="logs" time="0.01"><system-out>all fine</system-out></testcase>
  </testsuite>
</testsuites>`;
  assert.deepEqual(countJUnit(xml), { format: 'junit', passed: 3, failed: 2, skipped: 1 });
  assert.deepEqual(countJUnit('<testsuites></testsuites>'), {
    format: 'junit',
    passed: 0,
    failed: 0,
    skipped: 0,
  });
  assert.equal(countJUnit('no xml here'), undefined);
});

test('xml files named in the output are found', () => {
  const output = [
    'Writing JUnit report to reports/junit.xml',
    'also "out/test-results.xml", and (coverage/cobertura.xml)',
    'abs: /tmp/hyperagent/junit-1.xml.',
    'not a file: .xml or report.xmlx',
    'Writing JUnit report to reports/junit.xml',
  ].join('\n');
  assert.deepEqual(mentionedXmlFiles(output), [
    'reports/junit.xml',
    'out/test-results.xml',
    'coverage/cobertura.xml',
    '/tmp/hyperagent/junit-1.xml',
  ]);
});

test('counts of several reports add up in the first one’s format', () => {
  assert.equal(addCounts([undefined]), undefined);
  assert.deepEqual(
    addCounts([
      undefined,
      { format: 'junit', passed: 1, failed: 2, skipped: 3 },
      { format: 'junit', passed: 10, failed: 0, skipped: 1 },
    ]),
    { format: 'junit', passed: 11, failed: 2, skipped: 4 },
  );
});

test("pytest's summary line, quiet or framed, is read", () => {
  assert.deepEqual(countTestOutput('................................   [100%]\n32 passed in 0.87s\n'), {
    format: 'pytest',
    passed: 32,
    failed: 0,
    skipped: 0,
  });
  assert.deepEqual(
    countTestOutput(
      'FAILED tests/test_server.py::test_stop\n==== 1 failed, 31 passed, 2 skipped, 1 error in 6.75s (0:00:06) ====\n',
    ),
    { format: 'pytest', passed: 31, failed: 2, skipped: 2 },
  );
  assert.equal(countTestOutput('compiled 3 files in 0.2s\n'), undefined, 'not a pytest line');
  assert.equal(countTestOutput('3 files in 0.2s\n'), undefined, 'not a pytest word');
});
