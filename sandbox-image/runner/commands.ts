// Runs one command of the evaluation: `sh -c` in the source directory, in its own process group
// so a timeout kills everything it started, with its output streamed to the log and the tail of
// it kept for parsing.
import { spawn } from 'node:child_process';
import type { CommandName, CommandReport } from '../../operator/src/sandbox/protocol.js';

/** Output kept per stream for parsing (test counts, benchmark figures); the log has all of it. */
export const TAIL_BYTES = 1024 * 1024;

/** How long to wait for the output pipes to close once the command and its group are gone. */
const DRAIN_MS = 2000;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CommandSpec {
  name: CommandName;
  run: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Receives stdout and stderr as they arrive. */
  onOutput?: (chunk: Buffer) => void;
  tailBytes?: number;
}

export interface CommandRun {
  report: CommandReport;
  /** The last `tailBytes` of stdout and of stderr, starting at a line boundary when cut. */
  stdout: string;
  stderr: string;
  /** Why the command could not start, when it could not. */
  spawnError?: string;
}

/**
 * The environment of every command: a minimal base (PATH, HOME in scratch, LANG, CI=true, no
 * NODE_ENV), then the manifest's values, then the runner's own variables, which always win.
 */
export function commandEnv(
  runnerEnv: NodeJS.ProcessEnv,
  scratch: string,
  manifestEnv: Readonly<Record<string, string>>,
  runnerVariables: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: runnerEnv.PATH || DEFAULT_PATH,
    HOME: scratch,
    TMPDIR: scratch,
    LANG: runnerEnv.LANG || 'C.UTF-8',
    CI: 'true',
    ...manifestEnv,
    ...runnerVariables,
  };
  delete env.NODE_ENV;
  return env;
}

/** Runs `spec.run`; resolves when the command has ended (never rejects). */
export function runCommand(spec: CommandSpec): Promise<CommandRun> {
  const started = process.hrtime.bigint();
  const stdout = new OutputTail(spec.tailBytes ?? TAIL_BYTES);
  const stderr = new OutputTail(spec.tailBytes ?? TAIL_BYTES);
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', spec.run], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, spec.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      spec.onOutput?.(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      spec.onOutput?.(chunk);
    });

    let exit: { code: number | null; signal: NodeJS.Signals | null; at: bigint } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      // Until the command ended, not until its output drained.
      const durationMs = Number(((exit?.at ?? process.hrtime.bigint()) - started) / 1_000_000n);
      const report: CommandReport = {
        name: spec.name,
        exitCode: exit?.code ?? null,
        timedOut,
        durationMs,
      };
      if (exit?.signal) report.signal = exit.signal;
      resolve({
        report,
        stdout: stdout.text(),
        stderr: stderr.text(),
        ...(spawnError !== undefined ? { spawnError } : {}),
      });
    };

    child.once('error', (error) => {
      spawnError = error.message;
      settle();
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: process.hrtime.bigint() };
      clearTimeout(timer);
      // Whatever the command left running in its group (servers, watchers) ends with it, which
      // also closes the pipes they hold.
      killGroup(child.pid);
      drainTimer = setTimeout(() => {
        // Something left the group (setsid) and still holds the pipes: stop waiting for it.
        child.stdout.destroy();
        child.stderr.destroy();
        settle();
      }, DRAIN_MS);
    });
    child.once('close', settle);
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** The last `limit` bytes of a stream; when cut, the partial first line is dropped. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private cut = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    for (let first = this.chunks[0]; first !== undefined && this.bytes > this.limit; first = this.chunks[0]) {
      const excess = this.bytes - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
      this.cut = true;
    }
  }

  text(): string {
    const buffer = Buffer.concat(this.chunks);
    if (!this.cut) return buffer.toString('utf8');
    const newline = buffer.indexOf(0x0a);
    return newline === -1 ? '' : buffer.subarray(newline + 1).toString('utf8');
  }
}
