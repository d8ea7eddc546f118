// The answer every outside proposer gives (an LLM, a user's command): one TypeBox schema, from which
// both the validator and the JSON schema sent as `response_format` are derived, so the two never
// disagree.
//
// Shape, chosen so OpenAI's strict structured outputs accept it (every object closes its properties
// and requires all of them; no free-form maps):
//
//   { "candidates": [
//       { "kind": "config", "parameters": [ { "name": "cacheSize", "value": 512 } ],
//         "summary": "…", "rationale": "…" },
//       { "kind": "code", "diff": "diff --git a/… b/…\n…", "summary": "…", "rationale": "…" } ] }
//
// Parameters are a list of {name, value} pairs rather than an object keyed by name, because strict
// mode cannot express an object with caller-chosen keys. A value may be a JSON number, boolean or
// string; strings are read as numbers or booleans where the declared type asks for one ("512",
// "true"), since some models quote everything.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { ProposalRequest, ProposedCandidate } from './candidate.js';
import type { ArchiveEntry } from '../policy/archive-entry.js';
import type { ParameterSpec, ParameterValue, ParameterValues } from '../api/parameters.js';
import { diffSha256 } from './diff-sha256.js';

export const MAX_SUMMARY_CHARS = 200;
export const MAX_RATIONALE_CHARS = 2000;
/** Large enough for a focused change; the patch policy enforces its own byte limit later. */
export const MAX_DIFF_CHARS = 256 * 1024;
/** The most candidates any answer may list (the CRD's ceiling for maxCandidates). */
export const MAX_ANSWER_CANDIDATES = 16;
/** The CRD allows at most 32 declared parameters, so a change never needs more pairs. */
export const MAX_PARAMETER_CHANGES = 32;
/** Candidates beyond this many are not even looked at: reading them is work a bad answer buys. */
const MAX_CANDIDATES_READ = 64;

const Summary = Type.String({
  minLength: 1,
  maxLength: MAX_SUMMARY_CHARS,
  description: `What the candidate changes, in one line of at most ${MAX_SUMMARY_CHARS} characters.`,
});

const Rationale = Type.String({
  maxLength: MAX_RATIONALE_CHARS,
  description: `Why it should help the goal, in at most ${MAX_RATIONALE_CHARS} characters.`,
});

const ParameterChange = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, description: 'A declared parameter.' }),
    value: Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 253 })], {
      description: 'The new value: a number, a boolean, or one of the declared choices.',
    }),
  },
  { additionalProperties: false },
);

export const ConfigCandidateAnswer = Type.Object(
  {
    kind: Type.Literal('config'),
    parameters: Type.Array(ParameterChange, {
      minItems: 1,
      maxItems: MAX_PARAMETER_CHANGES,
      description: 'Only the parameters that change, each once.',
    }),
    summary: Summary,
    rationale: Rationale,
  },
  { additionalProperties: false, description: 'New values for declared parameters; no code changes.' },
);

export const CodeCandidateAnswer = Type.Object(
  {
    kind: Type.Literal('code'),
    diff: Type.String({
      minLength: 1,
      maxLength: MAX_DIFF_CHARS,
      description:
        "A unified diff in `git diff` form (starting with 'diff --git'), against the starting point.",
    }),
    summary: Summary,
    rationale: Rationale,
  },
  { additionalProperties: false, description: 'A source change.' },
);

/** The whole answer: the single source of truth for validation and for `response_format`. */
export const CandidateAnswer = Type.Object(
  {
    candidates: Type.Array(Type.Union([ConfigCandidateAnswer, CodeCandidateAnswer]), {
      maxItems: MAX_ANSWER_CANDIDATES,
      description: 'The proposed candidates, best first.',
    }),
  },
  { additionalProperties: false },
);

export type CandidateAnswer = Static<typeof CandidateAnswer>;

const checkEnvelope = TypeCompiler.Compile(CandidateAnswer);
const checkConfig = TypeCompiler.Compile(ConfigCandidateAnswer);
const checkCode = TypeCompiler.Compile(CodeCandidateAnswer);

