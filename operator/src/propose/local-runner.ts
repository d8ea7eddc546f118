// Runs a proposer command as a process on this machine, for the offline CLI and the tests. In the
// cluster, commands run in a sandbox pod from the configured image; that runner comes with the
// sandbox (sandbox/), behind the same CommandRunner interface. This one ignores `image`.
//
// The program starts without a shell, in its own process group, with only PATH inherited (the
// operator's environment may hold credentials). On timeout, abort or a stdout flood the whole group
// is stopped, SIGTERM first and SIGKILL after a grace period, and anything the program left running
// in its group is killed when it exits.
import { spawn } from 'node:child_process';
import type { CommandRunner, CommandRunRequest, CommandRunResult } from './command.js';

export interface LocalProcessRunnerOptions {
  /** Working directory of the program (default: the operator's). */
  cwd?: string;
  /** Tail of stderr kept (default 64 KiB). */
  maxStderrBytes?: number;
  /** Time between SIGTERM and SIGKILL (default 1 s). */
  killGraceMs?: number;
}

export class LocalProcessRunner implements CommandRunner {
  private readonly cwd: string | undefined;
  private readonly maxStderrBytes: number;
  private readonly killGraceMs: number;

  constructor(options: LocalProcessRunnerOptions = {}) {
    this.cwd = options.cwd;
    this.maxStderrBytes = options.maxStderrBytes ?? 64 * 1024;
    this.killGraceMs = options.killGraceMs ?? 1000;
  }

  /** Rejects when the program cannot be started; every other ending is a result. */
  run(request: CommandRunRequest): Promise<CommandRunResult> {
    const [file, ...args] = request.command;
    if (!file) return Promise.reject(new TypeError('LocalProcessRunner: the command is empty'));
    const started = performance.now();

    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        cwd: this.cwd,
        env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...request.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
      });

      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stdoutOverflow = false;
      const stderr: Buffer[] = [];
      let stderrBytes = 0;
      let timedOut = false;
      let spawned = false;
      let settled = false;
      const timers = new Set<NodeJS.Timeout>();

      const later = (ms: number, action: () => void) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          action();
        }, ms);
        timers.add(timer);
      };
      const signalGroup = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // the group is gone already
        }
      };
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        signalGroup('SIGTERM');
        later(this.killGraceMs, () => signalGroup('SIGKILL'));
        // A descendant that left the group could hold the pipes open: do not wait for it forever.
        later(this.killGraceMs + 2000, () => finish(null, 'SIGKILL'));
      };
      const onAbort = () => stop();

      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        for (const timer of timers) clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({
          exitCode: code,
          signal,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          timedOut,
          stdoutOverflow,
          durationMs: performance.now() - started,
        });
      };

      child.once('spawn', () => {
        spawned = true;
      });
      child.once('error', (error) => {
        if (!spawned && !settled) {
          settled = true;
          for (const timer of timers) clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          reject(new Error(`cannot start ${file}: ${error.message}`));
        }
      });

      child.stdout.on('data', (chunk: Buffer) => {
        if (stdoutOverflow) return;
        if (stdoutBytes + chunk.length > request.maxStdoutBytes) {
          stdoutOverflow = true;
          stdout.push(chunk.subarray(0, request.maxStdoutBytes - stdoutBytes));
          stdoutBytes = request.maxStdoutBytes;
          stop();
          return;
        }
        stdout.push(chunk);
        stdoutBytes += chunk.length;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        stderrBytes += chunk.length;
        while (stderrBytes > this.maxStderrBytes && stderr.length > 1) {
          stderrBytes -= (stderr.shift() as Buffer).length;
        }
      });
      // A program that exits without reading its input closes the pipe under us: not an error.
      child.stdin.on('error', () => {});
      child.stdin.end(request.stdin);

      child.once('exit', () => {
        // Whatever the program started and left behind in its group goes with it.
        signalGroup('SIGKILL');
      });
      child.once('close', (code, signal) => finish(code, signal));

      later(request.timeoutMs, () => {
        timedOut = true;
        stop();
      });
      if (request.signal?.aborted) stop();
      else request.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
