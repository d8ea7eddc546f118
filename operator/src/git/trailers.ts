// Commit trailers: the record of an accepted candidate that travels with its commit, so the
// archive can be rebuilt from the repository alone and a reviewer reading `git log` sees who
// proposed what, from which parent, and how it scored.
//
// The block is written and read the way `git interpret-trailers --parse` reads it: the last
// paragraph of the message, `Key: value` lines, keys compared without regard to case, other
// trailers (Signed-off-by, Co-authored-by) tolerated and kept. Values are forced onto one line,
// because a newline inside a value would end the trailer or start a new one.
import { PROPOSER_TYPES } from '../api/schema.js';
import type { ArchiveVerdict } from '../policy/archive-entry.js';
import type { ParameterValue, ParameterValues } from '../api/parameters.js';
import { GitLineageError } from './errors.js';
import { agentKey, assertAgent, assertDnsLabel, assertToken, isArchiveId, type AgentRef } from './refs.js';

export interface Trailer {
  key: string;
  value: string;
}

export const TRAILER_KEYS = {
  agent: 'HyperAgent-Agent',
  cycle: 'HyperAgent-Cycle',
  candidate: 'HyperAgent-Candidate',
  parent: 'HyperAgent-Parent',
  goal: 'HyperAgent-Goal',
  proposer: 'HyperAgent-Proposer',
  model: 'HyperAgent-Model',
  score: 'HyperAgent-Score',
  verdict: 'HyperAgent-Verdict',
  kind: 'HyperAgent-Kind',
  tree: 'HyperAgent-Tree',
  parameters: 'HyperAgent-Parameters',
} as const;

/** The Parent value of a candidate that starts from the deployed baseline. */
export const BASELINE = 'baseline';

/** Longest goal kept in a trailer, in characters; a goal is free text and may be a page long. */
export const GOAL_MAX = 200;
/** Longest model name kept in a trailer, in characters. */
export const MODEL_MAX = 253;

export const PROPOSERS = PROPOSER_TYPES;
export type ProposerName = (typeof PROPOSERS)[number];
const VERDICTS: readonly ArchiveVerdict[] = ['Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack'];
const KINDS = ['config', 'code'] as const;

