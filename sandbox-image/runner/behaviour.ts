// Behaviour, compared from outside: the same requests go to the baseline's service and to the
// candidate's, and their answers (status and body) must agree. Fields that legitimately differ
// between two runs (timestamps, request ids) are declared and left out. Pure.

/** One answer as the judge keeps it: status, and the body normalised for comparison. */
export interface Answer {
  status: number;
  /** JSON bodies re-serialised with sorted keys and the ignored fields removed; other bodies as text. */
  body: string;
}

/** How much of a body is kept and shown. */
export const MAX_BODY_CHARS = 64 * 1024;
const SHOWN_CHARS = 300;

/**
 * The comparable form of a body: JSON (when it parses) with `ignoreFields` removed — a field is a
 * dotted path from the top (`meta.requestId`), `*` matching any key or index — and keys sorted;
 * anything else as text, cut at MAX_BODY_CHARS.
 */
export function normalizeBody(text: string, ignoreFields: readonly string[]): string {
  const cut = text.length > MAX_BODY_CHARS ? text.slice(0, MAX_BODY_CHARS) : text;
  let value: unknown;
  try {
    value = JSON.parse(cut);
  } catch {
    return cut;
  }
  for (const field of ignoreFields) value = without(value, field.split('.'));
  return JSON.stringify(sorted(value));
}

function without(value: unknown, path: readonly string[]): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) {
    if (head !== '*' && !/^\d+$/.test(head)) return value;
    return value.map((item, index) =>
      head === '*' || Number(head) === index ? (rest.length === 0 ? undefined : without(item, rest)) : item,
    );
  }
  const entries = Object.entries(value as Record<string, unknown>).flatMap(
    ([key, item]): [string, unknown][] => {
      if (head !== '*' && key !== head) return [[key, item]];
      return rest.length === 0 ? [] : [[key, without(item, rest)]];
    },
  );
  return Object.fromEntries(entries);
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}

export interface BehaviourComparison {
  compared: number;
  differing: number;
  /** The first request whose answers differ, with both answers (shortened). */
  first?: { request: string; baseline: string; candidate: string };
}

/**
 * Compares answers request by request; `requests` names each index for the report. The
 * candidate's answers given under load (by request index, already described) must match too: a
 * service that answers one way when asked alone and another while it is being measured — a made-up
 * answer, or a 503 for its slow requests — differs. An answer under load that the unchanged service
 * also gave under load (it shed that request too) is no difference.
 */
export function compareAnswers(
  requests: readonly string[],
  baseline: readonly (Answer | string)[],
  candidate: readonly (Answer | string)[],
  candidateUnderLoad: ReadonlyMap<number, ReadonlySet<string>> = new Map(),
  baselineUnderLoad: ReadonlyMap<number, ReadonlySet<string>> = new Map(),
): BehaviourComparison {
  const comparison: BehaviourComparison = { compared: 0, differing: 0 };
  const count = Math.min(requests.length, baseline.length, candidate.length);
  for (let index = 0; index < count; index++) {
    comparison.compared += 1;
    const before = describe(baseline[index]!);
    const alone = describe(candidate[index]!);
    const known = baselineUnderLoad.get(index);
    const loaded = [...(candidateUnderLoad.get(index) ?? [])].find(
      (answer) => answer !== before && !known?.has(answer),
    );
    const differsAlone = comparable(baseline[index]!) !== comparable(candidate[index]!);
    const after = differsAlone ? alone : loaded !== undefined ? `${loaded} (under load)` : undefined;
    if (after === undefined) continue;
    comparison.differing += 1;
    comparison.first ??= { request: requests[index]!, baseline: shorten(before), candidate: shorten(after) };
  }
  return comparison;
}

/**
 * What is compared: the answer, or for a transport failure only that there was none — whether a
 * dying service's connection was reset or refused is a race, not behaviour.
 */
function comparable(answer: Answer | string): string {
  return typeof answer === 'string' ? 'no answer' : describe(answer);
}

/** An answer as one line: `200 {"price":1}`, or the transport error (a string) as it is. */
export function describe(answer: Answer | string): string {
  return typeof answer === 'string' ? answer : `${answer.status} ${answer.body}`;
}

function shorten(text: string): string {
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text;
}
