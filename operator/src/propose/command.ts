// Candidates from a program the user supplies (spec.improvement.proposer.command): the operator
// writes the proposal request as JSON on its stdin and reads the answer from its stdout, in the
// same format an LLM gives (candidate-schema.ts).
//
// Input, one JSON object (`CommandInput`, version 1):
//   version        1
//   agent          { namespace, name }
//   cycle          the ImprovementCycle's name
//   goal           the agent's goal, as the user wrote it
//   parameters     the declared tunables: name, env or configKey, type, min, max, step, choices
//   current        values the deployed service runs with, by parameter name
//   start          values a config change applies to (current, overlaid with the parent's)
//   parent         { id, summary, verdict, score?, parameters?, commit? } or null for the baseline
//   archive        past attempts, newest last: { id, cycle, kind, summary, verdict, score?,
//                  parameters?, reasons?, parent? }; at most `archiveLimit` of the newest
//   archiveOmitted how many older attempts were left out
//   hotSpots       slow routes: { route, method?, p99Ms, rps?, modules }
//   allowedPaths, protectedPaths   where code changes may and must never go
//   maxCandidates  most candidates wanted; extra ones are dropped
//   seed           for programs that want to be repeatable
//   deadline       RFC 3339 instant by which the program must have answered
// It carries no credentials, and the program gets no environment from the operator beyond
// HYPERAGENT_CYCLE and HYPERAGENT_SEED (and what the runner needs to start it).
//
// Output on stdout: `{"candidates":[…]}` as in candidate-schema.ts; anything on stderr is only
// quoted in the attempt's message when the program fails.
import type { ProposalAttempt, ProposalRequest, ProposalResult } from './candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValues } from '../api/parameters.js';
import { NO_USAGE } from './candidate.js';
import { readCandidateAnswer, startingValues } from './candidate-schema.js';
import type { ProposerLog } from './observe.js';
import type { Proposer } from './proposer.js';
import type { HotSpot } from '../represent/graph.js';

export interface CommandRunRequest {
  /** Image to run the command in; runners on the local machine ignore it. */
  image?: string;
  /** Program and arguments, run without a shell. */
  command: readonly string[];
  stdin: string;
  /** The whole environment the program gets, beyond what the runner needs to start it. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Stdout kept; a program printing more is stopped and `stdoutOverflow` set. */
  maxStdoutBytes: number;
}

export interface CommandRunResult {
  /** Null when the program was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended it, if one did. */
  signal: string | null;
  stdout: string;
  /** The end of stderr, bounded by the runner. */
  stderr: string;
  timedOut: boolean;
  stdoutOverflow: boolean;
  durationMs: number;
}

/**
 * Runs one program to completion. Rejects only when the program cannot be started; whatever the
 * program does (fails, hangs, floods stdout) is reported in the result.
 */
export interface CommandRunner {
  run(request: CommandRunRequest): Promise<CommandRunResult>;
}

export interface CommandProposerOptions {
  command: readonly string[];
  image?: string;
  runner: CommandRunner;
  /** Longest run (default 10 min); the budget's deadline may cut it shorter. */
  timeoutMs?: number;
  /** Most stdout read (default 1 MiB). */
  maxStdoutBytes?: number;
  /** Most archive entries passed, the newest (default 200). */
  archiveLimit?: number;
  log?: ProposerLog;
  /** Wall clock in milliseconds, for the deadline. */
  now?: () => number;
}

/** What the program reads on stdin; see the file comment. */
export interface CommandInput {
  version: 1;
  agent: { namespace: string; name: string };
  cycle: string;
  goal: string;
  parameters: readonly ParameterSpec[];
  current: ParameterValues;
  start: ParameterValues;
  parent: Omit<ArchiveEntry, 'evaluatedAt' | 'cycle' | 'kind' | 'reasons' | 'parent'> | null;
  archive: Omit<ArchiveEntry, 'evaluatedAt' | 'commit'>[];
  archiveOmitted: number;
  hotSpots: HotSpot[];
  allowedPaths: readonly string[];
  protectedPaths: readonly string[];
  maxCandidates: number;
  seed: number;
  deadline: string;
}

const MAX_STDERR_QUOTE = 500;
const MAX_HOT_SPOTS = 20;

export class CommandProposer implements Proposer {
  readonly type = 'command' as const;
  private readonly command: readonly string[];
  private readonly image: string | undefined;
  private readonly runner: CommandRunner;
  private readonly timeoutMs: number;
  private readonly maxStdoutBytes: number;
  private readonly archiveLimit: number;
  private readonly log: ProposerLog | undefined;
  private readonly now: () => number;

