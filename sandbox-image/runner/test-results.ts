// Where the test counts of a run come from: its output first, then JUnit XML that the output
// names, then JUnit files the run wrote into the source directory.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readInside } from './safe-read.js';
import { addCounts, countJUnit, countTestOutput, mentionedXmlFiles, type TestCounts } from './test-report.js';

/** Conventional names of JUnit report files. */
const JUNIT_FILE = /^(junit.*|test-results.*)\.xml$/i;

/** Folders never searched for reports. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

/** Most report files read for one run. */
const MAX_REPORT_FILES = 32;

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
  // Only files inside the source tree, never through a link: the output names what it likes.
  const mentioned = mentionedXmlFiles(`${run.stdout}\n${run.stderr}`).slice(0, MAX_REPORT_FILES);
  const readJUnit = async (path: string): Promise<TestCounts | undefined> => {
    const text = await readInside(run.sourceDir, path);
    return text === undefined ? undefined : countJUnit(text);
  };
  const named = addCounts(await Promise.all(mentioned.map(readJUnit)));
  if (named) return named;
  const written = await freshReports(run.sourceDir, run.startedAt - CLOCK_SLACK_MS);
  return addCounts(await Promise.all(written.slice(0, MAX_REPORT_FILES).map(readJUnit)));
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
      const modified = await lstat(path).then(
        (info) => info.mtimeMs,
        () => 0,
      );
      if (modified >= since) found.push(path);
    }
  }
  return found;
}
