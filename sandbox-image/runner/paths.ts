// Where the runner reads and writes. The pod's volumes sit at fixed paths (SANDBOX_PATHS); tests
// and local runs point the runner elsewhere with environment variables.
import { join } from 'node:path';
import { SANDBOX_PATHS } from '../../operator/src/api/sandbox-protocol.js';

/** Environment variables that move the runner's directories and files (for tests and local runs). */
export const PATH_OVERRIDES = {
  input: 'HYPERAGENT_INPUT_DIR',
  workspace: 'HYPERAGENT_WORKSPACE_DIR',
  scratch: 'HYPERAGENT_SCRATCH_DIR',
  result: 'HYPERAGENT_RESULT_PATH',
  control: 'HYPERAGENT_CONTROL_DIR',
  candidateScratch: 'HYPERAGENT_CANDIDATE_SCRATCH_DIR',
  resolvConf: 'HYPERAGENT_RESOLV_CONF',
} as const;

export interface RunnerPaths {
  manifest: string;
  /** Directory holding the changed-files bundle the manifest names. */
  input: string;
  /** The service source the patches apply to and the commands run in. */
  source: string;
  /** HOME of the commands; the runner's own files go to `<scratch>/hyperagent`. */
  scratch: string;
  /** Where the result is written (the termination log in a pod). */
  result: string;
  /** The judge's socket and the parameters file; the candidate reads it at the same path. */
  control: string;
  /** The candidate container's scratch as the judge sees it (read-only in a pod). */
  candidateScratch: string;
  /** The same scratch as the candidate's commands see it (`/tmp` in a pod). */
  candidateScratchInCandidate: string;
  /** The pod's resolver configuration: its nameservers are probed too. */
  resolvConf: string;
}

/** The runner's paths from its environment and arguments (`runner.mjs [manifest path]`). */
export function runnerPaths(env: NodeJS.ProcessEnv, args: readonly string[]): RunnerPaths {
  const pick = (name: string, fallback: string): string => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : fallback;
  };
  const input = pick(PATH_OVERRIDES.input, SANDBOX_PATHS.input);
  return {
    manifest: args[0] ?? join(input, 'manifest.json'),
    input,
    source: join(pick(PATH_OVERRIDES.workspace, SANDBOX_PATHS.workspace), 'src'),
    scratch: pick(PATH_OVERRIDES.scratch, SANDBOX_PATHS.scratch),
    result: pick(PATH_OVERRIDES.result, SANDBOX_PATHS.terminationLog),
    control: pick(PATH_OVERRIDES.control, SANDBOX_PATHS.control),
    // Outside a pod there are no mounts to translate: both sides use the same folder.
    candidateScratch: pick(PATH_OVERRIDES.candidateScratch, SANDBOX_PATHS.candidateScratch),
    candidateScratchInCandidate: pick(PATH_OVERRIDES.candidateScratch, SANDBOX_PATHS.scratch),
    resolvConf: pick(PATH_OVERRIDES.resolvConf, '/etc/resolv.conf'),
  };
}