// Keywords OpenAI's strict mode accepts; anything else (minLength, maxLength…) is dropped from the
// derived schema and enforced by our own validation, with the limit also stated in `description`.
const STRICT_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'anyOf',
  'enum',
  'description',
  'minItems',
  'maxItems',
]);

/**
 * The JSON schema of the answer for `response_format` in strict mode, derived from
 * `CandidateAnswer`: length limits dropped, literals as one-value enums, and the list capped at
 * `maxCandidates`. Throws if the TypeBox schema ever stops fitting strict mode (a programming error).
 */
export function candidateJsonSchema(maxCandidates: number = MAX_ANSWER_CANDIDATES): Record<string, unknown> {
  const schema = toStrict(JSON.parse(JSON.stringify(CandidateAnswer)) as unknown, '') as Record<
    string,
    unknown
  >;
  const candidates = (schema.properties as Record<string, Record<string, unknown>>).candidates;
  if (candidates) candidates.maxItems = Math.max(1, Math.min(MAX_ANSWER_CANDIDATES, maxCandidates));
  return schema;
}

/** The `response_format` of a chat completion asking for the answer in strict structured output. */
export function candidateResponseFormat(maxCandidates: number) {
  return {
    type: 'json_schema' as const,
    json_schema: {
      name: 'candidates',
      description: 'Candidate changes towards the goal.',
      strict: true,
      schema: candidateJsonSchema(maxCandidates),
    },
  };
}

function toStrict(node: unknown, path: string): unknown {
  if (Array.isArray(node)) return node.map((item, i) => toStrict(item, `${path}/${i}`));
  if (typeof node !== 'object' || node === null) return node;
  const source = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'const') out.enum = [value];
    else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, sub]) => [
          name,
          toStrict(sub, `${path}/${name}`),
        ]),
      );
    } else if (STRICT_KEYWORDS.has(key)) out[key] = toStrict(value, path);
  }
  if (out.type === 'object') {
    const keys = Object.keys((out.properties as Record<string, unknown> | undefined) ?? {});
    const required = (out.required as string[] | undefined) ?? [];
    if (out.additionalProperties !== false || keys.some((key) => !required.includes(key))) {
      throw new Error(`candidate schema at '${path || '/'}' does not fit strict mode`);
    }
  }
  return out;
}

/** What the reader needs from the proposal request to judge candidates. */
export type CandidateContext = Pick<ProposalRequest, 'parameters' | 'current' | 'maxCandidates'> &
  Partial<Pick<ProposalRequest, 'archive' | 'parent'>>;

/**
 * The reading of one answer. `ok: false` when the answer as a whole is unusable (not JSON, not the
 * envelope); otherwise the usable candidates, and one line per candidate dropped and why.
 */
export type AnswerReading =
  { ok: true; candidates: ProposedCandidate[]; dropped: string[] } | { ok: false; errors: string[] };

/**
 * Reads an answer's text into candidates the request allows. Structural problems of one candidate,
 * undeclared or out-of-range parameters, no-op changes, changes that repeat an archived attempt
 * (the same full values, or the same diff) and empty diffs drop that candidate only; candidates beyond `maxCandidates` are dropped last. Never throws.
 */
