// One place tells the story of an object: the log line and the Kubernetes Event say the same thing.
import type { CoreV1Api, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { API_VERSION, CYCLES } from '../api/resources.js';
import { describeError } from './clients.js';

export const COMPONENT = 'hyperagent-operator';

export type EventType = 'Normal' | 'Warning';

/** An ImprovementCycle as the object an Event is about, from what the cycle's work knows of it. */
export function cycleObject(cycle: { name: string; namespace: string; uid: string }): KubernetesObject {
  return {
    apiVersion: API_VERSION,
    kind: CYCLES.kind,
    metadata: { name: cycle.name, namespace: cycle.namespace, uid: cycle.uid },
  };
}

export interface EventRecorder {
  /** Logs now and records the Event in the background: a reconcile never waits for it. */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
}

/** Records Events through the core API; a failure to record is logged, never thrown. */
export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly core: CoreV1Api,
    private readonly log: Logger,
    private readonly instance: string,
  ) {}

  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const namespace = obj.metadata?.namespace ?? 'default';
    const name = obj.metadata?.name ?? 'unknown';
    const line = { kind: obj.kind, namespace, name, reason };
    if (type === 'Warning') this.log.warn(line, message);
    else this.log.info(line, message);
    this.create(obj, namespace, name, type, reason, message).catch((error: unknown) =>
      this.log.warn({ ...line, err: describeError(error) }, 'could not record event'),
    );
  }

  private async create(
    obj: KubernetesObject,
    namespace: string,
    name: string,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: {
          name: `${name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`,
          namespace,
        },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name,
          namespace,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}
