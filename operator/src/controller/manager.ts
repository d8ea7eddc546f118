// Wires the operator together: informers fill caches on every replica (so a follower is warm and
// ready), but only the elected leader runs the work queues that reconcile.
import type {
  KubeConfig,
  KubernetesListObject,
  V1Deployment,
  V1NetworkPolicy,
  V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  CYCLES,
  HYPERAGENTS,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ROLE_LABEL,
  cycleAgentIndex,
  keyOf,
  type HyperAgent,
  type ImprovementCycle,
  type ResourceInfo,
} from '../api/resources.js';
import type { CycleProviders } from '../cycle/ports.js';
import { CYCLE_UID_LABEL, sandboxNamespaceName } from '../sandbox/manifests.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { CycleReconciler } from './cycle-reconciler.js';
import { KubeEventRecorder, type EventRecorder } from '../kube/events.js';
import { HyperAgentReconciler } from './hyperagent-reconciler.js';
import { KubeIncidentObserver } from '../rollout/incident-observer.js';
import { Informer } from './informer.js';
import { createKubeClients, describeError, type KubeClients } from '../kube/clients.js';
import { LeaderElector } from './leader-election.js';
import { WorkQueue } from './work-queue.js';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  metrics: OperatorMetrics;
  /** The cycle's providers, or a function making them from the manager's API clients and event recorder. */
  providers: CycleProviders | ((clients: KubeClients, events: EventRecorder) => CycleProviders);
  identity: string;
  /** Watch one namespace only; all namespaces when undefined. */
  namespace?: string;
  concurrency: number;
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
  };
  /** Called when this replica loses the lease: it must stop acting at once (main exits). */
  onLostLeadership: () => void;
}

export class Manager {
  readonly clients: KubeClients;
  private readonly agents: Informer<HyperAgent>;
  private readonly cycles: Informer<ImprovementCycle>;
  /** Sandbox pods, so that a cycle hears at once when one of its evaluations ends. */
  private readonly sandboxPods: Informer<V1Pod>;
  /**
   * NetworkPolicies of sandbox namespaces, so that an evaluation hears at once when its isolation
   * changes (a policy added, deleted or loosened) and stops.
   */
  private readonly sandboxPolicies: Informer<V1NetworkPolicy>;
  /**
   * The canary Deployments this operator made, so that a canary's cycle hears at once when its
   * pods become ready (its weight can be put in place) rather than at its next poll.
   */
  private readonly canaries: Informer<V1Deployment>;
  private readonly agentQueue: WorkQueue;
  private readonly cycleQueue: WorkQueue;
  private readonly elector: LeaderElector | undefined;
  private leading = false;

