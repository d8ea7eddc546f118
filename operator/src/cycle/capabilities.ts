// Which of the cycle's ports (ports.ts) a cycle needs, and which of them this operator lacks.
//
// A cycle checks its needs before it starts any work: when the operator cannot supply a
// capability (a proposer type it does not ship, say), the cycle ends Failed at once with a reason
// naming what is missing. It never pretends to succeed.
import type { ImprovementCycleSpec } from '../api/schema.js';
import type { CycleProviders } from './ports.js';

/**
 * Lists, in loop order, the capabilities a cycle needs up to selection (graph, proposer, sandbox)
 * that `providers` lack. Delivery capabilities (commit, image build, canary) are checked when
 * delivery starts: which builder is needed depends on the kind of the candidate selected, and a
 * cycle that cannot deliver still shows which candidates passed and why.
 */
export function missingCapabilities(spec: ImprovementCycleSpec, providers: CycleProviders): string[] {
  const missing: string[] = [];
  if (!providers.represent) missing.push('Representer (service graph)');
  const proposerType = spec.agentSpec.improvement.proposer.type;
  if (!providers.propose[proposerType]) missing.push(`Proposer '${proposerType}'`);
  if (!providers.evaluate) missing.push('Sandbox (candidate evaluation)');
  return missing;
}
