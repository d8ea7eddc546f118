// The self-healing's eyes on the cluster (spec.healing): reads each trigger now (its PromQL query
// through the agent's metric provider, or a signal of the target's pods), and, when a remediation
// cycle starts, gathers the evidence its proposer receives: the triggers' values over the minutes
// before, the target's recent Events, the tails of its failing pods' logs (redacted, bounded) and
// the last change the agent made. The figures come from Prometheus and the API server, never from
// the service's own account of itself.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { HyperAgent } from '../api/resources.js';
import type { IncidentEvidence, IncidentTrigger } from '../api/schema.js';
import { describeError, type KubeClients } from '../kube/clients.js';
import { redactSecrets } from '../propose/redact.js';
import { formatValue } from './analysis.js';
import type { Measurement, MetricProvider } from './metric-provider.js';
import { metricProviderFor, type MetricProviderFactory } from './metric-providers.js';
import { QueryTemplateError, renderQuery, targetQueryValues, type QueryValues } from './query-template.js';

/** One trigger as read now; `unknown` (no data, Prometheus failed) keeps what status remembered. */
export interface TriggerReading {
  name: string;
  state: 'firing' | 'ok' | 'unknown';
  value?: number;
  message: string;
}

export interface IncidentObserverOptions {
  clients: KubeClients;
  metricProviders?: Readonly<Record<string, MetricProviderFactory>>;
  now?: () => Date;
}

/** What an OOM kill counts for: this long after the container ended. */
export const OOM_WINDOW_MS = 10 * 60_000;
/** The triggers' values before detection: this far back, this many points. */
const SERIES_SPAN_S = 300;
const SERIES_POINTS = 20;
const MAX_EVENTS = 20;
const MAX_LOGS = 3;
const LOG_LINES = 40;
const LOG_BYTES = 8192;

export class KubeIncidentObserver {
  constructor(private readonly options: IncidentObserverOptions) {}

  /** Each declared trigger as it stands now. */
  async read(agent: HyperAgent): Promise<TriggerReading[]> {
    const triggers = agent.spec.healing?.triggers ?? [];
    const provider = this.providerFor(agent);
    let pods: V1Pod[] | string | undefined;
    return Promise.all(
      triggers.map(async (trigger): Promise<TriggerReading> => {
        if (trigger.pods) {
          pods ??= await this.podsOf(agent).catch(
            (error: unknown) => `cannot list the pods: ${describeError(error)}`,
          );
          return typeof pods === 'string'
            ? { name: trigger.name, state: 'unknown', message: pods }
            : podSignal(trigger, pods, this.now());
        }
        return readQuery(trigger, provider, valuesOf(agent));
      }),
    );
  }

  /** What the proposer of a remediation cycle is shown of the incident. */
  async evidence(
    agent: HyperAgent,
    incident: { summary: string; since: Date; detectedAt: Date; triggers: readonly string[] },
  ): Promise<IncidentEvidence> {
    const held = (agent.spec.healing?.triggers ?? []).filter((t) => incident.triggers.includes(t.name));
    const provider = this.providerFor(agent);
    const series = await Promise.all(
      held
        .filter((t) => t.query)
        .map(async (t) => ({ trigger: t.name, points: await this.series(provider, t, agent) })),
    );
    const [events, logs] = await Promise.all([
      this.recentEvents(agent).catch((error: unknown) => [
        `(the Events could not be read: ${describeError(error)})`,
      ]),
      this.logTails(agent).catch(() => []),
    ]);
    const last = agent.status?.history?.[0];
    const lastChange = last
      ? `Revision ${last.revision}, promoted ${last.promotedAt} by cycle ${last.cycle}${last.commit ? ` (commit ${last.commit.slice(0, 12)})` : ''}, image ${last.image ?? 'unknown'}${
          last.parameters && Object.keys(last.parameters).length > 0
            ? `, parameters ${Object.entries(last.parameters)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}`
            : ''
        }`
      : undefined;
    return {
      summary: incident.summary.slice(0, 1024),
      since: incident.since.toISOString(),
      detectedAt: incident.detectedAt.toISOString(),
      triggers: [...incident.triggers].slice(0, 8),
      series: series.filter((s) => s.points.length > 0),
      events,
      logs,
      ...(lastChange ? { lastChange: lastChange.slice(0, 1024) } : {}),
    };
  }

