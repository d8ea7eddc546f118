// The per-cycle ConfigMap that holds what evaluating the candidates needs and status cannot hold:
// each code candidate's diff, the parent's changes when the parent is a code variant, the files
// the candidate's tree changes (its changed-files bundle), and the full parameter values each
// candidate (and the baseline) runs with. Owned by the cycle, so it goes when the cycle goes.
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  API_VERSION,
  CYCLES,
  AGENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_CONFIGMAP_BYTES,
} from '../api/resources.js';
import type { ParameterValues } from '../api/parameters.js';

export const BASELINE = 'baseline';

/** `<cycle>-inputs`. */
export function cycleInputsName(cycle: string): string {
  return `${cycle}-inputs`;
}

export const inputKeys = {
  diff: (candidate: string) => `${candidate}.diff`,
  parentDiff: (candidate: string) => `${candidate}.parent.diff`,
  parameters: (candidate: string) => `${candidate}.parameters.json`,
  /** The candidate's changed-files bundle (ChangedFilesBundle as JSON). */
  files: (candidate: string) => `${candidate}.files.json`,
};

/** What the API server accepts in one ConfigMap: its values together, in bytes. */
export const MAX_INPUTS_BYTES = MAX_CONFIGMAP_BYTES;

/** The bytes `data` takes in the ConfigMap, as the API server counts them (values only). */
export function inputsSize(data: Readonly<Record<string, string>>): number {
  return Object.values(data).reduce((sum, value) => sum + Buffer.byteLength(value, 'utf8'), 0);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The ConfigMap of a cycle's inputs, owned by the cycle. */
export function cycleInputsConfigMap(
  cycle: { namespace: string; name: string; uid: string; agent: string },
  data: Record<string, string>,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: cycleInputsName(cycle.name),
      namespace: cycle.namespace,
      labels: { [AGENT_LABEL]: cycle.agent, [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: CYCLES.kind, name: cycle.name, uid: cycle.uid, controller: true },
      ],
    },
    data,
  };
}

/** Parameter values as the JSON the sandbox reads. */
export function parametersJson(values: ParameterValues): string {
  return `${JSON.stringify(values, Object.keys(values).sort())}\n`;
}
