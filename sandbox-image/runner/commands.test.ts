import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { commandEnv, OutputTail, runCommand, type CommandSpec } from './commands.js';
import { tempDir } from './test-helpers.js';

async function spec(run: string, overrides: Partial<CommandSpec> = {}): Promise<CommandSpec> {
  return {
    name: 'test',
    run,
    cwd: await tempDir(),
    env: commandEnv(process.env, '/tmp', {}, {}),
    timeoutMs: 10_000,
    ...overrides,
  };
}

/** Processes in process group `group` that are still alive (zombies awaiting their reaper are dead). */
async function livingMembers(group: number): Promise<number[]> {
  const living: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === group && fields[0] !== 'Z') living.push(Number(entry));
  }
  return living;
}

/** Pid of the process group leader: the `sh` the command ran in prints its own pid first. */
function leaderOf(stdout: string): number {
  return Number(stdout.split('\n')[0]);
}

test('the environment is minimal, takes the manifest values and keeps the runner variables last', () => {
  const env = commandEnv(
    {
      PATH: '/bin:/usr/bin',
      LANG: 'en_US.UTF-8',
      NODE_ENV: 'production',
      SECRET: 'runner only',
      HOME: '/root',
    },
    '/scratch',
    { CACHE_SIZE: '128', NODE_ENV: 'test', HYPERAGENT_PARAMETERS_FILE: '/elsewhere' },
    { HYPERAGENT_PARAMETERS_FILE: '/scratch/hyperagent/parameters.json' },
  );
  assert.deepEqual(env, {
    PATH: '/bin:/usr/bin',
    HOME: '/scratch',
    TMPDIR: '/scratch',
    LANG: 'en_US.UTF-8',
    CI: 'true',
    CACHE_SIZE: '128',
    HYPERAGENT_PARAMETERS_FILE: '/scratch/hyperagent/parameters.json',
  });
  assert.equal(
    commandEnv({}, '/tmp', {}, {}).PATH,
    '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  );
  assert.equal(commandEnv({}, '/tmp', {}, {}).LANG, 'C.UTF-8');
});

test('a command runs by sh in its directory with its environment; output is kept and streamed', async () => {
  const streamed: Buffer[] = [];
  const command = await spec(
    'pwd; echo "size=$CACHE_SIZE node_env=${NODE_ENV-unset}"; echo oops >&2; exit 3',
    {
      env: commandEnv(process.env, '/tmp', { CACHE_SIZE: '64' }, {}),
      onOutput: (chunk) => streamed.push(chunk),
    },
  );
  const run = await runCommand(command);
  assert.equal(run.stdout, `${command.cwd}\nsize=64 node_env=unset\n`);
  assert.equal(run.stderr, 'oops\n');
  assert.deepEqual(
    { ...run.report, durationMs: 0 },
    { name: 'test', exitCode: 3, timedOut: false, durationMs: 0 },
  );
  assert.match(Buffer.concat(streamed).toString(), /size=64[\s\S]*oops|oops[\s\S]*size=64/);
});

test('a timeout kills the whole process group, forked children included', async () => {
  const started = Date.now();
  const run = await runCommand(await spec('echo $$; sleep 30 & sleep 30 & sleep 30', { timeoutMs: 500 }));
  const elapsed = Date.now() - started;
  assert.equal(run.report.timedOut, true);
  assert.equal(run.report.signal, 'SIGKILL');
  assert.equal(run.report.exitCode, null);
  assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  assert.ok(run.report.durationMs >= 450);
  assert.deepEqual(await livingMembers(leaderOf(run.stdout)), []);
});

test('processes a finished command left behind are killed, and do not hold the runner up', async () => {
  const started = Date.now();
  const run = await runCommand(await spec('echo $$; sleep 30 & echo started'));
  assert.ok(Date.now() - started < 5000);
  assert.equal(run.report.exitCode, 0);
  assert.equal(run.report.timedOut, false);
  assert.equal(run.report.signal, undefined);
  assert.match(run.stdout, /started\n$/);
  assert.deepEqual(await livingMembers(leaderOf(run.stdout)), []);
});

test('a command that cannot start reports why', async () => {
  const run = await runCommand({ ...(await spec('true')), cwd: '/nonexistent/dir' });
  assert.match(run.spawnError ?? '', /ENOENT/);
  assert.equal(run.report.exitCode, null);
});

test('only the tail of long output is kept, from a line boundary', async () => {
  const run = await runCommand(
    await spec('for i in $(seq 1 2000); do echo "line $i"; done', { tailBytes: 100 }),
  );
  const lines = run.stdout.split('\n');
  assert.equal(lines.at(-2), 'line 2000');
  assert.match(lines[0] ?? '', /^line \d+$/);
  assert.ok(Buffer.byteLength(run.stdout) <= 100);

  const tail = new OutputTail(10);
  tail.push(Buffer.from('abc\n'));
  assert.equal(tail.text(), 'abc\n');
  tail.push(Buffer.from('defgh\nij'));
  assert.equal(tail.text(), 'defgh\nij', 'the cut line "c" is dropped');
});