export function readCandidateAnswer(text: string, context: CandidateContext): AnswerReading {
  let value: unknown;
  try {
    value = JSON.parse(stripFence(text));
  } catch (error) {
    return { ok: false, errors: [`not JSON: ${(error as Error).message}`] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: ['the answer must be a JSON object with a "candidates" list'] };
  }
  const raw = (value as Record<string, unknown>).candidates;
  if (!Array.isArray(raw)) {
    return { ok: false, errors: ['"candidates" must be a list'] };
  }
  // The envelope is checked with its list emptied, so one bad candidate cannot sink its siblings;
  // the list's own limits are the request's maxCandidates and MAX_CANDIDATES_READ below.
  const envelopeErrors = schemaErrors(checkEnvelope, { ...value, candidates: [] });
  if (envelopeErrors.length > 0) return { ok: false, errors: envelopeErrors };

  const dropped: string[] = [];
  const candidates: ProposedCandidate[] = [];
  const seen: { key: string; index: number }[] = [];
  const baseline = startingValues(context);
  const parent = context.parent?.id;
  if (raw.length > MAX_CANDIDATES_READ) {
    dropped.push(
      `${raw.length - MAX_CANDIDATES_READ} candidates beyond the first ${MAX_CANDIDATES_READ} ignored`,
    );
  }
  raw.slice(0, MAX_CANDIDATES_READ).forEach((item, i) => {
    const label = `candidate ${i + 1}`;
    const read = readOne(item, context, baseline);
    if ('problem' in read) {
      dropped.push(`${label}: ${read.problem}`);
      return;
    }
    const duplicate = seen.find((entry) => entry.key === read.key);
    if (duplicate) {
      dropped.push(`${label}: same change as candidate ${duplicate.index + 1}`);
      return;
    }
    seen.push({ key: read.key, index: i });
    const candidate = read.candidate;
    if (parent !== undefined) candidate.parent = parent;
    candidates.push(candidate);
  });
  if (candidates.length > context.maxCandidates) {
    const extra = candidates.length - context.maxCandidates;
    dropped.push(`${extra} valid candidate(s) beyond maxCandidates=${context.maxCandidates} dropped`);
    candidates.length = context.maxCandidates;
  }
  return { ok: true, candidates, dropped };
}

type ReadOne = { candidate: ProposedCandidate; key: string } | { problem: string };

function readOne(item: unknown, context: CandidateContext, baseline: ParameterValues): ReadOne {
  const kind = typeof item === 'object' && item !== null ? (item as { kind?: unknown }).kind : undefined;
  const summary = (item as { summary?: unknown } | undefined)?.summary;
  if (typeof summary === 'string' && summary.trim() === '' && (kind === 'config' || kind === 'code')) {
    return { problem: `${kind}: the summary is blank` };
  }
  if (kind === 'config') {
    const errors = schemaErrors(checkConfig, item);
    if (errors.length > 0) return { problem: `config: ${errors.join('; ')}` };
    return readConfig(item as Static<typeof ConfigCandidateAnswer>, context, baseline);
  }
  if (kind === 'code') {
    const errors = schemaErrors(checkCode, item);
    if (errors.length > 0) return { problem: `code: ${errors.join('; ')}` };
    return readCode(item as Static<typeof CodeCandidateAnswer>, context);
  }
  return { problem: `"kind" must be "config" or "code", got ${short(JSON.stringify(kind) ?? 'nothing')}` };
}

function readConfig(
  answer: Static<typeof ConfigCandidateAnswer>,
  context: CandidateContext,
  baseline: ParameterValues,
): ReadOne {
  const declared = new Map(context.parameters.map((spec) => [spec.name, spec]));
  const changes: ParameterValues = {};
  const problems: string[] = [];
  for (const { name, value } of answer.parameters) {
    const spec = declared.get(name);
    if (!spec) {
      problems.push(`parameter ${short(JSON.stringify(name))} is not declared`);
      continue;
    }
    if (name in changes) {
      problems.push(`parameter '${name}' is given twice`);
      continue;
    }
    const checked = checkValue(spec, value);
    if ('problem' in checked) problems.push(`parameter '${name}' ${checked.problem}`);
    else if (checked.value !== baseline[name]) changes[name] = checked.value;
  }
  if (problems.length > 0) return { problem: `config: ${problems.join('; ')}` };
  const names = Object.keys(changes).sort();
  if (names.length === 0)
    return { problem: 'config: changes nothing (every value equals the starting point)' };

  const repeated = repeatedAttempt({ kind: 'config', values: { ...baseline, ...changes } }, context);
  if (repeated) {
    return { problem: `config: repeats archived attempt ${repeated.id} (${repeated.verdict})` };
  }
  return {
    candidate: {
      kind: 'config',
      parameters: changes,
      summary: oneLine(answer.summary),
      rationale: answer.rationale.trim(),
    },
    key: `config:${JSON.stringify(names.map((name) => [name, changes[name]]))}`,
  };
}

