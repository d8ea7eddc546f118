// Sandbox overhead: the time from creating an evaluation pod to seeing its result, minus the time
// its commands took themselves. Images already on the node; the pod is watched, not polled. Four
// series of RUNS each (default 10), printed with median and p90:
//   - config: a candidate without a patch (a parameter change; the baseline is the same);
//   - code: a one-line patch to a script file, so the runner also loads the TypeScript compiler
//     to compare the file's exports before and after;
// each with the schema's default pod size (1 CPU) and with the e2e tests' small one (250m).
//   npm run bench:sandbox [-- RUNS]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { bundleOf } from '../../sandbox-image/runner/changes.js';
import { sandboxNamespace, sandboxNetworkPolicies } from '../../operator/src/sandbox/manifests.js';
import { defaultedAgentSpec } from '../../operator/src/api/defaults.js';
import type { SandboxSpec } from '../../operator/src/sandbox/manifests.js';
import type { IsolationProbe, SandboxManifest } from '../../operator/src/api/sandbox-protocol.js';
import { minimalAgentSpec } from '../support/agents.js';
import { clusterProbes, runSandboxPod, SMALL_SANDBOX, testManifest } from '../support/sandbox-pods.js';
import { applyJson, deleteNamespace } from '../support/workloads.js';

const runs = Number(process.argv[2] ?? 10);
const QUOTE_SOURCE = new URL('../e2e/images/quote/src/quote.mjs', import.meta.url);

/** A diff that changes one line of the quote service's src/quote.mjs (the file in its image). */
/** A code candidate's changed files: one line of the service changed. */
async function oneLineChange(): Promise<string> {
  const before = await readFile(QUOTE_SOURCE, 'utf8');
  const after = before.replace('export const OVERHEAD_MS = 40;', 'export const OVERHEAD_MS = 39;');
  if (after === before)
    throw new Error(`${QUOTE_SOURCE.pathname} no longer has the line the benchmark changes`);
  return bundleOf({ 'src/quote.mjs': after });
}

interface Series {
  overheads: number[];
  isolation: number[];
}

async function measure(
  namespace: string,
  label: string,
  manifestOf: (run: number) => SandboxManifest,
  changes: Record<string, string>,
  sandbox: SandboxSpec,
): Promise<Series> {
  const series: Series = { overheads: [], isolation: [] };
  for (let run = 0; run < runs; run++) {
    const { state, wallMs } = await runSandboxPod(namespace, manifestOf(run), { changes, sandbox });
    if (state.state !== 'finished') throw new Error(`${label} run ${run}: ${JSON.stringify(state)}`);
    const result = state.result;
    if (result.outcome !== 'evaluated')
      throw new Error(`${label} run ${run}: ${result.outcome} ${result.message ?? ''}`);
    if (result.interface === undefined) throw new Error(`${label} run ${run}: no interface comparison`);
    series.overheads.push(wallMs - result.commandMs);
    series.isolation.push(result.isolationMs);
    console.log(
      `${label} run ${run + 1}: ${Math.round(wallMs)} ms wall, commands ${result.commandMs} ms, ` +
        `isolation proof ${result.isolationMs} ms, interface files ${result.interface.files}`,
    );
  }
  return series;
}

function percentile(values: readonly number[], p: number): number {
  return [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1]!;
}

function summary(label: string, series: Series): string {
  const ms = (value: number) => `${Math.round(value)} ms`;
  return (
    `${label}: sandbox overhead over ${runs} runs: median ${ms(percentile(series.overheads, 50))}, ` +
    `p90 ${ms(percentile(series.overheads, 90))}; ` +
    `isolation proof median ${ms(percentile(series.isolation, 50))}`
  );
}

const made = sandboxNamespace(`bench-sandbox-${Date.now().toString(36)}`);
const namespace = made.metadata!.name!;
await applyJson([made, ...sandboxNetworkPolicies(namespace)]);
try {
  const probes: IsolationProbe[] = await clusterProbes();
  const command = [{ name: 'test' as const, run: 'true', timeoutSeconds: 10 }];
  // One warm-up run: the first pod also waits for the new policies to reach the node.
  await runSandboxPod(
    namespace,
    testManifest('warmup', probes, { isolation: { probes, timeoutMs: 1000, settleSeconds: 30 } }),
  );
  const change = { 'one-line.files.json': await oneLineChange() };
  const sizes: Array<[string, SandboxSpec]> = [
    ['default', { ...SMALL_SANDBOX, resources: defaultedAgentSpec(minimalAgentSpec()).sandbox.resources }],
    ['small', SMALL_SANDBOX],
  ];
  const summaries: string[] = [];
  const figures: Record<
    string,
    { medianMs: number; p90Ms: number; isolationMedianMs: number; runs: number }
  > = {};
  const figuresOf = (series: Series) => ({
    medianMs: Math.round(percentile(series.overheads, 50)),
    p90Ms: Math.round(percentile(series.overheads, 90)),
    isolationMedianMs: Math.round(percentile(series.isolation, 50)),
    runs: series.overheads.length,
  });
  for (const [size, sandbox] of sizes) {
    const pod = `${size} pods (${sandbox.resources.cpu} CPU, ${sandbox.resources.memory})`;
    const config = await measure(
      namespace,
      `config ${size}`,
      (run) => testManifest(`config-${size}-${run}`, probes, { commands: command }),
      {},
      sandbox,
    );
    const code = await measure(
      namespace,
      `code ${size}`,
      (run) =>
        testManifest(`code-${size}-${run}`, probes, { commands: command, changes: 'one-line.files.json' }),
      change,
      sandbox,
    );
    summaries.push(summary(`config candidates, ${pod}`, config), summary(`code candidates, ${pod}`, code));
    figures[`config_${size}`] = figuresOf(config);
    figures[`code_${size}`] = figuresOf(code);
  }
  for (const line of summaries) console.log(line);
  await mkdir('out', { recursive: true });
  await writeFile(
    'out/bench-sandbox.json',
    `${JSON.stringify({ measured_at: new Date().toISOString(), goals_ms: { config: 3000, code: 4000 }, figures }, null, 2)}\n`,
  );
  console.log('figures written to out/bench-sandbox.json');
} finally {
  await deleteNamespace(namespace);
}