  constructor(private readonly options: ManagerOptions) {
    const { log, metrics } = options;
    this.clients = createKubeClients(options.kubeConfig, (method) => metrics.apiRequest(method));
    this.agents = this.informer<HyperAgent>(HYPERAGENTS);
    this.cycles = this.informer<ImprovementCycle>(CYCLES, cycleAgentIndex);
    this.sandboxPods = this.sandboxPodInformer();
    this.sandboxPolicies = this.sandboxPolicyInformer();
    this.canaries = this.canaryInformer();
    const events = new KubeEventRecorder(this.clients.core, log, options.identity);

    const agentReconciler = new HyperAgentReconciler({
      clients: this.clients,
      agents: this.agents,
      cycles: this.cycles,
      events,
      log,
      incidents: new KubeIncidentObserver({ clients: this.clients }),
      metrics,
    });
    const cycleReconciler = new CycleReconciler({
      clients: this.clients,
      cycles: this.cycles,
      providers:
        typeof options.providers === 'function' ? options.providers(this.clients, events) : options.providers,
      events,
      log,
    });
    this.agentQueue = this.queue('hyperagent', (key) => agentReconciler.reconcile(key));
    this.cycleQueue = this.queue('improvementcycle', (key) => cycleReconciler.reconcile(key));

    const enqueueAgent = (obj: HyperAgent) => this.agentQueue.add(keyOf(obj));
    this.agents.on('add', enqueueAgent);
    this.agents.on('update', enqueueAgent);
    const onCycle = (cycle: ImprovementCycle) => {
      this.cycleQueue.add(keyOf(cycle));
      // The agent mirrors its cycles in its status and starts the next one when a cycle ends.
      this.agentQueue.add(`${cycle.metadata.namespace}/${cycle.spec.agent}`);
    };
    this.cycles.on('add', onCycle);
    this.cycles.on('update', onCycle);
    this.cycles.on('delete', onCycle);
    const onSandboxPod = (pod: V1Pod) => {
      const uid = pod.metadata?.labels?.[CYCLE_UID_LABEL];
      const cycle = uid ? this.cycles.list().find((each) => each.metadata.uid === uid) : undefined;
      if (cycle) this.cycleQueue.add(keyOf(cycle));
    };
    this.sandboxPods.on('update', onSandboxPod);
    this.sandboxPods.on('delete', onSandboxPod);
    const onSandboxPolicy = (policy: V1NetworkPolicy) => {
      const namespace = policy.metadata?.namespace;
      for (const cycle of this.cycles.list()) {
        if (cycle.status?.phase !== 'Evaluating') continue;
        if (sandboxNamespaceName(cycle.metadata.namespace ?? '') === namespace)
          this.cycleQueue.add(keyOf(cycle));
      }
    };
    for (const event of ['add', 'update', 'delete'] as const) this.sandboxPolicies.on(event, onSandboxPolicy);
    const onCanary = (deployment: V1Deployment) => {
      const owner = deployment.metadata?.ownerReferences?.find((o) => o.kind === CYCLES.kind && o.controller);
      if (owner && deployment.metadata?.namespace)
        this.cycleQueue.add(`${deployment.metadata.namespace}/${owner.name}`);
    };
    this.canaries.on('update', onCanary);
    this.canaries.on('delete', onCanary);

    if (options.leaderElection) {
      this.elector = new LeaderElector({
        kubeConfig: options.kubeConfig,
        ...options.leaderElection,
        identity: options.identity,
        log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => {
          this.leading = false;
          metrics.leadership(false);
          log.error('lost the leader lease; stopping so that only one replica acts');
          options.onLostLeadership();
        },
      });
    }
  }

