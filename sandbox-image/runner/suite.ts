// The commands of one evaluation: typecheck, test, then the benchmark `benchmarkRuns` times. The
// test runs even after a failed typecheck (its counts still tell something); the benchmark runs
// only after both passed, since figures of a broken candidate mean nothing.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  COMMAND_NAMES,
  type CommandReport,
  type SandboxManifest,
} from '../../operator/src/sandbox/protocol.js';
import { BENCHMARK_OUTPUT_ENV, collectRuns, readRunFigures, type Figures } from './benchmark.js';
import { runCommand, type CommandRun } from './commands.js';
import type { Log } from './log.js';
import { countTestRun } from './test-results.js';
import type { TestCounts } from './test-report.js';

type ManifestCommand = SandboxManifest['commands'][number];

export interface SuiteContext {
  sourceDir: string;
  /** The runner's own scratch folder (benchmark output files). */
  runnerDir: string;
  /** Environment of every command. */
  env: Record<string, string>;
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
  const failed: string[] = [];
  for (const command of orderedCommands(manifest.commands)) {
    if (command.name === 'benchmark') {
      if (failed.length > 0) {
        outcome.notes.push(`benchmark skipped: ${failed.join(' and ')} failed`);
        context.log.line(`benchmark skipped: ${failed.join(' and ')} failed`);
        continue;
      }
      await runBenchmark(manifest, command, context, outcome);
      continue;
    }
    const startedAt = Date.now();
    const run = await runLogged(command, context, context.env, '');
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
  return outcome;
}

async function runBenchmark(
  manifest: SandboxManifest,
  command: ManifestCommand,
  context: SuiteContext,
  outcome: SuiteOutcome,
): Promise<void> {
  const runs: Figures[] = [];
  for (let index = 1; index <= manifest.benchmarkRuns; index++) {
    const outputFile = join(context.runnerDir, `benchmark-${index}.json`);
    await rm(outputFile, { force: true });
    const env = { ...context.env, [BENCHMARK_OUTPUT_ENV]: outputFile };
    const run = await runLogged(command, context, env, ` run ${index}/${manifest.benchmarkRuns}`);
    outcome.commands.push(run.report);
    if (!passed(run)) {
      // A failing run's figures are not trusted, and neither would later runs' be.
      outcome.notes.push(`benchmark run ${index} failed; later runs skipped`);
      break;
    }
    const file = await readFile(outputFile, 'utf8').catch(() => undefined);
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
): Promise<CommandRun> {
  const { log } = context;
  log.line(
    `>>> ${command.name}${label}: sh -c ${JSON.stringify(command.run)} (timeout ${command.timeoutSeconds}s)`,
  );
  const run = await runCommand({
    name: command.name,
    run: command.run,
    cwd: context.sourceDir,
    env,
    timeoutMs: command.timeoutSeconds * 1000,
    onOutput: (chunk) => log.stream(chunk),
  });
  const { report } = run;
  const ending = run.spawnError
    ? `could not start: ${run.spawnError}`
    : report.timedOut
      ? `timed out after ${command.timeoutSeconds}s; its process group was killed`
      : report.signal
        ? `ended by ${report.signal}`
        : `exited ${report.exitCode}`;
  log.line(`<<< ${command.name}${label} ${ending} (${report.durationMs} ms)`);
  return run;
}