  /** The query's value at SERIES_POINTS instants over the last SERIES_SPAN_S, oldest first (points without data left out). */
  private async series(
    provider: MetricProvider,
    trigger: IncidentTrigger,
    agent: HyperAgent,
  ): Promise<{ time: string; value: number }[]> {
    let query: string;
    try {
      query = renderQuery(trigger.query!, valuesOf(agent));
    } catch {
      return [];
    }
    const now = this.now().getTime();
    const step = Math.round(SERIES_SPAN_S / SERIES_POINTS);
    const agos = Array.from({ length: SERIES_POINTS }, (_, i) => (SERIES_POINTS - 1 - i) * step);
    const values = await Promise.all(
      // the query as it stood `ago` seconds back: a one-step subquery, offset (any expression can be)
      agos.map((ago) =>
        provider.measure(`last_over_time((${query})[${step}s:${step}s]${ago > 0 ? ` offset ${ago}s` : ''})`),
      ),
    );
    return values.flatMap((value, i) =>
      value.kind === 'value' && Number.isFinite(value.value)
        ? [{ time: new Date(now - agos[i]! * 1000).toISOString(), value: Number(value.value.toPrecision(6)) }]
        : [],
    );
  }

  /** The Events of the target Deployment and its pods, Warnings first, newest first. */
  private async recentEvents(agent: HyperAgent): Promise<string[]> {
    const deployment = agent.spec.target.deployment;
    const list = await this.options.clients.core.listNamespacedEvent({ namespace: agent.metadata.namespace });
    const ours = (event: CoreV1Event) => {
      const object = event.involvedObject;
      return (
        (object.kind === 'Deployment' && object.name === deployment) ||
        (object.kind === 'Pod' && (object.name ?? '').startsWith(`${deployment}-`)) ||
        (object.kind === 'ReplicaSet' && (object.name ?? '').startsWith(`${deployment}-`))
      );
    };
    const time = (event: CoreV1Event) =>
      new Date(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? 0).getTime();
    return list.items
      .filter(ours)
      .sort((a, b) => Number(b.type === 'Warning') - Number(a.type === 'Warning') || time(b) - time(a))
      .slice(0, MAX_EVENTS)
      .map((event) =>
        redactLog(
          `${event.type ?? 'Normal'} ${event.reason ?? ''} ${event.involvedObject.kind}/${event.involvedObject.name}${(event.count ?? 1) > 1 ? ` (x${event.count})` : ''}: ${event.message ?? ''}`,
        ).slice(0, 512),
      );
  }

  /** The tails of the failing pods' logs (restarted or not ready), else of one serving pod. */
  private async logTails(agent: HyperAgent): Promise<IncidentEvidence['logs']> {
    const pods = await this.podsOf(agent);
    const container = agent.spec.target.container;
    const failing = pods.filter((pod) => restartsOf(pod) > 0 || !isReady(pod));
    const chosen = (failing.length > 0 ? failing : pods.slice(0, 1)).slice(0, MAX_LOGS);
    const tails = await Promise.all(
      chosen.map(async (pod) => {
        const name = pod.metadata?.name ?? '';
        const containerName = container ?? pod.spec?.containers[0]?.name ?? '';
        const read = (previous: boolean) =>
          this.options.clients.core.readNamespacedPodLog({
            name,
            namespace: agent.metadata.namespace,
            container: containerName,
            tailLines: LOG_LINES,
            limitBytes: LOG_BYTES,
            previous,
          });
        // a crashed container's last words are in its previous instance's log
        const text = await (restartsOf(pod) > 0 ? read(true).catch(() => read(false)) : read(false)).catch(
          (error: unknown) => `(the log could not be read: ${describeError(error)})`,
        );
        return { pod: name, container: containerName, tail: tailOf(redactLog(String(text)), LOG_BYTES) };
      }),
    );
    return tails;
  }

  private async podsOf(agent: HyperAgent): Promise<V1Pod[]> {
    const { apps, core } = this.options.clients;
    const namespace = agent.metadata.namespace;
    const deployment = await apps.readNamespacedDeployment({ name: agent.spec.target.deployment, namespace });
    const labels = deployment.spec?.selector?.matchLabels ?? {};
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await core.listNamespacedPod({
      namespace,
      ...(selector ? { labelSelector: selector } : {}),
    });
    return list.items.filter(
      (pod) => !pod.metadata?.name?.startsWith(`${agent.spec.target.deployment}-canary-`),
    );
  }

  private providerFor(agent: HyperAgent): MetricProvider {
    const found = metricProviderFor(agent.spec.rollout.analysis, this.options.metricProviders);
    if (!('failed' in found)) return found;
    const failure: Measurement = { kind: 'error', message: found.failed.message };
    return { measure: async () => failure };
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }
}