function readCode(answer: Static<typeof CodeCandidateAnswer>, context: CandidateContext): ReadOne {
  if (answer.diff.trim() === '') return { problem: 'code: the diff is empty' };
  // Only the shape is checked here; the patch policy reads the diff in full before anything runs.
  if (!/^diff --git /m.test(answer.diff)) {
    return { problem: "code: the diff is not in git's format (no 'diff --git' line)" };
  }
  const diff = answer.diff.endsWith('\n') ? answer.diff : `${answer.diff}\n`;
  // The diff as the candidate carries it: the text status records and hashes.
  const repeated = repeatedAttempt({ kind: 'code', diff }, context);
  if (repeated) {
    return { problem: `code: repeats archived attempt ${repeated.id} (${repeated.verdict})` };
  }
  return {
    candidate: { kind: 'code', diff, summary: oneLine(answer.summary), rationale: answer.rationale.trim() },
    key: `code:${diff}`,
  };
}

/** Checks one value against its declaration; strings are read as numbers or booleans when asked. */
export function checkValue(
  spec: ParameterSpec,
  value: ParameterValue,
): { value: ParameterValue } | { problem: string } {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const n = typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value.trim()) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        return {
          problem: `must be ${spec.type === 'integer' ? 'an integer' : 'a number'}, got ${short(JSON.stringify(value))}`,
        };
      }
      if (spec.type === 'integer' && !Number.isInteger(n)) return { problem: `must be an integer, got ${n}` };
      if (spec.min !== undefined && n < spec.min) return { problem: `= ${n} is below min ${spec.min}` };
      if (spec.max !== undefined && n > spec.max) return { problem: `= ${n} is above max ${spec.max}` };
      if (spec.step !== undefined && !onGrid(n, spec.min ?? 0, spec.step)) {
        return { problem: `= ${n} is not on the grid ${spec.min ?? 0} + k × ${spec.step}` };
      }
      return { value: n };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return { problem: `must be a boolean, got ${short(JSON.stringify(value))}` };
    }
    case 'choice': {
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text === 'string' && (spec.choices ?? []).includes(text)) return { value: text };
      return {
        problem: `= ${short(JSON.stringify(value))} is not one of ${JSON.stringify(spec.choices ?? [])}`,
      };
    }
  }
}

const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function onGrid(value: number, anchor: number, step: number): boolean {
  const k = (value - anchor) / step;
  return Math.abs(k - Math.round(k)) <= 1e-9 * Math.max(1, Math.abs(k));
}

/** The values a change applies to: the deployed ones, overlaid with the parent's when it has some. */
export function startingValues(context: Pick<CandidateContext, 'current' | 'parent'>): ParameterValues {
  return { ...context.current, ...(context.parent?.parameters ?? {}) };
}

/** A change as the archive compares it: a config candidate's full values, or a code candidate's diff. */
export type TriedChange = { kind: 'config'; values: ParameterValues } | { kind: 'code'; diff: string };

/**
 * The archived attempt `change` repeats, if any: for config, the same value of every declared
 * parameter (a value an entry does not carry is the deployed one); for code, the same diff text,
 * by the SHA-256 status records. The one test of "already tried", for the answer reader and the
 * proposal round alike.
 */
export function repeatedAttempt(
  change: TriedChange,
  context: Pick<CandidateContext, 'parameters' | 'current' | 'archive'>,
): ArchiveEntry | undefined {
  const archive = context.archive ?? [];
  if (change.kind === 'code') {
    const hash = diffSha256(change.diff);
    return archive.find((entry) => entry.diffSha256 === hash);
  }
  return archive.find((entry) => {
    if (entry.kind !== 'config' || !entry.parameters) return false;
    const tried = { ...context.current, ...entry.parameters };
    return context.parameters.every((spec) => change.values[spec.name] === tried[spec.name]);
  });
}

function schemaErrors(
  check: { Errors(value: unknown): Iterable<{ path: string; message: string }> },
  value: unknown,
) {
  const errors: string[] = [];
  for (const error of check.Errors(value)) {
    errors.push(`${error.path || '/'}: ${error.message}`);
    if (errors.length === 3) break;
  }
  return errors;
}

function stripFence(text: string): string {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return match?.[1] ?? text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function short(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
