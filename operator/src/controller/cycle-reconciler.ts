// Reconciles one ImprovementCycle: runs the current phase's work through the providers, lets the
// pure state machine decide, then persists the status difference and records the events.
import type { Logger } from 'pino';
import { APPROVAL_ANNOTATION, CYCLES, splitKey } from '../api/resources.js';
import type { ImprovementCycle } from '../api/resources.js';
import { missingCapabilities, type CycleProviders } from '../cycle/capabilities.js';
import { PHASE_WORK, isTerminal, step, type WorkKind } from '../cycle/machine.js';
import type { CycleContext, WorkOutcome } from '../cycle/work.js';
import type { EventRecorder } from './events.js';
import type { Informer } from './informer.js';
import type { KubeClients } from './kube.js';
import { writeStatus } from './status.js';
import type { ReconcileResult } from './work-queue.js';

export interface CycleReconcilerDeps {
  clients: KubeClients;
  cycles: Informer<ImprovementCycle>;
  providers: CycleProviders;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/** Runs the provider work of a phase; a missing provider is reported as a failed outcome. */
export async function runWork(
  kind: WorkKind,
  cycle: CycleContext,
  providers: CycleProviders,
): Promise<WorkOutcome> {
  const missing = (what: string): WorkOutcome => ({
    state: 'failed',
    reason: 'CapabilityMissing',
    message: `This operator has no ${what}.`,
  });
  switch (kind) {
    case 'represent':
      return providers.representer ? providers.representer.represent(cycle) : missing('Representer');
    case 'propose': {
      const type = cycle.spec.agentSpec.improvement.proposer.type;
      const proposer = providers.proposers[type];
      return proposer ? proposer.propose(cycle) : missing(`Proposer '${type}'`);
    }
    case 'evaluate':
      return providers.sandbox ? providers.sandbox.evaluate(cycle) : missing('Sandbox');
    case 'commit':
      return providers.sourceRepository
        ? providers.sourceRepository.commit(cycle)
        : missing('SourceRepository');
    case 'build': {
      const selected = cycle.status.candidates?.find((c) => c.id === cycle.status.selected);
      const type = selected?.kind === 'code' ? 'overlay' : 'config';
      const builder = providers.imageBuilders[type];
      return builder ? builder.build(cycle) : missing(`ImageBuilder '${type}'`);
    }
    case 'canary':
      return providers.canary ? providers.canary.advance(cycle) : missing('Canary');
  }
}

function approvalOf(cycle: ImprovementCycle): 'Approved' | 'Rejected' | undefined {
  const value = cycle.metadata.annotations?.[APPROVAL_ANNOTATION];
  return value === 'Approved' || value === 'Rejected' ? value : undefined;
}

export class CycleReconciler {
  constructor(private readonly deps: CycleReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cycle = this.deps.cycles.get(name, namespace);
    if (!cycle || cycle.metadata.deletionTimestamp || isTerminal(cycle.status?.phase)) return {};
    const status = cycle.status ?? {};
    const phase = status.phase ?? 'Pending';
    const kind = PHASE_WORK[phase];
    const context: CycleContext = {
      namespace,
      name,
      uid: cycle.metadata.uid ?? '',
      spec: cycle.spec,
      status,
    };
    const work = kind ? await runWork(kind, context, this.deps.providers) : undefined;
    const approval = approvalOf(cycle);
    const result = step(
      cycle.spec,
      status,
      {
        missing: phase === 'Pending' ? missingCapabilities(cycle.spec, this.deps.providers) : [],
        ...(work ? { work } : {}),
        ...(approval ? { approval } : {}),
      },
      this.deps.now ? this.deps.now() : new Date(),
    );
    const written = await writeStatus(this.deps.clients.custom, CYCLES, cycle, (current) =>
      current === cycle ? result.status : (current.status ?? {}),
    );
    if (!written) return {};
    // Events only for a transition this replica actually persisted.
    if (written.status?.phase === result.status.phase) {
      for (const event of result.events)
        await this.deps.events.record(written, event.type, event.reason, event.message);
    }
    return result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : {};
  }
}
