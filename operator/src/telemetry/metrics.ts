// The operator's Prometheus metrics. The class owns its registry (tests stay isolated) and offers
// one intent-named method per thing worth counting.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileOutcome = 'success' | 'error' | 'requeue';

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconciles: Counter<'controller' | 'result'>;
  private readonly reconcileSeconds: Histogram<'controller' | 'result'>;
  private readonly queueDepth: Gauge<'controller'>;
  private readonly apiRequests: Counter<'method'>;
  private readonly watches: Counter<'resource'>;
  private readonly leader: Gauge;
  private readonly cycles: Gauge<'phase'>;
  private readonly llmRequests: Counter<'agent' | 'outcome'>;
  private readonly llmTokenCount: Counter<'agent' | 'kind'>;
  private readonly llmCostUSD: Counter<'agent'>;
  private readonly llmRequestSeconds: Histogram<'outcome'>;
  private readonly canaryWeights: Gauge<'namespace' | 'agent'>;
  private readonly analysisResults: Counter<'namespace' | 'agent' | 'metric' | 'result'>;
  private readonly rollbacks: Counter<'namespace' | 'agent' | 'reason'>;
  private readonly promotions: Counter<'namespace' | 'agent'>;
  private readonly gainRatios: Gauge<'namespace' | 'agent'>;
  private readonly reverts: Counter<'namespace' | 'agent' | 'source'>;
  private readonly detectSeconds: Histogram<'namespace' | 'agent' | 'source'>;
  private readonly mitigateSeconds: Histogram<'namespace' | 'agent' | 'source'>;
  private readonly incidents: Counter<'namespace' | 'agent'>;
  private readonly healSeconds: Histogram<'namespace' | 'agent'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconciles = new Counter({
      name: 'hyperagent_reconcile_total',
      help: 'Reconciles by controller and result.',
      labelNames: ['controller', 'result'],
      registers: [this.registry],
    });
    this.reconcileSeconds = new Histogram({
      name: 'hyperagent_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller and result.',
      labelNames: ['controller', 'result'],
      // fine between 10 and 100 ms, where a reconcile's p99 is judged (the goal is 50 ms)
      buckets: [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
      ],
      registers: [this.registry],
    });
    this.queueDepth = new Gauge({
      name: 'hyperagent_workqueue_depth',
      help: 'Keys waiting in the work queue of each controller.',
      labelNames: ['controller'],
      registers: [this.registry],
    });
    this.apiRequests = new Counter({
      name: 'hyperagent_kube_api_requests_total',
      help: 'Requests the operator sent to the Kubernetes API (lists, gets, writes), by HTTP method.',
      labelNames: ['method'],
      registers: [this.registry],
    });
    this.watches = new Counter({
      name: 'hyperagent_kube_watches_total',
      help: 'Watch connections the operator opened, by resource.',
      labelNames: ['resource'],
      registers: [this.registry],
    });
    this.leader = new Gauge({
      name: 'hyperagent_leader',
      help: '1 while this replica holds the leader lease.',
      registers: [this.registry],
    });
    this.cycles = new Gauge({
      name: 'hyperagent_cycles',
      help: 'ImprovementCycles in the cache, by phase.',
      labelNames: ['phase'],
      registers: [this.registry],
    });
    this.llmRequests = new Counter({
      name: 'hyperagent_llm_requests_total',
      help: 'Requests sent to LLM endpoints by proposers, by agent and outcome (ok, timeout, rate-limited…).',
      labelNames: ['agent', 'outcome'],
      registers: [this.registry],
    });
    this.llmTokenCount = new Counter({
      name: 'hyperagent_llm_tokens_total',
      help: 'LLM tokens spent by proposers, by agent and kind (prompt or completion).',
      labelNames: ['agent', 'kind'],
      registers: [this.registry],
    });
    this.llmCostUSD = new Counter({
      name: 'hyperagent_llm_cost_usd_total',
      help: 'Money spent on LLM requests by proposers, in US dollars, by agent (0 for unpriced models).',
      labelNames: ['agent'],
      registers: [this.registry],
    });
    // by outcome only: agents times buckets would be many series for little insight
    this.llmRequestSeconds = new Histogram({
      name: 'hyperagent_llm_request_duration_seconds',
      help: 'Time one LLM request took, body included, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
      registers: [this.registry],
    });
    this.canaryWeights = new Gauge({
      name: 'hyperagent_canary_weight',
      help: 'Share of ready pods behind the service that are canary pods, percent, as the traffic router last saw it (0 without a canary).',
      labelNames: ['namespace', 'agent'],
      registers: [this.registry],
    });
    // a counter, not a gauge of the last result: a Failed measurement followed by a rollback
    // within one scrape interval would never be seen by a gauge; increase() over a window is
    this.analysisResults = new Counter({
      name: 'hyperagent_analysis_result_total',
      help: 'Canary analysis measurements judged, by metric and result (Successful, Failed, Inconclusive, Error).',
      labelNames: ['namespace', 'agent', 'metric', 'result'],
      registers: [this.registry],
    });
    this.rollbacks = new Counter({
      name: 'hyperagent_rollbacks_total',
      help: 'Canaries rolled back, by reason (AnalysisFailed, NoData, ProviderError, WeightNotReached, AbortedByUser…).',
      labelNames: ['namespace', 'agent', 'reason'],
      registers: [this.registry],
    });
    this.promotions = new Counter({
      name: 'hyperagent_promotions_total',
      help: 'Canaries promoted to stable.',
      labelNames: ['namespace', 'agent'],
      registers: [this.registry],
    });
    this.gainRatios = new Gauge({
      name: 'hyperagent_gain_observed_to_predicted_ratio',
      help: "The latest delivery's gain in production (after promotion when measured, else the canary's against stable) over the gain the sandbox predicted; 1 means production showed what the sandbox predicted.",
      labelNames: ['namespace', 'agent'],
      registers: [this.registry],
    });
    this.reverts = new Counter({
      name: 'hyperagent_reverts_total',
      help: 'Promoted revisions the agent took back out of production, by what found them (watch: the watch after promotion).',
      labelNames: ['namespace', 'agent', 'source'],
      registers: [this.registry],
    });
    this.detectSeconds = new Histogram({
      name: 'hyperagent_time_to_detect_seconds',
      help: 'From the first bad measurement to the decision to act on it.',
      labelNames: ['namespace', 'agent', 'source'],
      buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers: [this.registry],
    });
    this.incidents = new Counter({
      name: 'hyperagent_incidents_total',
      help: "Incidents the agent's triggers detected (spec.healing).",
      labelNames: ['namespace', 'agent'],
      registers: [this.registry],
    });
    this.healSeconds = new Histogram({
      name: 'hyperagent_time_to_heal_seconds',
      help: 'From the detection of an incident to no trigger firing any more.',
      labelNames: ['namespace', 'agent'],
      buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
      registers: [this.registry],
    });
    this.mitigateSeconds = new Histogram({
      name: 'hyperagent_time_to_mitigate_seconds',
      help: 'From the decision to act to the mitigation: the revision before rolled out again (watch), or the revert asked for or the remedy promoted (incident).',
      labelNames: ['namespace', 'agent', 'source'],
      buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers: [this.registry],
    });
  }

  reconciled(controller: string, result: ReconcileOutcome, seconds: number): void {
    this.reconciles.inc({ controller, result });
    this.reconcileSeconds.observe({ controller, result }, seconds);
  }

  queueDepthChanged(controller: string, depth: number): void {
    this.queueDepth.set({ controller }, depth);
  }

  apiRequest(method: string): void {
    this.apiRequests.inc({ method });
  }

  watchOpened(resource: string): void {
    this.watches.inc({ resource });
  }

  leadership(isLeader: boolean): void {
    this.leader.set(isLeader ? 1 : 0);
  }

  /** Replaces the per-phase counts of cycles (computed from the cache at scrape time). */
  cyclesByPhase(counts: Record<string, number>): void {
    this.cycles.reset();
    for (const [phase, count] of Object.entries(counts)) this.cycles.set({ phase }, count);
  }

  /** One request a proposer sent to an LLM endpoint (satisfies ProposerMetrics in propose/observe.ts). */
  llmRequest(agent: string, outcome: string, seconds: number): void {
    this.llmRequests.inc({ agent, outcome });
    this.llmRequestSeconds.observe({ outcome }, seconds);
  }

  llmTokens(agent: string, kind: 'prompt' | 'completion', tokens: number): void {
    this.llmTokenCount.inc({ agent, kind }, tokens);
  }

  llmCost(agent: string, usd: number): void {
    this.llmCostUSD.inc({ agent }, usd);
  }

  /** The canary's share of traffic as the router sees it (satisfies CanaryMetrics in rollout/kube-canary-driver.ts). */
  canaryWeight(namespace: string, agent: string, percent: number): void {
    this.canaryWeights.set({ namespace, agent }, percent);
  }

  /** One judged measurement of an analysis metric. */
  analysisResult(namespace: string, agent: string, metric: string, result: string): void {
    this.analysisResults.inc({ namespace, agent, metric, result });
  }

  canaryRolledBack(namespace: string, agent: string, reason: string): void {
    this.rollbacks.inc({ namespace, agent, reason });
  }

  canaryPromoted(namespace: string, agent: string): void {
    this.promotions.inc({ namespace, agent });
  }

  gainRatio(namespace: string, agent: string, ratio: number): void {
    this.gainRatios.set({ namespace, agent }, ratio);
  }

  /** A promoted revision taken back: detection (first bad measurement to decision) and mitigation (decision to rolled out). */
  reverted(
    namespace: string,
    agent: string,
    source: string,
    detectSeconds: number,
    mitigateSeconds: number,
  ): void {
    this.reverts.inc({ namespace, agent, source });
    if (Number.isFinite(detectSeconds))
      this.detectSeconds.observe({ namespace, agent, source }, detectSeconds);
    if (Number.isFinite(mitigateSeconds))
      this.mitigateSeconds.observe({ namespace, agent, source }, mitigateSeconds);
  }

  /** An incident detected: from its first trigger holding to detection. */
  incidentDetected(namespace: string, agent: string, detectSeconds: number): void {
    this.incidents.inc({ namespace, agent });
    if (Number.isFinite(detectSeconds))
      this.detectSeconds.observe({ namespace, agent, source: 'incident' }, detectSeconds);
  }

  /** An incident over: detection to healed, and to the revert asked for when there was one. */
  incidentHealed(namespace: string, agent: string, healSeconds: number, mitigateSeconds?: number): void {
    if (Number.isFinite(healSeconds)) this.healSeconds.observe({ namespace, agent }, healSeconds);
    if (mitigateSeconds !== undefined && Number.isFinite(mitigateSeconds)) {
      this.mitigateSeconds.observe({ namespace, agent, source: 'incident' }, mitigateSeconds);
    }
  }
}