/** What the trailers of a candidate commit say. */
export interface CandidateRecord {
  agent: AgentRef;
  cycle: string;
  /** Candidate id within the cycle. */
  candidate: string;
  /** Archive id of the parent; undefined = the baseline. */
  parent?: string;
  goal: string;
  proposer: ProposerName;
  model?: string;
  score?: number;
  verdict: ArchiveVerdict;
  kind: 'config' | 'code';
  /** The commit's tree: the tree that was evaluated (absent in commits made before trees were recorded). */
  tree?: string;
  /** Full parameter values (for config candidates; optional for code). */
  parameters?: ParameterValues;
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

// Characters that would break a value across lines for git or for a reader: C0 and C1 controls
// and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

// A lone surrogate cannot be written as UTF-8; it would come back from git as U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** One line, no control characters, whitespace collapsed and trimmed (as git trims values). */
export function singleLine(value: string): string {
  return value.replace(LONE_SURROGATE, '\uFFFD').replace(LINE_BREAKING, ' ').replace(/\s+/g, ' ').trim();
}

/** Cuts text to `max` characters (code points), marking the cut with an ellipsis. */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  if (chars.length <= max) return value;
  return `${chars
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/**
 * The record as it will read back: values made single-line, the goal and model cut to length,
 * -0 as 0. Refuses (InvalidName, InvalidCandidate) what no trailer can carry faithfully.
 */
export function normalizeRecord(record: CandidateRecord): CandidateRecord {
  assertAgent(record.agent);
  assertDnsLabel('cycle name', record.cycle);
  assertToken('candidate id', record.candidate);
  if (record.parent !== undefined && !isArchiveId(record.parent)) {
    throw new GitLineageError(
      'InvalidCandidate',
      `parent ${JSON.stringify(record.parent)} is not an archive id`,
    );
  }
  if (record.score !== undefined && !Number.isFinite(record.score)) {
    throw new GitLineageError('InvalidCandidate', 'the score must be a finite number');
  }
  if (record.tree !== undefined && !OBJECT_ID.test(record.tree)) {
    throw new GitLineageError(
      'InvalidCandidate',
      `tree ${JSON.stringify(record.tree)} is not a full object id`,
    );
  }
  const out: CandidateRecord = {
    agent: { namespace: record.agent.namespace, name: record.agent.name },
    cycle: record.cycle,
    candidate: record.candidate,
    goal: truncate(singleLine(record.goal), GOAL_MAX),
    proposer: record.proposer,
    verdict: record.verdict,
    kind: record.kind,
  };
  if (record.parent !== undefined) out.parent = record.parent;
  const model = record.model === undefined ? '' : truncate(singleLine(record.model), MODEL_MAX);
  if (model !== '') out.model = model;
  if (record.score !== undefined) out.score = record.score === 0 ? 0 : record.score;
  if (record.tree !== undefined) out.tree = record.tree;
  if (record.parameters !== undefined) out.parameters = normalizeParameters(record.parameters);
  return out;
}

function normalizeParameters(values: ParameterValues): ParameterValues {
  const out: ParameterValues = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new GitLineageError(
        'InvalidCandidate',
        `parameter ${JSON.stringify(name)} is not a finite number`,
      );
    }
    // Own data property even for a name like "__proto__", as JSON.parse will make it.
    Object.defineProperty(out, name, {
      value: value === 0 ? 0 : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The trailers of a candidate commit, in a fixed order. See normalizeRecord for what is refused. */
export function candidateTrailers(record: CandidateRecord): Trailer[] {
  const r = normalizeRecord(record);
  const trailers: Trailer[] = [
    { key: TRAILER_KEYS.agent, value: agentKey(r.agent) },
    { key: TRAILER_KEYS.cycle, value: r.cycle },
    { key: TRAILER_KEYS.candidate, value: r.candidate },
    { key: TRAILER_KEYS.parent, value: r.parent ?? BASELINE },
  ];
  // An empty value is left out rather than written as `Key: `, which some tools drop or trim.
  if (r.goal !== '') trailers.push({ key: TRAILER_KEYS.goal, value: r.goal });
  trailers.push({ key: TRAILER_KEYS.proposer, value: r.proposer });
  if (r.model !== undefined) trailers.push({ key: TRAILER_KEYS.model, value: r.model });
  if (r.score !== undefined) trailers.push({ key: TRAILER_KEYS.score, value: String(r.score) });
  trailers.push({ key: TRAILER_KEYS.verdict, value: r.verdict });
  trailers.push({ key: TRAILER_KEYS.kind, value: r.kind });
  if (r.tree !== undefined) trailers.push({ key: TRAILER_KEYS.tree, value: r.tree });
  if (r.parameters !== undefined) {
    trailers.push({ key: TRAILER_KEYS.parameters, value: compactJson(r.parameters) });
  }
  return trailers;
}

/**
 * JSON on one line that formatTrailers leaves as is: JSON.stringify already escapes C0 controls
 * and lone surrogates; the other line-breaking characters can only sit inside strings, where a
 * \u escape means the same.
 */
function compactJson(values: ParameterValues): string {
  return JSON.stringify(values).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Trailer lines, one per trailer. Line-breaking characters in a value become spaces and the
 * value is trimmed; nothing else changes, so a value that was already one line reads back as is.
 */
export function formatTrailers(trailers: readonly Trailer[]): string {
  return trailers.map((t) => `${t.key}: ${t.value.replace(LINE_BREAKING, ' ').trim()}`).join('\n');
}

const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/;
// Trailers git writes itself; their presence lets a block with some prose in it still count.
const GIT_GENERATED = [/^Signed-off-by:/i, /^\(cherry picked from commit /];

/**
 * The trailers of a commit message: its last paragraph when it is a trailer block (every line a
 * trailer or a continuation, or at least a quarter trailers with one that git generated), never
 * the subject. Continuation lines are unfolded into one value.
 */
export function parseTrailers(message: string): Trailer[] {
  const lines = message.split('\n').map((line) => line.replace(/\r$/, ''));
  while (lines.length > 0 && (lines[lines.length - 1] ?? '').trim() === '') lines.pop();
  let start = lines.length;
  while (start > 0 && (lines[start - 1] ?? '').trim() !== '') start--;
  const firstContent = lines.findIndex((line) => line.trim() !== '');
  if (start >= lines.length || start <= firstContent) return [];

  const trailers: Trailer[] = [];
  let trailerLines = 0;
  let otherLines = 0;
  let generated = false;
  let previousWasTrailer = false;
  for (const line of lines.slice(start)) {
    const match = TRAILER_LINE.exec(line);
    if (match) {
      trailers.push({ key: match[1] ?? '', value: (match[2] ?? '').trim() });
      trailerLines++;
      generated ||= GIT_GENERATED.some((pattern) => pattern.test(line));
      previousWasTrailer = true;
    } else if (/^[ \t]/.test(line) && previousWasTrailer) {
      const last = trailers[trailers.length - 1];
      if (last) last.value = `${last.value} ${line.trim()}`.trim();
    } else {
      otherLines++;
      previousWasTrailer = false;
    }
  }
  const isBlock = trailerLines > 0 && (otherLines === 0 || (generated && trailerLines * 3 >= otherLines));
  return isBlock ? trailers : [];
}

/** The value of the last trailer with this key (keys compare without regard to case). */
export function trailerValue(trailers: readonly Trailer[], key: string): string | undefined {
  const wanted = key.toLowerCase();
  let found: string | undefined;
  for (const t of trailers) if (t.key.toLowerCase() === wanted) found = t.value;
  return found;
}

/**
 * The candidate record the trailers carry, or undefined when they are not a complete, well-formed
 * candidate record (a commit someone else wrote, or one with a damaged trailer).
 */
export function readCandidateRecord(trailers: readonly Trailer[]): CandidateRecord | undefined {
  const get = (key: string) => trailerValue(trailers, key);
  const agent = parseAgent(get(TRAILER_KEYS.agent));
  const cycle = get(TRAILER_KEYS.cycle);
  const candidate = get(TRAILER_KEYS.candidate);
  const parent = get(TRAILER_KEYS.parent);
  const goal = get(TRAILER_KEYS.goal) ?? '';
  const proposer = oneOf(PROPOSERS, get(TRAILER_KEYS.proposer));
  const verdict = oneOf(VERDICTS, get(TRAILER_KEYS.verdict));
  const kind = oneOf(KINDS, get(TRAILER_KEYS.kind));
  if (!agent || cycle === undefined || candidate === undefined || parent === undefined) return undefined;
  if (!proposer || !verdict || !kind) return undefined;

  const record: CandidateRecord = { agent, cycle, candidate, goal, proposer, verdict, kind };
  if (parent !== BASELINE) record.parent = parent;
  const model = get(TRAILER_KEYS.model);
  if (model !== undefined && model !== '') record.model = model;
  const score = get(TRAILER_KEYS.score);
  if (score !== undefined) {
    const value = Number(score);
    if (score.trim() === '' || !Number.isFinite(value)) return undefined;
    record.score = value;
  }
  const tree = get(TRAILER_KEYS.tree);
  if (tree !== undefined) {
    if (!OBJECT_ID.test(tree)) return undefined;
    record.tree = tree;
  }
  const parameters = get(TRAILER_KEYS.parameters);
  if (parameters !== undefined) {
    const values = parseParameters(parameters);
    if (!values) return undefined;
    record.parameters = values;
  }
  try {
    return normalizeRecord(record);
  } catch {
    return undefined;
  }
}

function parseAgent(value: string | undefined): AgentRef | undefined {
  const parts = value?.split('/');
  if (parts?.length !== 2) return undefined;
  const [namespace, name] = parts;
  return namespace && name ? { namespace, name } : undefined;
}

function oneOf<T extends string>(allowed: readonly T[], value: string | undefined): T | undefined {
  return allowed.find((candidate) => candidate === value);
}

function parseParameters(text: string): ParameterValues | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (!entries.every(([, value]) => isParameterValue(value))) return undefined;
  return Object.fromEntries(entries) as ParameterValues;
}

function isParameterValue(value: unknown): value is ParameterValue {
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string';
}
