// The command proposer with LocalProcessRunner running small node programs: what they read, and
// every way they can fail (garbage, exit codes, hangs, floods, stragglers) as attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ProposalRequest, ProposalResult } from './candidate.js';
import {
  commandInput,
  CommandProposer,
  type CommandProposerOptions,
  type CommandRunner,
  type CommandRunRequest,
} from './command.js';
import { LocalProcessRunner } from './local-runner.js';
import { ARCHIVE, proposalRequest } from '../../../test/support/proposal-request.js';

/** A node program given as source text, run without a shell. */
function node(source: string): string[] {
  return [process.execPath, '-e', source];
}

const READ_STDIN = `
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (text += chunk));
process.stdin.on('end', () => main(JSON.parse(text)));
`;

const GOOD_PROGRAM = `${READ_STDIN}
function main(input) {
  const size = input.start['cache-size'] + 16 * input.seed;
  process.stdout.write(JSON.stringify({ candidates: [
    { kind: 'config', parameters: [{ name: 'cache-size', value: size }],
      summary: 'cache ' + size + ' for ' + input.agent.name + ' seed ' + process.env.HYPERAGENT_SEED,
      rationale: 'secret=' + (process.env.HYPERAGENT_TEST_SECRET ?? 'absent') + ' archive=' + input.archive.length },
  ] }));
}`;

function proposer(command: string[], options: Partial<CommandProposerOptions> = {}) {
  return new CommandProposer({
    command,
    image: 'ignored.example/proposer:1',
    runner: new LocalProcessRunner({ killGraceMs: 200 }),
    timeoutMs: 5000,
    ...options,
  });
}

function only(result: ProposalResult) {
  assert.equal(result.attempts.length, 1, JSON.stringify(result.attempts));
  assert.deepEqual(result.usage, { promptTokens: 0, completionTokens: 0, costUSD: 0 });
  return result.attempts[0] as ProposalResult['attempts'][number];
}

test('a program reads the request on stdin and its candidates are read from stdout', async () => {
  process.env.HYPERAGENT_TEST_SECRET = 'do-not-pass-me';
  try {
    const result = await proposer(node(GOOD_PROGRAM)).propose(proposalRequest());
    const attempt = only(result);
    assert.equal(attempt.outcome, 'ok');
    assert.equal(attempt.message, '1 candidate(s)');
    assert.deepEqual(result.candidates, [
      {
        kind: 'config',
        parameters: { 'cache-size': 368 },
        summary: 'cache 368 for quote seed 7',
        rationale: 'secret=absent archive=4',
      },
    ]);
  } finally {
    delete process.env.HYPERAGENT_TEST_SECRET;
  }
});

test('the input is plain request data: no signal, no token budget, a bounded archive', () => {
  const archive = Array.from({ length: 5 }, (_, i) => ({ ...ARCHIVE[0]!, id: `c${i}/1`, commit: 'abc' }));
  const request = proposalRequest({ archive, parent: ARCHIVE[1], signal: new AbortController().signal });
  const input = commandInput(request, 3);
  assert.deepEqual(Object.keys(input).sort(), [
    'agent',
    'allowedPaths',
    'archive',
    'archiveOmitted',
    'current',
    'cycle',
    'deadline',
    'goal',
    'hotSpots',
    'maxCandidates',
    'parameters',
    'parent',
    'protectedPaths',
    'seed',
    'start',
    'version',
  ]);
  assert.equal(input.version, 1);
  assert.deepEqual(
    input.archive.map((e) => e.id),
    ['c2/1', 'c3/1', 'c4/1'],
  );
  assert.equal(input.archiveOmitted, 2);
  assert.ok(input.archive.every((e) => !('commit' in e) && !('evaluatedAt' in e)));
  assert.equal(input.start['cache-size'], 512);
  assert.equal(input.parent?.id, 'quote-c5/2');
  assert.equal(input.deadline, request.budget.deadline.toISOString());
  assert.equal(input.hotSpots[0]?.route, '/quote');
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(input)));
});

test('failures are attempts with clear outcomes, never throws', async () => {
  const cases: [string, string[], string, RegExp][] = [
    [
      'garbage',
      node('process.stdout.write("I think you should add a cache")'),
      'malformed',
      /^stdout: not JSON/,
    ],
    ['empty', node(''), 'malformed', /^stdout: not JSON/],
    [
      'non-zero exit',
      node('process.stderr.write("proposer: model file missing\\n"); process.exit(3)'),
      'error',
      /^the command exited with code 3; stderr: proposer: model file missing$/,
    ],
    ['killed', node('process.kill(process.pid, "SIGKILL")'), 'error', /^the command was ended by SIGKILL$/],
    [
      'bad candidates only',
      node(
        'process.stdout.write(JSON.stringify({candidates:[{kind:"config",parameters:[{name:"cache-size",value:5}],summary:"s",rationale:"r"}]}))',
      ),
      'malformed',
      /^no usable candidate: candidate 1: config: parameter 'cache-size' = 5 is below min 16$/,
    ],
    [
      'missing program',
      ['/nonexistent/proposer'],
      'error',
      /^could not run the command: cannot start .*ENOENT/,
    ],
  ];
  for (const [name, command, outcome, message] of cases) {
    const result = await proposer(command).propose(proposalRequest());
    const attempt = only(result);
    assert.equal(attempt.outcome, outcome, name);
    assert.match(attempt.message, message, name);
    assert.deepEqual(result.candidates, [], name);
  }
});