/** The query's placeholders for the target itself: {{canary}} and {{stable}} both name the Deployment. */
function valuesOf(agent: HyperAgent): QueryValues {
  return targetQueryValues(agent.metadata.namespace, agent.spec.target);
}

/** A query trigger now: firing beyond its threshold; no data or an error is unknown. */
export async function readQuery(
  trigger: IncidentTrigger,
  provider: MetricProvider,
  values: QueryValues,
): Promise<TriggerReading> {
  let query: string;
  try {
    query = renderQuery(trigger.query ?? '', values);
  } catch (error) {
    if (!(error instanceof QueryTemplateError)) throw error;
    return { name: trigger.name, state: 'unknown', message: `${trigger.name}: ${error.message}` };
  }
  const measured = await provider.measure(query);
  if (measured.kind === 'error') {
    return {
      name: trigger.name,
      state: 'unknown',
      message: `${trigger.name}: the query failed: ${measured.message}`,
    };
  }
  if (measured.kind === 'noData' || !Number.isFinite(measured.value)) {
    return {
      name: trigger.name,
      state: 'unknown',
      message: `${trigger.name}: the query returned ${measured.kind === 'noData' ? 'no data' : formatValue(measured.value)}`,
    };
  }
  const value = measured.value;
  const shown = formatValue(value);
  if (trigger.max !== undefined && value > trigger.max) {
    return {
      name: trigger.name,
      state: 'firing',
      value,
      message: `${trigger.name} ${shown} > max ${trigger.max}`,
    };
  }
  if (trigger.min !== undefined && value < trigger.min) {
    return {
      name: trigger.name,
      state: 'firing',
      value,
      message: `${trigger.name} ${shown} < min ${trigger.min}`,
    };
  }
  const within = [
    ...(trigger.min !== undefined ? [`>= min ${trigger.min}`] : []),
    ...(trigger.max !== undefined ? [`<= max ${trigger.max}`] : []),
  ].join(' and ');
  return { name: trigger.name, state: 'ok', value, message: `${trigger.name} ${shown} ${within}` };
}

/** A pod signal now: CrashLoop (a container waiting in CrashLoopBackOff) or OOMKilled (an OOM kill in the last OOM_WINDOW_MS). */
export function podSignal(trigger: IncidentTrigger, pods: readonly V1Pod[], now: Date): TriggerReading {
  const hits: string[] = [];
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const where = `pod ${pod.metadata?.name}: container ${status.name}`;
      if (trigger.pods === 'CrashLoop' && status.state?.waiting?.reason === 'CrashLoopBackOff') {
        hits.push(`${where} in CrashLoopBackOff (${status.restartCount} restarts)`);
      }
      const ended = status.lastState?.terminated;
      if (trigger.pods === 'OOMKilled' && ended?.reason === 'OOMKilled') {
        const at = new Date(ended.finishedAt ?? 0).getTime();
        if (now.getTime() - at <= OOM_WINDOW_MS)
          hits.push(`${where} was OOM-killed at ${new Date(at).toISOString()}`);
      }
    }
  }
  if (hits.length === 0) {
    return { name: trigger.name, state: 'ok', message: `${trigger.name}: no pod shows ${trigger.pods}` };
  }
  return {
    name: trigger.name,
    state: 'firing',
    value: hits.length,
    message: `${trigger.name}: ${hits.slice(0, 3).join('; ')}${hits.length > 3 ? ` and ${hits.length - 3} more` : ''}`,
  };
}

/** Secrets out of log text: the proposers' redaction, plus key=value credentials and private keys. */
export function redactLog(text: string): string {
  return redactSecrets(text)
    .replace(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
      '[REDACTED PRIVATE KEY]',
    )
    .replace(
      /\b((?:[A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)[A-Za-z0-9_-]*))(["']?\s*[:=]\s*["']?)[^"'\s,;}&]+/gi,
      (_match, name: string, separator: string) => `${name}${separator}[REDACTED]`,
    )
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '[REDACTED]')
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/gi, (match) =>
      match.replace(/\/\/[^@]+@/, '//[REDACTED]@'),
    );
}

/** The last `max` bytes of a text, from a line start when one is near. */
function tailOf(text: string, max: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= max) return text;
  const tail = buffer.subarray(buffer.length - max).toString('utf8');
  const newline = tail.indexOf('\n');
  return newline >= 0 && newline < 200 ? tail.slice(newline + 1) : tail;
}

function restartsOf(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
