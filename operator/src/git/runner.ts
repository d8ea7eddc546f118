// Runs git (through simple-git) in one directory with a GitAccess environment, and turns its
// failures into named, redacted errors. Every git call of the lineage goes through here.
import { GitError, simpleGit, type SimpleGit } from 'simple-git';
import type { GitAccess } from './credentials.js';
import { GitLineageError, type GitErrorCode } from './errors.js';

/** What one git command did. */
export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Variables added to the access environment for this command (GIT_INDEX_FILE, dates). */
  env?: Readonly<Record<string, string>>;
}

/** Kill git when it has printed nothing for this long (a hung server, a stuck prompt). */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
// Messages end up in Events and status; git can print pages.
const MESSAGE_MAX = 2000;

// simple-git resolves a command that failed silently (exit 1, empty stderr) as a success; this
// carries the exit status out instead, so every caller sees it. It extends simple-git's GitError
// because simple-git wraps any other error in one, and the result would be lost.
class ExitStatus extends GitError {
  constructor(readonly result: GitResult) {
    super(undefined, `git exited with ${result.exitCode}`);
  }
}

// simple-git waits 50 ms after a command that printed nothing before it reports completion, so
// where git has a verbose flag the lineage uses it, and the identity goes in the environment
// rather than in two `git config` calls.
export class GitRunner {
  constructor(
    readonly dir: string,
    readonly access: GitAccess,
    readonly timeoutMs: number = DEFAULT_GIT_TIMEOUT_MS,
    /** Variables added to the access environment for every command (the identity). */
    readonly env: Readonly<Record<string, string>> = {},
  ) {}

  /** Runs git; a non-zero exit is a result, not an error. Throws GitFailed when git cannot run. */
  async run(args: readonly string[], options: RunOptions = {}): Promise<GitResult> {
    const env = { ...this.access.env, ...this.env, ...options.env };
    const git = this.client(env);
    try {
      const stdout = await git.raw([...args]);
      return { exitCode: 0, stdout, stderr: '' };
    } catch (error) {
      if (error instanceof ExitStatus) return error.result;
      const message = error instanceof Error ? error.message : String(error);
      throw new GitLineageError('GitFailed', this.describe(args, message));
    }
  }

  /**
   * Runs git and returns its output; a non-zero exit throws a GitLineageError whose code says
   * whether the remote refused the credentials, could not be reached, or something else failed.
   */
  async git(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0) throw this.failure(args, result);
    return result.stdout;
  }

  /** The named, redacted error for a failed command. */
  failure(args: readonly string[], result: GitResult, code?: GitErrorCode): GitLineageError {
    const output = result.stderr.trim() || result.stdout.trim() || `exit status ${result.exitCode}`;
    return new GitLineageError(code ?? classifyFailure(output), this.describe(args, output));
  }

  /** Removes credentials from text that came from git. */
  redact(text: string): string {
    return this.access.redact(text);
  }

  private describe(args: readonly string[], output: string): string {
    const text = this.redact(output.trim());
    const cut = text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX)}…` : text;
    return `git ${args[0] ?? ''} failed: ${cut}`;
  }

  private client(env: Record<string, string>): SimpleGit {
    return simpleGit({
      baseDir: this.dir,
      trimmed: false,
      // The environment is built by GitAccess, not inherited, so every key in it is intended.
      allowEnvironment: Object.keys(env),
      unsafe: this.access.unsafe,
      timeout: { block: this.timeoutMs },
      errors(error, result) {
        if (result.exitCode === 0) return error;
        return new ExitStatus({
          exitCode: result.exitCode,
          stdout: Buffer.concat(result.stdOut).toString('utf8'),
          stderr: Buffer.concat(result.stdErr).toString('utf8'),
        });
      },
    }).env(env);
  }
}

const AUTH_FAILURE = [
  /authentication failed/i,
  /could not read (username|password)/i,
  /terminal prompts disabled/i,
  /permission denied \((publickey|password|keyboard-interactive)/i,
  /access denied/i,
  /invalid (username or password|credentials)/i,
  /returned error: 40[13]\b/i,
  /host key verification failed/i,
];

const UNREACHABLE = [
  /could not resolve (host|hostname)/i,
  /connection (refused|timed out|reset)/i,
  /failed to connect/i,
  /network is unreachable/i,
  /no route to host/i,
  /operation timed out/i,
  /ssl|tls|certificate/i,
  /returned error: (404|5\d\d)\b/i,
  /does not appear to be a git repository/i,
  /repository .* not found/i,
  /could not read from remote repository/i,
  /unable to access/i,
];

/** Which failure git's message describes: refused credentials, an unreachable remote, or other. */
export function classifyFailure(message: string): GitErrorCode {
  if (AUTH_FAILURE.some((pattern) => pattern.test(message))) return 'AuthenticationFailed';
  if (UNREACHABLE.some((pattern) => pattern.test(message))) return 'RemoteUnreachable';
  return 'GitFailed';
}
