// The providers this operator ships, wired to one set of API clients: the service graph, the
// tuner and openai proposers, the sandbox, the commit of the selected candidate, the config and
// overlay image builders (chosen by the selected candidate's kind), and the canary.
import type { Logger } from 'pino';
import type { KubeClients } from '../kube/clients.js';
import { ConfigBuilder } from '../build/config-builder.js';
import { OverlayBuilder } from '../build/overlay-builder.js';
import type { EventRecorder } from '../kube/events.js';
import type { CycleProviders } from '../cycle/ports.js';
import { KubeCanaryDriver } from '../rollout/kube-canary-driver.js';
import type { ModelPrice } from '../propose/openai.js';
import { KubeSandbox } from '../sandbox/kube-sandbox.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { BuildByCandidateKind } from './build-work.js';
import { CommitWork } from './commit-work.js';
import { ProposalWork } from './propose-work.js';
import { openAIFactory, tunerFactory } from './proposers.js';
import { GraphCache, RepresentWork } from './represent-work.js';
import { SourceCheckouts } from '../git/source-checkout.js';
import { gitCredentials } from '../kube/opted-in-secret.js';

export interface EngineOptions {
  clients: KubeClients;
  /** Where the canary tells its story (Events on the cycle). */
  events: EventRecorder;
  log: Logger;
  metrics: OperatorMetrics;
  /** Where repository clones live. */
  workDir: string;
  /** The evaluation runner image for agents that name none; without it such agents fail to evaluate. */
  sandboxImage?: string;
  /** `host:port` outside the cluster that sandboxes must not reach. */
  outsideProbe: string;
  /** Where registries named in image references are reached from the operator (host → URL). */
  registryEndpoints?: Record<string, string>;
  /** LLM prices by model name, for the cost metric and budget; unpriced models cost 0. */
  llmPrices?: Readonly<Record<string, ModelPrice>>;
  /** The sandbox namespace is made by the installer; the operator does not apply it. */
  sandboxNamespaceProvided?: boolean;
  /** The operator's node address, for the kubelet probe when nodes cannot be listed. */
  nodeIP?: string;
}

export function engineProviders(options: EngineOptions): CycleProviders {
  const { clients, log, metrics } = options;
  const checkouts = new SourceCheckouts(gitCredentials(clients.core), options.workDir);
  const graphs = new GraphCache();
  const proposal = (makeProposer: ConstructorParameters<typeof ProposalWork>[0]['makeProposer']) =>
    new ProposalWork({ clients, checkouts, graphs, makeProposer });
  return {
    represent: new RepresentWork(checkouts, graphs),
    propose: {
      tuner: proposal(tunerFactory()),
      openai: proposal(openAIFactory(clients, metrics, log, options.llmPrices)),
    },
    evaluate: new KubeSandbox({
      clients,
      log: log.child({ component: 'sandbox' }),
      ...(options.sandboxImage ? { runnerImage: options.sandboxImage } : { runnerImage: '' }),
      outsideProbe: parseHostPort(options.outsideProbe),
      ...(options.sandboxNamespaceProvided ? { sandboxNamespaceProvided: true } : {}),
      ...(options.nodeIP ? { nodeIP: options.nodeIP } : {}),
    }),
    commit: new CommitWork({ clients, checkouts }),
    build: new BuildByCandidateKind({
      config: new ConfigBuilder({ clients }),
      code: new OverlayBuilder({
        clients,
        checkouts,
        ...(options.registryEndpoints ? { registry: { endpoints: options.registryEndpoints } } : {}),
      }),
    }),
    canary: new KubeCanaryDriver({ clients, events: options.events, metrics }),
  };
}

/** `host:port` (IPv6 hosts in brackets); throws on anything else, at start-up. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new Error(`not a host:port address: ${text}`);
  return { host: (match[1] ?? match[2])!, port };
}
