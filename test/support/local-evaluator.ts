// Evaluates a candidate on this machine, for engine tests that must not need a cluster: a git
// worktree at the parent's commit, the diff applied with `git apply`, the repository's own tests
// run, then its benchmark with the candidate's parameter values in the environment. The cluster's
// sandbox pod does the same work under isolation; this is its stand-in in tests only.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProposedCandidate } from '../../operator/src/propose/candidate.js';
import type { ParameterSpec, ParameterValues } from '../../operator/src/api/parameters.js';

const run = promisify(execFile);

/** How one candidate fared, as the sandbox would report it. */
export interface Evaluation {
  passed: boolean;
  score?: number;
  /** One line per failed invariant, with figures. */
  reasons: string[];
}

export interface LocalEvaluation {
  /** A clone holding the parent's commit. */
  repoDir: string;
  /** Commit the candidate starts from. */
  baseCommit: string;
  candidate: ProposedCandidate;
  /** Full parameter values the candidate runs with. */
  parameters: ParameterValues;
  declared: readonly ParameterSpec[];
  /** Key of the benchmark figure to minimise. */
  benchmarkKey: string;
}

/** Tests must pass; the score is the benchmark figure negated (higher is better). */
export async function evaluateLocally(input: LocalEvaluation): Promise<Evaluation> {
  const tree = await mkdtemp(join(tmpdir(), 'candidate-'));
  try {
    await run('git', ['worktree', 'add', '-q', '--detach', tree, input.baseCommit], { cwd: input.repoDir });
    if (input.candidate.kind === 'code') {
      const apply = await runWithInput(
        'git',
        ['apply', '--whitespace=nowarn', '-'],
        tree,
        input.candidate.diff,
      );
      if (apply.code !== 0)
        return { passed: false, reasons: [`the diff does not apply: ${apply.stderr.trim()}`] };
    }
    const env = { ...process.env, ...environmentOf(input.parameters, input.declared) };
    const tests = await runWithInput(process.execPath, ['--test'], tree, '', env);
    if (tests.code !== 0) return { passed: false, reasons: ['TestsPass: the test command failed'] };
    const bench = await run(process.execPath, ['bench/run.mjs'], { cwd: tree, env });
    const figure = (JSON.parse(bench.stdout) as Record<string, number>)[input.benchmarkKey];
    if (typeof figure !== 'number') {
      return { passed: false, reasons: [`the benchmark did not report ${input.benchmarkKey}`] };
    }
    return { passed: true, score: -figure, reasons: [] };
  } finally {
    await run('git', ['worktree', 'remove', '--force', tree], { cwd: input.repoDir }).catch(() => undefined);
    await rm(tree, { recursive: true, force: true });
  }
}

function environmentOf(values: ParameterValues, declared: readonly ParameterSpec[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const parameter of declared) {
    const value = values[parameter.name];
    if (parameter.env && value !== undefined) env[parameter.env] = String(value);
  }
  return env;
}

function runWithInput(
  command: string,
  args: string[],
  cwd: string,
  input: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { cwd, env }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr });
    });
    // a command that exits before reading its input (a refused patch, say) closes the pipe: its
    // exit code tells the outcome, and the EPIPE of the unread input is no error of the test
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
