// Commands run by the executor in the candidate's container, seen by the judge as CommandRuns.
// The executor answers only once the command and everything it left behind have ended, so when
// this resolves no candidate process is running.
import type { CommandReport } from '../../operator/src/api/sandbox-protocol.js';
import type { CommandRun } from './commands.js';
import { ExecutorLostError, type ExecutorConnection } from './executor-client.js';
import type { Log } from './log.js';
import type { CommandRunner } from './suite.js';

/** Output kept per stream for parsing (test counts, benchmark figures); the candidate's log has all of it. */
export const TAIL_BYTES = 1024 * 1024;

/**
 * A CommandRunner over `executor`. A lost executor (the candidate container died: out of memory,
 * killed) is a command without an exit code whose message says so; the runner then refuses every
 * later command the same way.
 */
export function executorRunner(executor: ExecutorConnection, log: Log): CommandRunner {
  let lost: string | undefined;
  return async (command) => {
    const unfinished = (why: string): CommandRun => ({
      report: { name: command.name, exitCode: null, timedOut: false, durationMs: 0 },
      stdout: '',
      stderr: '',
      spawnError: why,
    });
    if (lost) return unfinished(lost);
    try {
      const answer = await executor.request({
        op: 'run',
        name: command.name,
        argv: ['sh', '-c', command.run],
        env: command.env,
        timeoutMs: command.timeoutMs,
        tailBytes: TAIL_BYTES,
      });
      if (!answer.ok)
        return unfinished(`the executor refused the command: ${answer.error ?? 'no reason given'}`);
      const report: CommandReport = {
        name: command.name,
        exitCode: answer.exitCode ?? null,
        timedOut: answer.timedOut ?? false,
        durationMs: answer.durationMs ?? 0,
      };
      if (answer.signal) report.signal = answer.signal;
      if (answer.lingering) report.lingering = answer.lingering;
      if (answer.processLimit) report.processLimit = answer.processLimit;
      const stdout = decode(answer.stdout);
      const stderr = decode(answer.stderr);
      // The candidate's output is in its own container's log; the judge's log shows the tail.
      const shown = stdout.slice(-2000) + (stderr ? `\n${stderr.slice(-2000)}` : '');
      if (shown.trim()) log.stream(`${shown.replace(/\n?$/, '\n')}`);
      return {
        report,
        stdout,
        stderr,
        ...(answer.spawnError ? { spawnError: answer.spawnError } : {}),
      };
    } catch (error) {
      if (!(error instanceof ExecutorLostError)) throw error;
      lost = `${error.message}`;
      return unfinished(lost);
    }
  };
}

function decode(base64: string | undefined): string {
  return base64 ? Buffer.from(base64, 'base64').toString('utf8') : '';
}
