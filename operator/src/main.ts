#!/usr/bin/env node
// hyperagent-operator: reconciles HyperAgent and ImprovementCycle resources.
import { Command, Option } from 'commander';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { localRegistryEndpoints, parseRegistryEndpoint } from './engine/registry-endpoints.js';
import { engineProviders } from './engine/providers.js';
import { parseModelPrice } from './engine/proposers.js';
import type { ModelPrice } from './propose/openai.js';
import { Manager } from './controller/manager.js';
import { createLogger } from './telemetry/logger.js';
import { OperatorMetrics } from './telemetry/metrics.js';
import { startTelemetryServer } from './telemetry/server.js';

const program = new Command()
  .name('hyperagent-operator')
  .description('Runs improvement cycles for HyperAgent resources.')
  .option('--kubeconfig <path>', 'kubeconfig to use; in-cluster config or $KUBECONFIG when unset')
  .option('--namespace <name>', 'watch only this namespace (default: all namespaces)')
  .addOption(
    new Option('--metrics-port <port>', 'port of /metrics, /healthz and /readyz')
      .default(8080)
      .argParser(Number),
  )
  .option('--metrics-host <host>', 'address the telemetry server binds', '0.0.0.0')
  .addOption(
    new Option('--concurrency <n>', 'reconciles in flight per resource kind').default(4).argParser(Number),
  )
  .option('--no-leader-elect', 'run without leader election (only one replica!)')
  .option('--lease-namespace <name>', 'namespace of the leader Lease', process.env.POD_NAMESPACE ?? 'default')
  .option('--lease-name <name>', 'name of the leader Lease', 'hyperagent-operator')
  .addOption(new Option('--lease-duration <seconds>', 'lease duration').default(15).argParser(Number))
  .addOption(new Option('--renew-deadline <seconds>', 'renew deadline').default(10).argParser(Number))
  .addOption(new Option('--retry-period <seconds>', 'retry period').default(2).argParser(Number))
  .option('--identity <id>', 'identity in the Lease', process.env.POD_NAME ?? `${hostname()}-${process.pid}`)
  .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
  .option('--work-dir <dir>', "where clones of the agents' repositories live", join(tmpdir(), 'hyperagent'))
  .option(
    '--sandbox-image <image>',
    'evaluation runner image for agents that do not name one (spec.sandbox.image)',
    process.env.HYPERAGENT_SANDBOX_IMAGE,
  )
  .option(
    '--sandbox-namespace-provided',
    'the sandbox namespace (hyperagent-sandbox-<namespace>) is made by the installer: do not apply it (for namespaced RBAC)',
  )
  .option(
    '--node-ip <address>',
    "this node's address, probed in place of the nodes' when they cannot be listed",
    process.env.NODE_IP,
  )
  .option(
    '--sandbox-outside-probe <host:port>',
    'an address outside the cluster that sandbox pods must fail to reach',
    '1.1.1.1:443',
  )
  .addOption(
    new Option(
      '--registry-endpoint <host=url>',
      'where the operator reaches a registry named in image references, e.g. localhost:5001=http://192.0.2.2:5001 (repeatable; default: the kube-public/local-registry-hosting ConfigMap)',
    ).argParser((value: string, previous: Record<string, string> = {}) => ({
      ...previous,
      ...parseRegistryEndpoint(value),
    })),
  )
  .addOption(
    new Option(
      '--llm-price <model=input:output>',
      'US dollars per million prompt:completion tokens of a model, for the cost metric and spec.budget.maxCostUSD, e.g. gpt-4o-mini=0.15:0.60 (repeatable; unpriced models count 0)',
    ).argParser((value: string, previous: Record<string, ModelPrice> = {}) => ({
      ...previous,
      ...parseModelPrice(value),
    })),
  );

program.parse();
const opts = program.opts<{
  kubeconfig?: string;
  namespace?: string;
  metricsPort: number;
  metricsHost: string;
  concurrency: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  identity: string;
  logLevel: string;
  workDir: string;
  sandboxImage?: string;
  sandboxOutsideProbe: string;
  sandboxNamespaceProvided?: boolean;
  nodeIp?: string;
  registryEndpoint?: Record<string, string>;
  llmPrice?: Record<string, ModelPrice>;
}>();

const log = createLogger(opts.logLevel, opts.identity);
const kubeConfig = new KubeConfig();
if (opts.kubeconfig) kubeConfig.loadFromFile(opts.kubeconfig);
else kubeConfig.loadFromDefault();

const registryEndpoints =
  opts.registryEndpoint ?? (await localRegistryEndpoints(kubeConfig.makeApiClient(CoreV1Api), log));

const metrics = new OperatorMetrics();
const manager = new Manager({
  kubeConfig,
  log,
  metrics,
  providers: (clients, events) =>
    engineProviders({
      clients,
      events,
      log,
      metrics,
      workDir: opts.workDir,
      ...(opts.sandboxImage ? { sandboxImage: opts.sandboxImage } : {}),
      outsideProbe: opts.sandboxOutsideProbe,
      ...(opts.sandboxNamespaceProvided ? { sandboxNamespaceProvided: true } : {}),
      ...(opts.nodeIp ? { nodeIP: opts.nodeIp } : {}),
      registryEndpoints,
      ...(opts.llmPrice ? { llmPrices: opts.llmPrice } : {}),
    }),
  identity: opts.identity,
  ...(opts.namespace ? { namespace: opts.namespace } : {}),
  concurrency: opts.concurrency,
  ...(opts.leaderElect
    ? {
        leaderElection: {
          namespace: opts.leaseNamespace,
          name: opts.leaseName,
          leaseDurationSeconds: opts.leaseDuration,
          renewDeadlineSeconds: opts.renewDeadline,
          retryPeriodSeconds: opts.retryPeriod,
        },
      }
    : {}),
  onLostLeadership: () => process.exit(1),
});

const server = await startTelemetryServer(
  metrics,
  { ready: () => manager.readiness(), beforeScrape: () => manager.refreshMetrics() },
  opts.metricsPort,
  opts.metricsHost,
);
log.info(
  // the heap limit, for a pod whose memory limit does not fit it (the chart's heapSizeMiB sets it)
  { port: server.port, heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 1048576) },
  'telemetry server listening',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await manager.stop();
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await manager.start();
} catch (error) {
  log.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
  process.exit(1);
}
