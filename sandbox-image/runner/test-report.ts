// Test counts read from what a test command printed or wrote. Pure: finding JUnit files on disk
// is test-results.ts. Explicit totals (node's summary, a TAP summary) beat counting result lines,
// because the kept output is only the tail of a long run and nested subtests repeat their parents.
import type { SandboxResult } from '../../operator/src/api/sandbox-protocol.js';

export type TestCounts = NonNullable<SandboxResult['tests']>;

// Colours are off in the pod (stdout is a pipe), but a FORCE_COLOR in the manifest would add them.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/**
 * Counts from node's spec summary, else a TAP summary, else pytest's summary, else TAP result
 * lines; undefined when none.
 */
export function countTestOutput(output: string): TestCounts | undefined {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  return (
    summaryCounts(lines, 'ℹ', 'node-spec') ??
    summaryCounts(lines, '#', 'tap') ??
    pytestCounts(lines) ??
    tapLineCounts(lines)
  );
}

/**
 * pytest's last line, quiet or not: `32 passed in 0.87s`, `== 1 failed, 31 passed, 2 skipped in
 * 6.75s ==`. Errors (a test that could not even run) count as failed; xfailed, xpassed and
 * deselected tests as skipped. Several runs in one command add up.
 */
function pytestCounts(lines: readonly string[]): TestCounts | undefined {
  const word = '(?:passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?|rerun)';
  const summary = new RegExp(`^=*\\s*((?:\\d+ ${word}(?:, )?)+) in [\\d.]+s(?: \\([^)]*\\))?\\s*=*$`);
  let counts: TestCounts | undefined;
  for (const line of lines) {
    const match = summary.exec(line.trim());
    if (!match?.[1]) continue;
    counts ??= { format: 'pytest', passed: 0, failed: 0, skipped: 0 };
    for (const part of match[1].split(', ')) {
      const [number, word] = part.split(' ') as [string, string];
      const count = Number(number);
      if (word === 'passed') counts.passed += count;
      else if (word === 'failed' || word === 'error' || word === 'errors') counts.failed += count;
      else if (['skipped', 'xfailed', 'xpassed', 'deselected'].includes(word)) counts.skipped += count;
    }
  }
  return counts;
}

/**
 * The totals block node's test runner prints (`ℹ pass 3` in spec, `# pass 3` in TAP; tape prints
 * the same TAP lines). Several blocks (several runs in one command) add up. Cancelled tests count
 * as failed, todo tests as skipped (node counts neither as passed nor failed).
 */
function summaryCounts(
  lines: readonly string[],
  marker: string,
  format: TestCounts['format'],
): TestCounts | undefined {
  const totals = new Map<string, number>();
  const pattern = new RegExp(`^${marker} (tests|pass|fail|cancelled|skip|skipped|todo)\\s+(\\d+)\\s*$`);
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match?.[1] && match[2]) totals.set(match[1], (totals.get(match[1]) ?? 0) + Number(match[2]));
  }
  if (!totals.has('pass') && !totals.has('fail')) return undefined;
  const total = (key: string): number => totals.get(key) ?? 0;
  return {
    format,
    passed: total('pass'),
    failed: total('fail') + total('cancelled'),
    skipped: total('skip') + total('skipped') + total('todo'),
  };
}

/**
 * Top-level `ok` / `not ok` lines of TAP output (indented ones are subtests, already summed in their
 * parent's line). `# SKIP` and `# TODO` count as skipped. Only output that looks like TAP (a
 * version line or a plan) is read, so a stray "ok" in ordinary output is not a test.
 */
function tapLineCounts(lines: readonly string[]): TestCounts | undefined {
  if (!lines.some((line) => /^TAP version \d+/.test(line) || /^1\.\.\d+/.test(line))) return undefined;
  const counts: TestCounts = { format: 'tap', passed: 0, failed: 0, skipped: 0 };
  let seen = false;
  for (const line of lines) {
    const match = /^(not )?ok(?:\s|$)(.*)$/.exec(line);
    if (!match) continue;
    seen = true;
    if (/#\s*(skip|todo)\b/i.test(match[2] ?? '')) counts.skipped++;
    else if (match[1]) counts.failed++;
    else counts.passed++;
  }
  return seen ? counts : undefined;
}

/**
 * Counts `<testcase>` elements of a JUnit XML text: one with a `<skipped>` child was skipped, one
 * with a `<failure>` or `<error>` child failed, any other passed. Undefined when the text holds no
 * JUnit report at all. A regular expression reader is enough for this one shape.
 */
export function countJUnit(xml: string): TestCounts | undefined {
  // Captured output and comments may contain anything, including tags.
  const text = xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  if (!/<testsuites?\b|<testcase\b/.test(text)) return undefined;
  const counts: TestCounts = { format: 'junit', passed: 0, failed: 0, skipped: 0 };
  const testcase = /<testcase\b(?:[^>"']|"[^"]*"|'[^']*')*?(\/>|>([\s\S]*?)<\/testcase\s*>)/g;
  for (const match of text.matchAll(testcase)) {
    const body = match[2] ?? '';
    // Skipped wins: node's reporter gives a failing todo test both children, and counts it as neither.
    if (/<skipped\b/.test(body)) counts.skipped++;
    else if (/<(failure|error)\b/.test(body)) counts.failed++;
    else counts.passed++;
  }
  return counts;
}

/** Sum of several reports' counts, in the format of the first; undefined when there are none. */
export function addCounts(reports: readonly (TestCounts | undefined)[]): TestCounts | undefined {
  const present = reports.filter((report): report is TestCounts => report !== undefined);
  const first = present[0];
  if (!first) return undefined;
  return present.slice(1).reduce(
    (sum, report) => ({
      format: sum.format,
      passed: sum.passed + report.passed,
      failed: sum.failed + report.failed,
      skipped: sum.skipped + report.skipped,
    }),
    first,
  );
}

/** Paths of `.xml` files the output mentions (`Wrote JUnit report to reports/junit.xml`), each once. */
export function mentionedXmlFiles(output: string): string[] {
  const found = new Set<string>();
  for (const match of output
    .replace(ANSI, '')
    .matchAll(/(?:^|[\s"'`(=])((?:[\w@.+-]|\/)*[\w-]\.xml)(?=$|[\s"'`),;:]|\.(?:\s|$))/gm)) {
    if (match[1]) found.add(match[1]);
  }
  return [...found];
}
