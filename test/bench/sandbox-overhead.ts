// Sandbox overhead: the time from creating an evaluation pod to seeing its result, minus the time
// its commands took themselves. Ten or more runs, images already on the node; prints median and p90.
//   npm run bench:sandbox [-- RUNS]
import { sandboxNamespace, sandboxNetworkPolicies } from '../../operator/src/sandbox/manifests.js';
import type { SandboxResult } from '../../operator/src/sandbox/protocol.js';
import { clusterProbes, runSandboxPod, testManifest } from '../support/sandbox-pods.js';
import { applyJson, deleteNamespace } from '../support/workloads.js';

const runs = Number(process.argv[2] ?? 10);
const made = sandboxNamespace(`bench-sandbox-${Date.now().toString(36)}`);
const namespace = made.metadata!.name!;
await applyJson([made, ...sandboxNetworkPolicies(namespace)]);
try {
  const probes = await clusterProbes();
  const overheads: number[] = [];
  const isolation: number[] = [];
  // One warm-up run: the first pod also waits for the new policies to reach the node.
  await runSandboxPod(
    namespace,
    testManifest('warmup', probes, { isolation: { probes, timeoutMs: 1000, settleSeconds: 30 } }),
  );
  for (let run = 0; run < runs; run++) {
    const { state, wallMs } = await runSandboxPod(
      namespace,
      testManifest(`run${run}`, probes, { commands: [{ name: 'test', run: 'true', timeoutSeconds: 10 }] }),
    );
    if (state.state !== 'finished') throw new Error(`run ${run}: ${JSON.stringify(state)}`);
    const result: SandboxResult = state.result;
    if (result.outcome !== 'evaluated')
      throw new Error(`run ${run}: ${result.outcome} ${result.message ?? ''}`);
    overheads.push(wallMs - result.commandMs);
    isolation.push(result.isolationMs);
    console.log(
      `run ${run + 1}: ${Math.round(wallMs)} ms wall, commands ${result.commandMs} ms, isolation proof ${result.isolationMs} ms`,
    );
  }
  const pct = (values: number[], p: number) =>
    [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1]!;
  console.log(
    `sandbox overhead over ${runs} runs: median ${Math.round(pct(overheads, 50))} ms, p90 ${Math.round(pct(overheads, 90))} ms (goal < 3000 ms); isolation proof median ${Math.round(pct(isolation, 50))} ms`,
  );
} finally {
  await deleteNamespace(namespace);
}
