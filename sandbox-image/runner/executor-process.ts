// For tests and local runs: the real executor binary, built from sandbox-image/executor with the
// host's Go, started the way a pod starts it — init of a PID namespace of its own (unshare), under
// another uid than the judge (setpriv) — and connected to a judge socket. Needs root, Go and
// util-linux, as the cluster harness does.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { acceptExecutor, type ExecutorConnection } from './executor-client.js';

const execFileAsync = promisify(execFile);
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'executor');

/** The uid the executor runs as in tests, as in a pod's candidate container. */
export const TEST_CANDIDATE_UID = 65532;

let built: Promise<string> | undefined;

/** Builds the executor once per source version (cached under the temp folder); its path. */
export function executorBinary(): Promise<string> {
  built ??= (async () => {
    const names = (await readdir(SOURCE)).filter((name) => name.endsWith('.go') || name === 'go.mod').sort();
    const hash = createHash('sha256');
    for (const name of names) hash.update(name).update(await readFile(join(SOURCE, name)));
    const output = join(tmpdir(), 'hyperagent-executor', hash.digest('hex').slice(0, 16), 'executor');
    const exists = await access(output).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dirname(output), { recursive: true });
      await execFileAsync('go', ['build', '-trimpath', '-o', output, '.'], {
        cwd: SOURCE,
        env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
      });
      // Other users (the candidate's uid) must be able to run it from here.
      await chmod(dirname(output), 0o755);
      await chmod(dirname(dirname(output)), 0o755);
    }
    return output;
  })();
  return built;
}

export interface StartedExecutor {
  connection: ExecutorConnection;
  process: ChildProcess;
  /** What the executor's container log would hold. */
  output: () => string;
}

/**
 * Starts the executor on `sourceDir` as init of a new PID namespace under TEST_CANDIDATE_UID, and
 * accepts its connection on a socket in `controlDir`.
 */
export async function startExecutor(
  sourceDir: string,
  controlDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<StartedExecutor> {
  const socket = join(controlDir, 'executor.sock');
  await chmod(controlDir, 0o755);
  const accepted = acceptExecutor(socket, 20_000);
  const { child, output } = await spawnExecutor(socket, sourceDir, env);
  const connection = await accepted;
  return { connection, process: child, output };
}

/**
 * Starts the executor process only (as init of a new PID namespace, under TEST_CANDIDATE_UID); it
 * connects to `socket` when something listens there. Killing `child` ends its namespace.
 */
export async function spawnExecutor(
  socket: string,
  sourceDir: string,
  env: NodeJS.ProcessEnv = {},
  uid = TEST_CANDIDATE_UID,
): Promise<{ child: ChildProcess; output: () => string }> {
  const binary = await executorBinary();
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      binary,
      '--socket',
      socket,
      '--source',
      sourceDir,
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: '/tmp',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}
