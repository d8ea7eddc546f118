// `kubectl hyperagent ...` as a user runs it: kubectl with the project's bin/ on PATH, so kubectl
// finds the plugin (which runs the bundle `npm run build` wrote). Never throws: the exit code,
// stdout and stderr come back for the test to judge.
import { execFile } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin', import.meta.url));

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubectl <args>` with the plugin on PATH. */
export async function kubectlPlugin(...args: string[]): Promise<PluginRun> {
  try {
    const { stdout, stderr } = await run('kubectl', args, {
      env: { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}` },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