test('a program that does not finish is stopped at the timeout, even if it ignores SIGTERM', async () => {
  for (const source of [
    'setTimeout(() => {}, 60_000)',
    'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)',
  ]) {
    const started = Date.now();
    const result = await proposer(node(source), { timeoutMs: 300 }).propose(proposalRequest());
    const elapsed = Date.now() - started;
    const attempt = only(result);
    assert.equal(attempt.outcome, 'timeout', source);
    assert.match(attempt.message, /^the command did not finish within 300 ms/);
    assert.ok(elapsed >= 290 && elapsed < 2000, `${elapsed} ms`);
  }
});

test('the budget deadline cuts the timeout, and a passed deadline means no run at all', async () => {
  const started = Date.now();
  const soon = proposalRequest({
    budget: { maxTokens: 0, maxCostUSD: 0, deadline: new Date(Date.now() + 250) },
  });
  const result = await proposer(node('setTimeout(() => {}, 60_000)'), { timeoutMs: 60_000 }).propose(soon);
  assert.equal(only(result).outcome, 'timeout');
  assert.ok(Date.now() - started < 2000);

  let runs = 0;
  const counting: CommandRunner = {
    run: async (_request: CommandRunRequest) => {
      runs += 1;
      throw new Error('should not run');
    },
  };
  const past = proposalRequest({
    budget: { maxTokens: 0, maxCostUSD: 0, deadline: new Date(Date.now() - 1) },
  });
  const refused = await proposer(['x'], { runner: counting }).propose(past);
  assert.equal(only(refused).outcome, 'budget');
  assert.match(only(refused).message, /^not run: the deadline .* has passed$/);
  assert.equal(runs, 0);
});

test('stdout beyond the limit stops the program and is malformed', async () => {
  const flood = node(
    'const line = "x".repeat(65536); const write = () => { while (process.stdout.write(line)); }; process.stdout.on("drain", write); write();',
  );
  const started = Date.now();
  const result = await proposer(flood, { maxStdoutBytes: 1024 * 1024 }).propose(proposalRequest());
  const attempt = only(result);
  assert.equal(attempt.outcome, 'malformed');
  assert.equal(attempt.message, 'the command printed more than 1048576 bytes on stdout; it was stopped');
  assert.ok(Date.now() - started < 3000);
});

test('processes the program leaves behind in its group are killed when it exits', async () => {
  const source = `
    const { spawn } = require('node:child_process');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'inherit' });
    process.stderr.write(String(child.pid));
    process.stdout.write(JSON.stringify({ candidates: [] }));
    process.exit(0);`;
  const runner = new LocalProcessRunner({ killGraceMs: 200 });
  const started = Date.now();
  const run = await runner.run({
    command: node(source),
    stdin: '',
    env: {},
    timeoutMs: 5000,
    maxStdoutBytes: 1024,
  });
  assert.equal(run.exitCode, 0);
  assert.equal(run.timedOut, false);
  assert.ok(Date.now() - started < 3000, 'did not wait for the straggler');
  const pid = Number(run.stderr);
  assert.ok(pid > 0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(alive(pid), false);
});

/** Whether `pid` runs: a killed process nobody has reaped yet (a zombie) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('stderr is kept as a bounded tail', async () => {
  const runner = new LocalProcessRunner({ maxStderrBytes: 1000 });
  const run = await runner.run({
    command: node('for (let i = 0; i < 2000; i++) process.stderr.write("line " + i + "\\n");'),
    stdin: '',
    env: {},
    timeoutMs: 5000,
    maxStdoutBytes: 10,
  });
  assert.ok(Buffer.byteLength(run.stderr) <= 1000 + 64 * 1024, 'bounded by the limit plus one chunk');
  assert.match(run.stderr, /line 1999\n$/);
  assert.doesNotMatch(run.stderr, /^line 0\n/);
});

test('a caller abort stops the program and the round', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const started = Date.now();
  const request: ProposalRequest = proposalRequest({ signal: controller.signal });
  const result = await proposer(node('setTimeout(() => {}, 60_000)')).propose(request);
  assert.deepEqual(
    result.attempts.map((a) => [a.outcome, a.message]),
    [['error', 'cancelled by the caller']],
  );
  assert.ok(Date.now() - started < 2000);
});
