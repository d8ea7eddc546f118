// A sandbox manifest built from an agent's spec the way the operator builds one (kube-sandbox.ts:
// parameters split into env and config, the commands of `verification`, the judge's workload with
// its dependency stand-ins), for e2e tests that run single pods with runSandboxPod and judge them
// with the real verdict functions. Also the node's own addresses as isolation probes.
import { randomBytes } from 'node:crypto';
import type { HyperAgentSpec } from '../../operator/src/api/schema.js';
import {
  PROTOCOL_VERSION,
  type IsolationProbe,
  type SandboxManifest,
} from '../../operator/src/api/sandbox-protocol.js';

type Values = Record<string, string | number | boolean>;

export interface AgentManifestOptions {
  /** Candidate id, or `baseline`. */
  id: string;
  /** The candidate's parameter values (the baseline's when it changes code only). */
  values: Values;
  /** The baseline's parameter values: the unchanged side of the judge's measurement. */
  baselineValues: Values;
  /** Input key of the changed-files bundle, for code candidates. */
  changes?: string;
  probes: IsolationProbe[];
  /** How long the judge waits for the network policy to hold; 20 s as the operator's default. */
  settleSeconds?: number;
  /** Each command's timeout; the operator's (the pod's deadline − 10 s) when unset. */
  commandTimeoutSeconds?: number;
  benchmarkRuns?: number;
}

/** Parameter values as the sandbox passes them: env-carried, and configKey-carried. */
export function parameterSettings(
  spec: HyperAgentSpec,
  values: Values,
): { env: Record<string, string>; config: Values } {
  const env: Record<string, string> = {};
  const config: Values = {};
  for (const parameter of spec.improvement.parameters) {
    const value = values[parameter.name];
    if (value === undefined) continue;
    if (parameter.env) env[parameter.env] = String(value);
    else if (parameter.configKey) config[parameter.configKey] = value;
  }
  return { env, config };
}

/** The manifest the operator would give the judge of candidate `id` of an agent with `spec`. */
export function agentSandboxManifest(spec: HyperAgentSpec, options: AgentManifestOptions): SandboxManifest {
  const { env, config } = parameterSettings(spec, options.values);
  const baseline = parameterSettings(spec, options.baselineValues);
  const timeoutSeconds = options.commandTimeoutSeconds ?? Math.max(5, spec.sandbox.timeoutSeconds - 10);
  const verification = spec.verification;
  const commands: SandboxManifest['commands'] = [];
  if (verification.typecheck)
    commands.push({ name: 'typecheck', run: verification.typecheck, timeoutSeconds });
  if (verification.test) commands.push({ name: 'test', run: verification.test, timeoutSeconds });
  if (verification.benchmark)
    commands.push({ name: 'benchmark', run: verification.benchmark, timeoutSeconds });
  const declared = verification.workload;
  const workload: SandboxManifest['workload'] = declared && {
    service: {
      run: declared.service.command,
      port: declared.service.port,
      readinessPath: declared.service.readinessPath,
      env: declared.service.env,
    },
    readySeconds: declared.readySeconds,
    baselineEnv: baseline.env,
    measureBaseline: options.id !== 'baseline',
    dependencies: declared.dependencies.map((dependency) => ({
      name: dependency.name,
      run: dependency.command,
      port: dependency.port,
      readinessPath: dependency.readinessPath,
      env: dependency.env,
    })),
    requests: declared.requests,
    ...(declared.requestsFile ? { requestsFile: declared.requestsFile } : {}),
    rps: declared.rate,
    durationSeconds: declared.durationSeconds,
    warmupSeconds: declared.warmupSeconds,
    runs: declared.runs,
    requestTimeoutMs: declared.requestTimeoutMs,
    compareBehaviour: verification.invariants.includes('BehaviourPreserved'),
    ignoreFields: declared.ignoreFields,
  };
  return {
    version: PROTOCOL_VERSION,
    nonce: randomBytes(16).toString('hex'),
    executorConnectSeconds: Math.min(600, Math.max(30, Math.floor(spec.sandbox.timeoutSeconds / 2))),
    cycle: 'integrity',
    candidate: options.id,
    ...(options.changes ? { changes: options.changes } : {}),
    env,
    config,
    commands,
    benchmarkKeys: spec.objectives.flatMap((objective) => (objective.benchmark ? [objective.benchmark] : [])),
    benchmarkRuns: options.benchmarkRuns ?? 1,
    interfaceFiles: [],
    ...(workload ? { workload } : {}),
    isolation: { probes: options.probes, timeoutMs: 1000, settleSeconds: options.settleSeconds ?? 20 },
  };
}

/**
 * The address of the node the pods run on, where its kubelet listens. On the harness the node is
 * this machine (HYPERAGENT_NODE_IP of .cluster/env); on kind it is the node's container, not the
 * machine that runs the tests (HYPERAGENT_KUBELET_IP of .kind/env).
 */
export function kubeletAddress(): string {
  return process.env.HYPERAGENT_KUBELET_IP ?? process.env.HYPERAGENT_NODE_IP ?? '127.0.0.1';
}

/**
 * The node's own services a sandbox pod must not reach: the kubelet, the registry, Prometheus and
 * the API server's own port, on the node's address.
 */
export function nodeProbes(nodeIp = kubeletAddress()): IsolationProbe[] {
  return [
    { name: 'node-kubelet', kind: 'tcp', host: nodeIp, port: 10250 },
    { name: 'node-registry', kind: 'tcp', host: nodeIp, port: 5001 },
    { name: 'node-prometheus', kind: 'tcp', host: nodeIp, port: 9090 },
    { name: 'node-api-server', kind: 'tcp', host: nodeIp, port: 6443 },
  ];
}
