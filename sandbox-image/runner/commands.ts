// What the judge knows of one command of the evaluation: the environment it adds, and what came
// back from the executor that ran it in the candidate's container (executor-runner.ts).
import type { CommandReport } from '../../operator/src/api/sandbox-protocol.js';

export interface CommandRun {
  report: CommandReport;
  /** The last bytes of stdout and of stderr, as the executor kept them. */
  stdout: string;
  stderr: string;
  /** Why the command could not start or finish, when it could not. */
  spawnError?: string;
}

/**
 * What the judge adds to every command's environment: HOME and TMPDIR in the candidate's scratch,
 * CI=true, then the manifest's values, then the runner's own variables, which always win. The
 * executor puts these over its container's own environment (the toolchain image's PATH, JAVA_HOME,
 * GOPATH …), which the judge cannot know.
 */
export function commandEnv(
  scratch: string,
  manifestEnv: Readonly<Record<string, string>>,
  runnerVariables: Readonly<Record<string, string>>,
): Record<string, string> {
  return {
    HOME: scratch,
    TMPDIR: scratch,
    CI: 'true',
    ...manifestEnv,
    ...runnerVariables,
  };
}
