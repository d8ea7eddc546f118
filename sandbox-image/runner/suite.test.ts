// The suite through the real executor, as in a pod: commands run under the candidate's uid in a
// PID namespace of their own.
import assert from 'node:assert/strict';
import { chmod, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { commandEnv } from './commands.js';
import { startExecutor } from './executor-process.js';
import { executorRunner } from './executor-runner.js';
import { createLog } from './log.js';
import { orderedCommands, runSuite, type SuiteContext } from './suite.js';
import { sampleManifest, tempDir } from './test-helpers.js';

async function context(): Promise<SuiteContext & { logged: () => string; scratch: string }> {
  const sourceDir = await tempDir();
  const scratch = await tempDir();
  await chmod(sourceDir, 0o777);
  await chmod(scratch, 0o777);
  const executor = await startExecutor(sourceDir, await tempDir());
  after(() => executor.connection.close());
  let text = '';
  const log = createLog((chunk) => void (text += chunk.toString()));
  return {
    sourceDir,
    scratch,
    benchmarkDir: { forCommand: scratch, forJudge: scratch },
    env: commandEnv(scratch, {}, {}),
    run: executorRunner(executor.connection, log),
    log,
    logged: () => text,
  };
}

const command = (name: 'typecheck' | 'test' | 'benchmark', run: string) => ({
  name,
  run,
  timeoutSeconds: 10,
});

test('commands run in protocol order whatever the manifest order', () => {
  const ordered = orderedCommands([
    command('benchmark', 'b'),
    command('test', 't'),
    command('typecheck', 'c'),
  ]);
  assert.deepEqual(
    ordered.map((each) => each.name),
    ['typecheck', 'test', 'benchmark'],
  );
});

test('all pass: tests counted, the benchmark runs every time and its figures are collected', async () => {
  const ctx = await context();
  const outcome = await runSuite(
    sampleManifest({
      commands: [
        command(
          'benchmark',
          'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "{\\"rps\\": $((n*100)), \\"p99_ms\\": 4$n}"',
        ),
        command('test', 'printf "TAP version 13\\nok 1 - a\\nok 2 - b # SKIP\\n1..2\\n"'),
        command('typecheck', 'true'),
      ],
      benchmarkKeys: ['p99_ms', 'rps'],
      benchmarkRuns: 3,
    }),
    ctx,
  );
  assert.deepEqual(
    outcome.commands.map((report) => [report.name, report.exitCode]),
    [
      ['typecheck', 0],
      ['test', 0],
      ['benchmark', 0],
      ['benchmark', 0],
      ['benchmark', 0],
    ],
  );
  assert.deepEqual(outcome.tests, { format: 'tap', passed: 1, failed: 0, skipped: 1 });
  assert.deepEqual(outcome.benchmark, { p99_ms: [41, 42, 43], rps: [100, 200, 300] });
  assert.deepEqual(outcome.notes, []);
  assert.match(ctx.logged(), /\[hyperagent\] >>> benchmark run 3\/3: sh -c /);
  assert.match(ctx.logged(), /\[hyperagent\] <<< test exited 0 \(\d+ ms\)/);
});

test('each benchmark run gets its own output file, which wins over stdout', async () => {
  const ctx = await context();
  const outcome = await runSuite(
    sampleManifest({
      commands: [
        command(
          'benchmark',
          'echo "{\\"rps\\": 1}"; echo "{\\"rps\\": 2, \\"path\\": \\"$HYPERAGENT_BENCHMARK_OUTPUT\\"}" > "$HYPERAGENT_BENCHMARK_OUTPUT"',
        ),
      ],
      benchmarkKeys: ['rps'],
      benchmarkRuns: 2,
    }),
    ctx,
  );
  assert.deepEqual(outcome.benchmark, { rps: [2, 2] });
  const files = (await readdir(ctx.scratch))
    .filter((name) => name.startsWith('hyperagent-benchmark-'))
    .sort();
  assert.equal(files.length, 2, 'one file per run');
  for (const name of files) {
    const written = JSON.parse(await readFile(join(ctx.scratch, name), 'utf8')) as { path: string };
    assert.equal(written.path, join(ctx.scratch, name), 'each run was told its own file');
  }
});

test('a failed typecheck still runs the test, but not the benchmark', async () => {
  const ctx = await context();
  const outcome = await runSuite(
    sampleManifest({
      commands: [
        command('typecheck', 'exit 2'),
        command('test', 'echo "# pass 3"; echo "# fail 1"; exit 1'),
        command('benchmark', 'echo "{}"'),
      ],
    }),
    ctx,
  );
  assert.deepEqual(
    outcome.commands.map((report) => [report.name, report.exitCode]),
    [
      ['typecheck', 2],
      ['test', 1],
    ],
  );
  assert.deepEqual(outcome.tests, { format: 'tap', passed: 3, failed: 1, skipped: 0 });
  assert.deepEqual(outcome.notes, ['benchmark skipped: typecheck and test failed']);
  assert.equal(outcome.benchmark, undefined);
});

test('a failing benchmark run stops the runs and its figures are not used', async () => {
  const ctx = await context();
  const outcome = await runSuite(
    sampleManifest({
      commands: [
        command(
          'benchmark',
          'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "{\\"rps\\": $n}"; [ $n -lt 2 ]',
        ),
      ],
      benchmarkKeys: ['rps'],
      benchmarkRuns: 5,
    }),
    ctx,
  );
  assert.deepEqual(
    outcome.commands.map((report) => report.exitCode),
    [0, 1],
  );
  assert.deepEqual(outcome.benchmark, { rps: [1] });
  assert.deepEqual(outcome.notes, ['benchmark run 2 failed; later runs skipped']);
});

test('a test run in no known format is noted', async () => {
  const ctx = await context();
  const outcome = await runSuite(sampleManifest({ commands: [command('test', 'echo all good')] }), ctx);
  assert.equal(outcome.tests, undefined);
  assert.deepEqual(outcome.notes, ['no known test report format in the test output']);
});