  /** Throws when the command is empty: the CRD requires one, so this is a programming error. */
  constructor(options: CommandProposerOptions) {
    if (options.command.length === 0 || options.command[0] === '') {
      throw new TypeError('CommandProposer: the command is empty');
    }
    this.command = [...options.command];
    this.image = options.image;
    this.runner = options.runner;
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.maxStdoutBytes = options.maxStdoutBytes ?? 1024 * 1024;
    this.archiveLimit = options.archiveLimit ?? 200;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** Runs the program once; its failure, timeout or unreadable output becomes the one attempt. */
  async propose(request: ProposalRequest): Promise<ProposalResult> {
    const none = (attempt: ProposalAttempt): ProposalResult => {
      this.record(request, attempt);
      return { candidates: [], attempts: [attempt], usage: { ...NO_USAGE } };
    };
    const left = request.budget.deadline.getTime() - this.now();
    if (!(left > 0)) {
      const deadline = request.budget.deadline.toISOString();
      return none({
        outcome: 'budget',
        message: `not run: the deadline ${deadline} has passed`,
        durationMs: 0,
      });
    }
    if (request.signal?.aborted)
      return none({ outcome: 'error', message: 'cancelled by the caller', durationMs: 0 });

    const timeoutMs = Math.max(1, Math.ceil(Math.min(this.timeoutMs, left)));
    const started = performance.now();
    let run: CommandRunResult;
    try {
      run = await this.runner.run({
        ...(this.image === undefined ? {} : { image: this.image }),
        command: this.command,
        stdin: `${JSON.stringify(commandInput(request, this.archiveLimit))}\n`,
        env: { HYPERAGENT_CYCLE: request.cycle, HYPERAGENT_SEED: String(request.seed) },
        timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
        maxStdoutBytes: this.maxStdoutBytes,
      });
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      return none({
        outcome: 'error',
        message: `could not run the command: ${messageOf(error)}`,
        durationMs,
      });
    }
    const durationMs = Math.round(run.durationMs);
    const stderr = quote(run.stderr);

    if (request.signal?.aborted)
      return none({ outcome: 'error', message: 'cancelled by the caller', durationMs });
    if (run.timedOut) {
      return none({
        outcome: 'timeout',
        message: `the command did not finish within ${timeoutMs} ms${stderr}`,
        durationMs,
      });
    }
    if (run.stdoutOverflow) {
      const message = `the command printed more than ${this.maxStdoutBytes} bytes on stdout; it was stopped`;
      return none({ outcome: 'malformed', message, durationMs });
    }
    if (run.exitCode !== 0) {
      const how =
        run.exitCode === null
          ? `was ended by ${run.signal ?? 'a signal'}`
          : `exited with code ${run.exitCode}`;
      return none({ outcome: 'error', message: `the command ${how}${stderr}`, durationMs });
    }
    const reading = readCandidateAnswer(run.stdout, request);
    if (!reading.ok) {
      return none({
        outcome: 'malformed',
        message: clip(`stdout: ${reading.errors.join('; ')}`),
        durationMs,
      });
    }
    if (reading.candidates.length === 0 && reading.dropped.length > 0) {
      const message = clip(`no usable candidate: ${reading.dropped.join('; ')}`);
      return none({ outcome: 'malformed', message, durationMs });
    }
    const dropped = reading.dropped.length > 0 ? `; dropped ${reading.dropped.join('; ')}` : '';
    const attempt: ProposalAttempt = {
      outcome: 'ok',
      message: clip(`${reading.candidates.length} candidate(s)${dropped}`),
      durationMs,
    };
    this.record(request, attempt);
    return { candidates: reading.candidates, attempts: [attempt], usage: { ...NO_USAGE } };
  }

  private record(request: ProposalRequest, attempt: ProposalAttempt): void {
    const line = {
      agent: `${request.agent.namespace}/${request.agent.name}`,
      cycle: request.cycle,
      outcome: attempt.outcome,
      durationMs: attempt.durationMs,
    };
    if (attempt.outcome === 'ok') this.log?.info(line, attempt.message);
    else this.log?.warn(line, attempt.message);
  }
}

/** The program's stdin for `request` (see the file comment): plain data, no signal, no secrets. */
export function commandInput(request: ProposalRequest, archiveLimit = 200): CommandInput {
  const kept = request.archive.slice(Math.max(0, request.archive.length - archiveLimit));
  const parent = request.parent;
  return {
    version: 1,
    agent: { namespace: request.agent.namespace, name: request.agent.name },
    cycle: request.cycle,
    goal: request.goal,
    parameters: request.parameters,
    current: request.current,
    start: startingValues(request),
    parent: parent
      ? {
          id: parent.id,
          summary: parent.summary,
          verdict: parent.verdict,
          ...(parent.score === undefined ? {} : { score: parent.score }),
          ...(parent.parameters ? { parameters: parent.parameters } : {}),
          ...(parent.commit ? { commit: parent.commit } : {}),
        }
      : null,
    archive: kept.map(({ evaluatedAt: _evaluatedAt, commit: _commit, ...entry }) => entry),
    archiveOmitted: request.archive.length - kept.length,
    hotSpots: [...(request.graph?.hotSpots ?? [])].sort((a, b) => b.p99Ms - a.p99Ms).slice(0, MAX_HOT_SPOTS),
    allowedPaths: request.allowedPaths,
    protectedPaths: request.protectedPaths,
    maxCandidates: request.maxCandidates,
    seed: request.seed,
    deadline: request.budget.deadline.toISOString(),
  };
}

function quote(stderr: string): string {
  const text = stderr.trim();
  if (text === '') return '';
  return `; stderr: ${text.length > MAX_STDERR_QUOTE ? `…${text.slice(-MAX_STDERR_QUOTE)}` : text}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function clip(text: string, max = 1000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
