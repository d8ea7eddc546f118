// Runs the built operator (dist/) as a child process, as it runs in a pod, and reads its
// telemetry endpoints. Tests never reach into its memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { load } from 'js-yaml';

const MAIN = fileURLToPath(new URL('../../dist/hyperagent-operator.mjs', import.meta.url));
const CHART_VALUES = new URL('../../charts/hyperagent-operator/values.yaml', import.meta.url);

/** The heap the chart gives the operator's pod (NODE_OPTIONS there), so a test runs it as deployed. */
export function chartHeapFlag(): string {
  const values = load(readFileSync(CHART_VALUES, 'utf8')) as { heapSizeMiB?: unknown };
  if (typeof values.heapSizeMiB !== 'number') throw new Error('charts/.../values.yaml has no heapSizeMiB');
  return `--max-old-space-size=${values.heapSizeMiB}`;
}

export interface OperatorOptions {
  identity: string;
  leaseName?: string;
  leaseNamespace?: string;
  leaderElect?: boolean;
  logLevel?: string;
  /** Keep the operator's default lease timings (15 s / 10 s / 2 s) instead of the fast test ones. */
  defaultLeaseTimings?: boolean;
  extraArgs?: string[];
}

export class OperatorProcess {
  readonly logs: Record<string, unknown>[] = [];
  port = 0;
  private child: ChildProcess | undefined;

  constructor(private readonly options: OperatorOptions) {}

  /** Starts the operator and resolves once its telemetry server answers /healthz. */
  async start(): Promise<void> {
    this.port = await freePort();
    const args = [
      chartHeapFlag(),
      MAIN,
      '--metrics-port',
      String(this.port),
      '--metrics-host',
      '127.0.0.1',
      '--identity',
      this.options.identity,
      '--log-level',
      this.options.logLevel ?? 'debug',
      // Short lease timings keep fail-over tests quick; the benchmark keeps the defaults.
      ...(this.options.defaultLeaseTimings
        ? []
        : ['--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5']),
      '--lease-name',
      this.options.leaseName ?? 'hyperagent-operator',
      '--lease-namespace',
      this.options.leaseNamespace ?? 'default',
      ...(this.options.leaderElect === false ? ['--no-leader-elect'] : []),
      ...(this.options.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ raw: line });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.logs.push({ stderr: chunk.toString() }));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`operator exited early with code ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${this.port}/healthz`).catch(() => undefined);
      if (res?.status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`operator ${this.options.identity} did not serve /healthz within 20s`);
  }

  /** Resolves once /readyz answers 200. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (res?.status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`operator ${this.options.identity} not ready after ${timeoutMs}ms`);
  }

  /** One sample of a Prometheus metric from /metrics (summed over matching label sets). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const match = /^([a-z_:]+)(\{[^}]*\})? ([0-9.e+-]+|NaN)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const set = match[2] ?? '';
      if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(match[3]);
    }
    return sum;
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit') as Promise<[number | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
