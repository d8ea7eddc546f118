// The commands of one evaluation: typecheck, test, then the benchmark `benchmarkRuns` times. The
// test runs even after a failed typecheck (its counts still tell something); the benchmark runs
// only after both passed, since figures of a broken candidate mean nothing.
import { join } from 'node:path';
import {
  COMMAND_NAMES,
  type CommandReport,
  type SandboxManifest,
} from '../../operator/src/api/sandbox-protocol.js';
import { BENCHMARK_OUTPUT_ENV, collectRuns, readRunFigures, type Figures } from './benchmark.js';
import type { CommandRun } from './commands.js';
import type { Log } from './log.js';
import { readInside } from './safe-read.js';
import { countTestRun } from './test-results.js';
import type { TestCounts } from './test-report.js';

type ManifestCommand = SandboxManifest['commands'][number];

/** Runs one command where the candidate's code may run (the executor in a pod); never rejects for a failing command. */
export type CommandRunner = (command: {
  name: ManifestCommand['name'];
  run: string;
  env: Record<string, string>;
  timeoutMs: number;
}) => Promise<CommandRun>;

export interface SuiteContext {
  sourceDir: string;
  /**
   * Where benchmark runs write their figures: `forCommand` as the command sees it, `forJudge` the
   * same folder as the judge reads it.
   */
  benchmarkDir: { forCommand: string; forJudge: string };
  /** Environment of every command. */
  env: Record<string, string>;
  run: CommandRunner;
  log: Log;
}

export interface SuiteOutcome {
  commands: CommandReport[];
  tests?: TestCounts;
  benchmark?: Record<string, number[]>;
  /** Things the result's message should mention (skipped benchmark, unreadable figures). */
  notes: string[];
}

/** The manifest's commands in protocol order (typecheck, test, benchmark). */
export function orderedCommands(commands: readonly ManifestCommand[]): ManifestCommand[] {
  return [...commands].sort((a, b) => COMMAND_NAMES.indexOf(a.name) - COMMAND_NAMES.indexOf(b.name));
}

/** Whether a command ran to a zero exit. */
export function passed(run: CommandRun): boolean {
  return run.report.exitCode === 0 && !run.report.timedOut && run.spawnError === undefined;
}

/** Runs the manifest's commands; never throws for a failing command, only for runner faults. */
export async function runSuite(manifest: SandboxManifest, context: SuiteContext): Promise<SuiteOutcome> {
  const outcome: SuiteOutcome = { commands: [], notes: [] };
  const spawnNotes = new Set<string>();
  const failed: string[] = [];
  for (const command of orderedCommands(manifest.commands)) {
    if (command.name === 'benchmark') {
      if (failed.length > 0) {
        outcome.notes.push(`benchmark skipped: ${failed.join(' and ')} failed`);
        context.log.line(`benchmark skipped: ${failed.join(' and ')} failed`);
        continue;
      }
      await runBenchmark(manifest, command, context, outcome, spawnNotes);
      continue;
    }
    const startedAt = Date.now();
    const run = await runLogged(command, context, context.env, '', spawnNotes);
    outcome.commands.push(run.report);
    if (!passed(run)) failed.push(command.name);
    if (command.name === 'test') {
      const tests = await countTestRun({
        stdout: run.stdout,
        stderr: run.stderr,
        sourceDir: context.sourceDir,
        startedAt,
      });
      if (tests) outcome.tests = tests;
      else outcome.notes.push('no known test report format in the test output');
    }
  }
  outcome.notes.unshift(...spawnNotes);
  return outcome;
}

async function runBenchmark(
  manifest: SandboxManifest,
  command: ManifestCommand,
  context: SuiteContext,
  outcome: SuiteOutcome,
  spawnNotes: Set<string>,
): Promise<void> {
  const runs: Figures[] = [];
  for (let index = 1; index <= manifest.benchmarkRuns; index++) {
    // A fresh name per run and pod: a file left by an earlier run is never read as this one's.
    const name = `hyperagent-benchmark-${index}-${Date.now().toString(36)}.json`;
    const env = { ...context.env, [BENCHMARK_OUTPUT_ENV]: join(context.benchmarkDir.forCommand, name) };
    const run = await runLogged(command, context, env, ` run ${index}/${manifest.benchmarkRuns}`, spawnNotes);
    outcome.commands.push(run.report);
    if (!passed(run)) {
      // A failing run's figures are not trusted, and neither would later runs' be.
      outcome.notes.push(`benchmark run ${index} failed; later runs skipped`);
      break;
    }
    const file = await readInside(context.benchmarkDir.forJudge, name);
    const figures = readRunFigures(file, run.stdout, manifest.benchmarkKeys);
    if (figures.problem) {
      outcome.notes.push(`benchmark run ${index}: ${figures.problem}`);
      context.log.line(`benchmark run ${index}: ${figures.problem}`);
    } else {
      context.log.line(
        `benchmark run ${index} figures (from ${figures.source}): ${JSON.stringify(figures.figures)}`,
      );
    }
    runs.push(figures.figures);
  }
  const benchmark = collectRuns(runs, manifest.benchmarkKeys);
  if (Object.keys(benchmark).length > 0) outcome.benchmark = benchmark;
}

async function runLogged(
  command: ManifestCommand,
  context: SuiteContext,
  env: Record<string, string>,
  label: string,
  notes: Set<string>,
): Promise<CommandRun> {
  const { log } = context;
  log.line(
    `>>> ${command.name}${label}: sh -c ${JSON.stringify(command.run)} (timeout ${command.timeoutSeconds}s)`,
  );
  const run = await context.run({
    name: command.name,
    run: command.run,
    env,
    timeoutMs: command.timeoutSeconds * 1000,
  });
  const { report } = run;
  const ending = run.spawnError
    ? `could not start: ${run.spawnError}`
    : report.processLimit
      ? `ran more than ${report.processLimit} processes at once; the executor killed them all`
      : report.timedOut
        ? `timed out after ${command.timeoutSeconds}s; its process group was killed`
        : report.signal
          ? `ended by ${report.signal}`
          : `exited ${report.exitCode}`;
  const left = report.lingering
    ? `; it left ${report.lingering} process(es) running, killed by the executor`
    : '';
  log.line(`<<< ${command.name}${label} ${ending} (${report.durationMs} ms)${left}`);
  if (run.spawnError) notes.add(`${command.name} could not run: ${run.spawnError}`);
  return run;
}