  /** Starts caches and leader election; reconciling begins once this replica leads. */
  async start(): Promise<void> {
    await Promise.all([
      this.agents.start(),
      this.cycles.start(),
      this.sandboxPods.start(),
      this.sandboxPolicies.start(),
      this.canaries.start(),
    ]);
    this.options.log.info(
      { agents: this.agents.list().length, cycles: this.cycles.list().length },
      'caches synced',
    );
    // Contend for the lease only with warm caches, so a new leader never acts on a partial view.
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** Stops reconciling, waits for work in flight, and (on a graceful stop) releases the lease. */
  async stop(): Promise<void> {
    await Promise.all([this.agentQueue.stop(), this.cycleQueue.stop()]);
    await this.elector?.stop({ release: true });
    await Promise.all([
      this.agents.stop(),
      this.cycles.stop(),
      this.sandboxPods.stop(),
      this.sandboxPolicies.stop(),
      this.canaries.stop(),
    ]);
  }

  /** Ready when the caches are synced and this replica knows whether it leads. */
  readiness(): { ok: boolean; detail: string } {
    const synced =
      this.agents.synced() &&
      this.cycles.synced() &&
      this.sandboxPods.synced() &&
      this.sandboxPolicies.synced();
    const leader = this.elector ? this.elector.state() : 'leader';
    if (!synced) return { ok: false, detail: 'caches not synced' };
    if (leader === 'unknown') return { ok: false, detail: 'leader state unknown' };
    return { ok: true, detail: `ready (${leader})` };
  }

  /** Refreshes metrics computed from the caches. */
  refreshMetrics(): void {
    const counts: Record<string, number> = {};
    for (const cycle of this.cycles.list()) {
      const phase = cycle.status?.phase ?? 'Pending';
      counts[phase] = (counts[phase] ?? 0) + 1;
    }
    this.options.metrics.cyclesByPhase(counts);
  }

  private startLeading(): void {
    if (this.leading) return;
    this.leading = true;
    this.options.metrics.leadership(true);
    this.options.log.info('leading: reconciling starts');
    // Work queued while following is stale by now: visit every cached object once.
    for (const agent of this.agents.list()) this.agentQueue.add(keyOf(agent));
    for (const cycle of this.cycles.list()) this.cycleQueue.add(keyOf(cycle));
    this.agentQueue.start();
    this.cycleQueue.start();
  }

  private informer<T extends HyperAgent | ImprovementCycle>(
    resource: ResourceInfo,
    indexBy?: (obj: T) => string | undefined,
  ): Informer<T> {
    const { namespace } = this.options;
    const base = `/apis/${resource.group}/${resource.version}`;
    const path = namespace
      ? `${base}/namespaces/${namespace}/${resource.plural}`
      : `${base}/${resource.plural}`;
    const custom = this.clients.custom;
    const params = { group: resource.group, version: resource.version, plural: resource.plural };
    return new Informer<T>({
      kubeConfig: this.options.kubeConfig,
      path,
      log: this.options.log,
      onWatch: () => this.options.metrics.watchOpened(resource.plural),
      ...(indexBy ? { indexBy } : {}),
      list: async () =>
        (namespace
          ? await custom.listNamespacedCustomObject({ ...params, namespace })
          : await custom.listClusterCustomObject(params)) as KubernetesListObject<T>,
    });
  }

  /** Pods labelled with a cycle uid, in the one sandbox namespace or in all of them. */
  private sandboxPodInformer(): Informer<V1Pod> {
    const { namespace } = this.options;
    const sandbox = namespace ? sandboxNamespaceName(namespace) : undefined;
    const labelSelector = CYCLE_UID_LABEL;
    return new Informer<V1Pod>({
      kubeConfig: this.options.kubeConfig,
      path: sandbox ? `/api/v1/namespaces/${sandbox}/pods` : '/api/v1/pods',
      labelSelector,
      log: this.options.log,
      onWatch: () => this.options.metrics.watchOpened('pods'),
      list: async () =>
        (sandbox
          ? await this.clients.core.listNamespacedPod({ namespace: sandbox, labelSelector })
          : await this.clients.core.listPodForAllNamespaces({
              labelSelector,
            })) as KubernetesListObject<V1Pod>,
    });
  }

  /** Canary Deployments this operator made, in the one namespace or in all. */
  private canaryInformer(): Informer<V1Deployment> {
    const { namespace } = this.options;
    const labelSelector = `${ROLE_LABEL}=canary,${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    return new Informer<V1Deployment>({
      kubeConfig: this.options.kubeConfig,
      path: namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments',
      labelSelector,
      log: this.options.log,
      onWatch: () => this.options.metrics.watchOpened('deployments'),
      list: async () =>
        (namespace
          ? await this.clients.apps.listNamespacedDeployment({ namespace, labelSelector })
          : await this.clients.apps.listDeploymentForAllNamespaces({
              labelSelector,
            })) as KubernetesListObject<V1Deployment>,
    });
  }

  /** NetworkPolicies in the one sandbox namespace, or in all (sandbox namespaces are told apart by name). */
  private sandboxPolicyInformer(): Informer<V1NetworkPolicy> {
    const { namespace } = this.options;
    const sandbox = namespace ? sandboxNamespaceName(namespace) : undefined;
    const path = sandbox
      ? `/apis/networking.k8s.io/v1/namespaces/${sandbox}/networkpolicies`
      : '/apis/networking.k8s.io/v1/networkpolicies';
    return new Informer<V1NetworkPolicy>({
      kubeConfig: this.options.kubeConfig,
      path,
      log: this.options.log,
      onWatch: () => this.options.metrics.watchOpened('networkpolicies'),
      list: async () =>
        (await this.clients.objects.list<V1NetworkPolicy>(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          sandbox,
        )) as KubernetesListObject<V1NetworkPolicy>,
    });
  }

  private queue(
    controller: string,
    handler: (key: string) => Promise<{ requeueAfterMs?: number }>,
  ): WorkQueue {
    const { metrics, log, concurrency } = this.options;
    return new WorkQueue({
      concurrency,
      handler,
      onHandled: (key, outcome, seconds, error) => {
        metrics.reconciled(controller, outcome, seconds);
        if (error) log.warn({ controller, key, err: describeError(error) }, 'reconcile failed; will retry');
      },
      onDepthChange: (depth) => metrics.queueDepthChanged(controller, depth),
    });
  }
}
