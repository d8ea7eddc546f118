import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { countTestRun } from './test-results.js';
import { tempDir, writeFiles } from './test-helpers.js';

const junit = (passed: number, failed: number): string =>
  `<testsuite>${'<testcase name="p"/>'.repeat(passed)}${'<testcase name="f"><failure/></testcase>'.repeat(failed)}</testsuite>`;

test('output in a known format wins over any file', async () => {
  const sourceDir = await tempDir();
  await writeFiles(sourceDir, { 'junit.xml': junit(5, 5) });
  const counts = await countTestRun({ stdout: '# pass 3\n# fail 0\n', stderr: '', sourceDir, startedAt: 0 });
  assert.deepEqual(counts, { format: 'tap', passed: 3, failed: 0, skipped: 0 });
});

test('stderr is read when stdout has no report, then JUnit XML printed on stdout', async () => {
  const sourceDir = await tempDir();
  const fromStderr = await countTestRun({
    stdout: 'building…\n',
    stderr: 'ℹ pass 1\nℹ fail 1\n',
    sourceDir,
    startedAt: 0,
  });
  assert.deepEqual(fromStderr, { format: 'node-spec', passed: 1, failed: 1, skipped: 0 });
  const inline = await countTestRun({ stdout: junit(2, 1), stderr: '', sourceDir, startedAt: 0 });
  assert.deepEqual(inline, { format: 'junit', passed: 2, failed: 1, skipped: 0 });
});

test('JUnit files the output names are read inside the source tree only, relative or absolute', async () => {
  const sourceDir = await tempDir();
  const elsewhere = await tempDir();
  await writeFiles(sourceDir, { 'reports/unit.xml': junit(2, 0) });
  await writeFiles(sourceDir, { 'reports/more.xml': junit(1, 1) });
  // Outside the tree: the output names whatever it likes, the judge reads none of it.
  await writeFiles(elsewhere, { 'forged.xml': junit(100, 0) });
  const counts = await countTestRun({
    stdout: `Report written to reports/unit.xml\nand ${join(sourceDir, 'reports/more.xml')}\nand ${join(elsewhere, 'forged.xml')}\n`,
    stderr: '',
    sourceDir,
    startedAt: Date.now() + 60_000,
  });
  assert.deepEqual(counts, { format: 'junit', passed: 3, failed: 1, skipped: 0 });
});

test('otherwise JUnit-named files written during the run are found; older ones are stale', async () => {
  const sourceDir = await tempDir();
  await writeFiles(sourceDir, {
    'junit.xml': junit(100, 0),
    'packages/a/test-results.xml': junit(2, 1),
    'packages/b/junit-report.xml': junit(1, 0),
    'node_modules/dep/junit.xml': junit(50, 0),
    'packages/c/other.xml': junit(7, 0),
  });
  const startedAt = Date.now() - 1000;
  const stale = new Date(startedAt - 60_000);
  await utimes(join(sourceDir, 'junit.xml'), stale, stale);
  const counts = await countTestRun({ stdout: 'done\n', stderr: '', sourceDir, startedAt });
  assert.deepEqual(counts, { format: 'junit', passed: 3, failed: 1, skipped: 0 });
  assert.equal(
    await countTestRun({ stdout: '', stderr: '', sourceDir, startedAt: Date.now() + 60_000 }),
    undefined,
  );
});
