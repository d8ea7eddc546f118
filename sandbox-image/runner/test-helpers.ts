// Shared by the runner's tests: temporary directories and files, a sample manifest.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { PROTOCOL_VERSION, type SandboxManifest } from '../../operator/src/api/sandbox-protocol.js';

/** A fresh directory, removed when the test file's tests are done. */
export async function tempDir(prefix = 'hyperagent-runner-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative path → text) under `dir`, creating folders as needed. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** The environment for child `node --test` runs: without the parent runner's context variable. */
export function childNodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // Set by a parent `node --test`; a child test run would then report to the parent, not print.
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** A valid manifest with no patches, no commands and one probe of a closed local port. */
export function sampleManifest(overrides: Partial<SandboxManifest> = {}): SandboxManifest {
  return {
    version: PROTOCOL_VERSION,
    nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    executorConnectSeconds: 20,
    cycle: 'checkout-7f3a',
    candidate: 'c1',
    env: {},
    config: {},
    commands: [],
    benchmarkKeys: [],
    benchmarkRuns: 1,
    interfaceFiles: [],
    isolation: {
      probes: [{ name: 'api-server', kind: 'tcp', host: '127.0.0.1', port: 9 }],
      timeoutMs: 500,
      settleSeconds: 0,
    },
    ...overrides,
  };
}
