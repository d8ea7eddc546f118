// Where the test counts of a run come from: its output first, then JUnit XML that the output
// names, then JUnit files the run wrote into the source directory.
import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { addCounts, countJUnit, countTestOutput, mentionedXmlFiles, type TestCounts } from './test-report.js';

/** Conventional names of JUnit report files. */
const JUNIT_FILE = /^(junit.*|test-results.*)\.xml$/i;

/** Folders never searched for reports. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

/** How deep under the source directory report files are looked for. */
const SEARCH_DEPTH = 6;

/** File times come from the kernel's coarse clock, which may lag the runner's by a few ms. */
const CLOCK_SLACK_MS = 20;

export interface TestRunOutput {
  stdout: string;
  stderr: string;
  sourceDir: string;
  /** When the test command started (ms since the epoch): older report files are stale. */
  startedAt: number;
}

/** The test counts of one run of the test command; undefined when no known format was found. */
export async function countTestRun(run: TestRunOutput): Promise<TestCounts | undefined> {
  const fromText = countTestOutput(run.stdout) ?? countTestOutput(run.stderr) ?? countJUnit(run.stdout);
  if (fromText) return fromText;
  const mentioned = mentionedXmlFiles(`${run.stdout}\n${run.stderr}`).map((path) =>
    isAbsolute(path) ? path : join(run.sourceDir, path),
  );
  const named = addCounts(await Promise.all(mentioned.map(readJUnit)));
  if (named) return named;
  const written = await freshReports(run.sourceDir, run.startedAt - CLOCK_SLACK_MS);
  return addCounts(await Promise.all(written.map(readJUnit)));
}

async function readJUnit(path: string): Promise<TestCounts | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : countJUnit(text);
}

/** JUnit-named files under `dir` modified since `since`, in path order. */
async function freshReports(dir: string, since: number, depth = 0): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < SEARCH_DEPTH && !SKIPPED_FOLDERS.has(entry.name)) {
      found.push(...(await freshReports(path, since, depth + 1)));
    } else if (entry.isFile() && JUNIT_FILE.test(entry.name)) {
      const modified = await stat(path).then(
        (info) => info.mtimeMs,
        () => 0,
      );
      if (modified >= since) found.push(path);
    }
  }
  return found;
}
