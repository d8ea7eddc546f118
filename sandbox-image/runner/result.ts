// The result leaves the pod as the container's termination message, which the kubelet cuts at
// MAX_RESULT_BYTES. Rather than let it be cut mid-JSON, the runner shrinks it itself, always in
// the same order: the message first, then the listed interface changes (they stay counted), then
// the precision and number of benchmark figures.
import { Value } from '@sinclair/typebox/value';
import {
  MAX_RESULT_BYTES,
  PROTOCOL_VERSION,
  SandboxResult,
} from '../../operator/src/api/sandbox-protocol.js';

/** Prefix of the stdout line that repeats the result (the last line of the log). */
export const RESULT_LINE_PREFIX = 'HYPERAGENT_RESULT ';

/** The schema's limit on the message. */
const MAX_MESSAGE_CHARS = 1024;

/** Significant digits benchmark figures are rounded to before whole runs are dropped. */
const ROUNDED_DIGITS = 6;

/** Stands in for a nonce the manifest did not give: no operator accepts it as a pod's. */
export const NO_NONCE = '0'.repeat(32);

/** A result with nothing known yet beyond the candidate and the nonce. */
export function emptyResult(candidate: string, nonce: string = NO_NONCE): SandboxResult {
  return {
    version: PROTOCOL_VERSION,
    nonce,
    candidate: candidate.slice(0, 63),
    outcome: 'error',
    breached: [],
    commands: [],
    commandMs: 0,
    isolationMs: 0,
  };
}

/** Notes joined into one message within the schema's limit; undefined when there are none. */
export function joinNotes(notes: readonly string[]): string | undefined {
  if (notes.length === 0) return undefined;
  return truncate(notes.join('; '), MAX_MESSAGE_CHARS);
}

/**
 * The compact JSON of `result`, shrunk until it fits in `maxBytes`: the message is shortened, then
 * dropped; listed interface changes are dropped from the end into `more`; benchmark figures are
 * rounded, then the last runs, then the last keys are dropped; then the judge's lesser workload
 * figures and the length of the quoted answers. A result that breaks the schema is replaced by an
 * `error` result that says so; every answer keeps the nonce.
 */
export function fitResult(result: SandboxResult, maxBytes = MAX_RESULT_BYTES): string {
  const candidate = typeof result.candidate === 'string' ? result.candidate : '';
  const nonce =
    typeof result.nonce === 'string' && /^[0-9a-f]{32,64}$/.test(result.nonce) ? result.nonce : NO_NONCE;
  if (!Value.Check(SandboxResult, result)) {
    const first = [...Value.Errors(SandboxResult, result)][0];
    const reason = first ? `${first.path || '/'}: ${first.message}` : 'unknown';
    return fitResult(
      { ...emptyResult(candidate, nonce), message: `the runner built an invalid result (${reason})` },
      maxBytes,
    );
  }
  let current = structuredClone(result);
  const fits = (): boolean => size(current) <= maxBytes;

  while (!fits() && current.message !== undefined) {
    const keep = current.message.length - (size(current) - maxBytes) - 3;
    if (keep < 16) delete current.message;
    else current.message = truncate(current.message, keep);
  }
  while (
    !fits() &&
    current.interface &&
    current.interface.removed.length + current.interface.added.length > 0
  ) {
    const changes = current.interface;
    if (changes.added.length > 0) changes.added.pop();
    else changes.removed.pop();
    changes.more += 1;
  }
  if (!fits() && current.benchmark) {
    current.benchmark = mapValues(current.benchmark, (values) => values.map((value) => round(value)));
  }
  while (!fits() && current.benchmark && Object.keys(current.benchmark).length > 0) {
    const longest = Math.max(...Object.values(current.benchmark).map((values) => values.length));
    if (longest > 1) {
      current.benchmark = mapValues(current.benchmark, (values) => values.slice(0, longest - 1));
    } else {
      const keys = Object.keys(current.benchmark);
      current.benchmark = Object.fromEntries(Object.entries(current.benchmark).slice(0, keys.length - 1));
    }
  }
  // The judge's own figures last: first the ones no objective is likely to name, then the quoted
  // answers of the first behaviour difference, shortened.
  for (const key of ['max_ms', 'mean_ms', 'p50_ms', 'p90_ms'] as const) {
    if (fits() || !current.workload) break;
    delete current.workload.baseline?.[key];
    delete current.workload.candidate?.[key];
  }
  const first = current.workload?.behaviour?.first;
  if (!fits() && first) {
    first.baseline = truncate(first.baseline, 80);
    first.candidate = truncate(first.candidate, 80);
    first.request = truncate(first.request, 80);
  }
  if (!fits()) {
    current = {
      ...emptyResult(result.candidate, nonce),
      message: 'the result did not fit in the termination message',
    };
  }
  return JSON.stringify(current);
}

function size(result: SandboxResult): number {
  return Buffer.byteLength(JSON.stringify(result));
}

function truncate(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, Math.max(0, chars - 1))}…`;
}

function round(value: number): number {
  return Number(value.toPrecision(ROUNDED_DIGITS));
}

function mapValues(
  record: Record<string, number[]>,
  change: (values: number[]) => number[],
): Record<string, number[]> {
  return Object.fromEntries(Object.entries(record).map(([key, values]) => [key, change(values)]));
}
