// Which providers this operator has, and which of them a cycle needs.
//
// A cycle checks its needs before it starts any work: when the operator cannot supply a
// capability (a proposer type it does not ship, say), the cycle ends Failed at once with a reason
// naming what is missing. It never pretends to succeed.
import type { ImprovementCycleSpec } from '../api/schema.js';
import type { ImageBuilder, BuilderType } from '../build/image-builder.js';
import type { SourceRepository } from '../git/source-repository.js';
import type { ProposeWork, ProposerType } from '../propose/proposer.js';
import type { Representer } from '../represent/representer.js';
import type { CanaryDriver } from '../rollout/canary.js';
import type { Sandbox } from '../sandbox/sandbox.js';

export interface CycleProviders {
  representer?: Representer;
  proposers: Partial<Record<ProposerType, ProposeWork>>;
  sandbox?: Sandbox;
  sourceRepository?: SourceRepository;
  imageBuilders: Partial<Record<BuilderType, ImageBuilder>>;
  /** Canary delivery: a TrafficRouter and a MetricProvider driven by the canary state machine. */
  canary?: CanaryDriver;
}

/** No providers at all: every cycle fails naming what it lacks. */
export const NO_PROVIDERS: CycleProviders = { proposers: {}, imageBuilders: {} };

/**
 * Lists, in loop order, the capabilities a cycle needs up to selection (graph, proposer, sandbox)
 * that `providers` lack. Delivery capabilities (commit, image build, canary) are checked when
 * delivery starts: which builder is needed depends on the kind of the candidate selected, and a
 * cycle that cannot deliver still shows which candidates passed and why.
 */
export function missingCapabilities(spec: ImprovementCycleSpec, providers: CycleProviders): string[] {
  const missing: string[] = [];
  if (!providers.representer) missing.push('Representer (service graph)');
  const proposerType = spec.agentSpec.improvement.proposer.type;
  if (!providers.proposers[proposerType]) missing.push(`Proposer '${proposerType}'`);
  if (!providers.sandbox) missing.push('Sandbox (candidate evaluation)');
  return missing;
}
