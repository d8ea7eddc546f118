// The commit message of an accepted candidate: the summary as subject, the rationale as body,
// the trailers last. Summary and rationale come from a proposer (often an LLM), so they are
// shaped here until git and its tools can only read them one way.
import { formatTrailers, singleLine, truncate, type Trailer } from './trailers.js';

/** Longest subject, in characters, as git tooling and hosting sites expect. */
export const SUBJECT_MAX = 72;

/**
 * The subject line: the summary on one line without leading dashes, cut at a word boundary to
 * SUBJECT_MAX characters when a boundary is near enough, else mid-word; `fallback` when the
 * summary is blank.
 */
export function commitSubject(summary: string, fallback: string): string {
  // Leading dashes go: a subject `---` would read to git as the start of a patch.
  const line = singleLine(summary).replace(/^-+\s*/, '');
  if (line === '') return truncate(singleLine(fallback), SUBJECT_MAX);
  const chars = Array.from(line);
  if (chars.length <= SUBJECT_MAX) return line;
  const head = chars.slice(0, SUBJECT_MAX - 1).join('');
  const space = head.lastIndexOf(' ');
  const cut = space >= Math.floor(SUBJECT_MAX * 0.6) ? head.slice(0, space) : head;
  return `${cut.trimEnd()}…`;
}

// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_TAB_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The body: the rationale with line endings made LF, control characters dropped and blank runs
 * squeezed. A line git would take for the start of a patch (`---`) is indented by one space, or
 * `git interpret-trailers` would stop reading before the trailers.
 */
export function commitBody(rationale: string): string {
  return rationale
    .replace(/\r\n?/g, '\n')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(CONTROL_EXCEPT_TAB_NEWLINE, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .map((line) => (/^---(\s|$)/.test(line) ? ` ${line}` : line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

/** The full message: subject, blank line, body (when any), blank line, trailer block. */
export function commitMessage(input: {
  summary: string;
  rationale: string;
  fallbackSubject: string;
  trailers: readonly Trailer[];
}): string {
  const subject = commitSubject(input.summary, input.fallbackSubject);
  const body = commitBody(input.rationale);
  const parts = [subject];
  if (body !== '') parts.push(body);
  if (input.trailers.length > 0) parts.push(formatTrailers(input.trailers));
  return `${parts.join('\n\n')}\n`;
}
