// The executor as it runs in a pod: init of its own PID namespace, another uid than the judge.
// These tests play the candidate: each command below is something hostile code could do.
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ExecutorAnswer } from './executor-client.js';
import { startExecutor, TEST_CANDIDATE_UID, type StartedExecutor } from './executor-process.js';
import { tempDir } from './test-helpers.js';

async function started(): Promise<StartedExecutor & { source: string }> {
  const source = await tempDir('hyperagent-executor-src-');
  await chmod(source, 0o777);
  const control = await tempDir('hyperagent-executor-ctl-');
  const executor = await startExecutor(source, control);
  after(async () => {
    await executor.connection.request({ op: 'exit' }).catch(() => undefined);
    executor.connection.close();
  });
  return { ...executor, source };
}

async function run(executor: StartedExecutor, script: string, timeoutMs = 10_000): Promise<ExecutorAnswer> {
  return executor.connection.request({
    op: 'run',
    name: 'test',
    argv: ['sh', '-c', script],
    env: { HOME: '/tmp', TMPDIR: '/tmp' },
    timeoutMs,
  });
}

const text = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('utf8');

test('the executor is init of its namespace, under the candidate uid, and reports exit codes and output', async () => {
  const executor = await started();
  assert.equal(executor.connection.hello.pid, 1);
  assert.equal(executor.connection.hello.uid, TEST_CANDIDATE_UID);
  const answer = await run(executor, 'echo out; echo err >&2; exit 3');
  assert.equal(answer.exitCode, 3);
  assert.equal(text(answer.stdout), 'out\n');
  assert.equal(text(answer.stderr), 'err\n');
  assert.equal(answer.lingering ?? 0, 0);
});

test('a detached process is counted and killed before the executor answers', async () => {
  const executor = await started();
  const answer = await run(
    executor,
    `setsid sh -c 'sleep 30' </dev/null >/dev/null 2>&1 & (sleep 40 &) ; nohup sleep 50 >/dev/null 2>&1 & echo started`,
  );
  assert.equal(answer.exitCode, 0);
  // Three detached sleeps, and sometimes a shell that had not yet exec'd its sleep.
  assert.ok((answer.lingering ?? 0) >= 3, `lingering ${answer.lingering}`);
  const after = await run(executor, 'ps -e -o pid=,comm= 2>/dev/null || ls /proc | grep -E "^[0-9]+$"');
  assert.doesNotMatch(text(after.stdout), /sleep/, 'no sleep survived into the next command');
});

test('a timeout kills everything the command started, however it detached', async () => {
  const executor = await started();
  const started_ = Date.now();
  const answer = await run(executor, 'setsid sleep 60 & sleep 60', 500);
  assert.equal(answer.timedOut, true);
  assert.equal(answer.signal, 'SIGKILL');
  assert.ok(Date.now() - started_ < 8000);
});

test('a fork bomb is stopped at the process limit, whatever the node allows, and said to be', async () => {
  const executor = await started();
  const began = Date.now();
  const answer = await executor.connection.request({
    op: 'run',
    name: 'test',
    argv: ['sh', '-c', 'w() { w | w & }; w; sleep 30'],
    env: { HOME: '/tmp', TMPDIR: '/tmp' },
    // Generous: on a busy machine the bomb can starve the executor's count for seconds.
    timeoutMs: 60_000,
    processLimit: 40,
  });
  assert.equal(answer.processLimit, 40);
  assert.equal(
    answer.timedOut ?? false,
    false,
    `stopped by the limit, not the timeout (${Date.now() - began} ms)`,
  );
  const after = await run(executor, 'ls /proc | grep -cE "^[0-9]+$"');
  assert.ok(Number(text(after.stdout).trim()) < 10, `processes left: ${text(after.stdout)}`);
  const calm = await run(executor, 'for i in 1 2 3; do sleep 0.1 & done; wait; echo ok');
  assert.equal(calm.processLimit ?? 0, 0, 'a few processes are no fork bomb');
});

test('candidate code cannot signal, trace or read the executor', async () => {
  const executor = await started();
  const answer = await run(
    executor,
    [
      'for s in HUP INT QUIT USR1 USR2 PIPE ALRM TERM TSTP TTIN TTOU KILL STOP SEGV BUS TRAP SYS; do kill -s $s 1 2>/dev/null; done',
      'cat /proc/1/environ >/dev/null 2>&1 && echo READ-ENVIRON',
      'ls /proc/1/fd >/dev/null 2>&1 && echo READ-FDS',
      'cat /proc/1/mem >/dev/null 2>&1 && echo READ-MEM',
      'echo done',
    ].join('; '),
  );
  assert.equal(text(answer.stdout), 'done\n');
  const still = await run(executor, 'echo still here');
  assert.equal(text(still.stdout), 'still here\n', 'the executor survived every signal');
});

test('writes stay inside the source tree and replace links instead of following them', async () => {
  const executor = await started();
  const outside = await tempDir('hyperagent-executor-outside-');
  await writeFile(join(outside, 'victim'), 'untouched');
  await symlink(join(outside, 'victim'), join(executor.source, 'link.ts'));
  await symlink(outside, join(executor.source, 'linked-dir'));
  const ok = await executor.connection.request({
    op: 'write',
    files: [
      { path: 'src/new.ts', base64: Buffer.from('export const a = 1;\n').toString('base64') },
      { path: 'link.ts', base64: Buffer.from('replaced').toString('base64') },
    ],
    deleted: [],
  });
  assert.equal(ok.ok, true, ok.error);
  assert.equal(await readFile(join(executor.source, 'src/new.ts'), 'utf8'), 'export const a = 1;\n');
  assert.equal((await lstat(join(executor.source, 'link.ts'))).isFile(), true);
  assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'untouched');
  for (const path of ['../escape.ts', '/etc/passwd', 'linked-dir/victim', 'a/../../b']) {
    const refused = await executor.connection.request({
      op: 'write',
      files: [{ path, base64: Buffer.from('x').toString('base64') }],
      deleted: [],
    });
    assert.equal(refused.ok, false, `${path} must be refused`);
  }
  assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'untouched');
});

test('a command that kills its output pipes or floods output still gets an answer', async () => {
  const executor = await started();
  await mkdir(join(executor.source, 'x'), { recursive: true });
  const answer = await run(
    executor,
    'head -c 3000000 /dev/zero | tr "\\0" a; exec >&-; exec 2>&-; sleep 0.2',
  );
  assert.equal(answer.exitCode, 0);
  assert.equal(answer.outputBytes, 3_000_000);
  assert.equal(text(answer.stdout).length, 1024 * 1024);
});
