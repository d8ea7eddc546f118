// The archive as Kubernetes status holds it, and back. Structural CRD schemas cannot say "number or
// boolean or string", so parameter values are written as strings and read back by the type the
// agent declares for each parameter.
import type { ArchiveRecord } from '../api/schema.js';
import type { ArchiveEntry } from './archive-entry.js';
import type { ParameterSpec, ParameterValue, ParameterValues } from '../api/parameters.js';

/** Writes parameter values as status strings. */
export function parameterStrings(values: ParameterValues): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, String(value)]));
}

/**
 * Reads status strings back as typed values. A value whose parameter is no longer declared, or
 * that no longer parses as its type, is dropped: the archive must not feed the tuner a point it
 * cannot place.
 */
export function parameterValues(
  strings: Record<string, string>,
  declared: readonly ParameterSpec[],
): ParameterValues {
  const out: ParameterValues = {};
  for (const [name, text] of Object.entries(strings)) {
    const spec = declared.find((parameter) => parameter.name === name);
    const value = spec ? parseValue(text, spec) : undefined;
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function parseValue(text: string, spec: ParameterSpec): ParameterValue | undefined {
  switch (spec.type) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'choice':
      return spec.choices?.includes(text) ? text : undefined;
    case 'integer':
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) return undefined;
      return spec.type === 'integer' && !Number.isInteger(value) ? undefined : value;
    }
  }
}

/** An archive entry as status stores it. */
export function toArchiveRecord(entry: ArchiveEntry): ArchiveRecord {
  return {
    id: entry.id,
    cycle: entry.cycle,
    kind: entry.kind,
    summary: entry.summary.slice(0, 512),
    ...(entry.parent !== undefined ? { parent: entry.parent } : {}),
    ...(entry.parameters ? { parameters: parameterStrings(entry.parameters) } : {}),
    ...(entry.score !== undefined && Number.isFinite(entry.score) ? { score: entry.score } : {}),
    verdict: entry.verdict,
    ...(entry.reasons?.length
      ? { reasons: entry.reasons.slice(0, 8).map((reason) => reason.slice(0, 512)) }
      : {}),
    ...(entry.commit !== undefined ? { commit: entry.commit } : {}),
    ...(entry.diffSha256 !== undefined ? { diffSha256: entry.diffSha256 } : {}),
    ...(entry.gain !== undefined ? { gain: entry.gain } : {}),
    evaluatedAt: entry.evaluatedAt,
  };
}

/** A status record as the engine uses it, its parameters typed by the agent's declarations. */
export function fromArchiveRecord(record: ArchiveRecord, declared: readonly ParameterSpec[]): ArchiveEntry {
  return {
    id: record.id,
    cycle: record.cycle,
    kind: record.kind,
    summary: record.summary,
    ...(record.parent !== undefined ? { parent: record.parent } : {}),
    ...(record.parameters ? { parameters: parameterValues(record.parameters, declared) } : {}),
    ...(record.score !== undefined ? { score: record.score } : {}),
    verdict: record.verdict,
    ...(record.reasons ? { reasons: record.reasons } : {}),
    ...(record.commit !== undefined ? { commit: record.commit } : {}),
    ...(record.diffSha256 !== undefined ? { diffSha256: record.diffSha256 } : {}),
    ...(record.gain !== undefined ? { gain: record.gain } : {}),
    evaluatedAt: record.evaluatedAt,
  };
}
