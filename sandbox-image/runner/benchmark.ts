// The benchmark convention: each run of the benchmark command leaves one JSON object of numeric
// figures, either in the file named by HYPERAGENT_BENCHMARK_OUTPUT (which wins when the command
// wrote it) or as the last line of its stdout that is a JSON object. Pure: the runner reads the
// file and hands its text in.

/** Environment variable naming the file a benchmark run may write its figures to. */
export const BENCHMARK_OUTPUT_ENV = 'HYPERAGENT_BENCHMARK_OUTPUT';

export type Figures = Record<string, number>;

export interface RunFigures {
  figures: Figures;
  source: 'file' | 'stdout' | 'none';
  /** Why no figures could be read, for the log. */
  problem?: string;
}

/**
 * The wanted figures of one run: `file` is the output file's text when the command wrote one.
 * Keys not wanted, not present or not finite numbers are left out.
 */
export function readRunFigures(
  file: string | undefined,
  stdout: string,
  keys: readonly string[],
): RunFigures {
  if (file !== undefined && file.trim() !== '') {
    const object = parseObject(file.trim());
    return object
      ? { figures: pick(object, keys), source: 'file' }
      : { figures: {}, source: 'none', problem: `${BENCHMARK_OUTPUT_ENV} file is not a JSON object` };
  }
  const lines = stdout.split(/\r?\n/);
  for (let index = lines.length - 1; index >= 0; index--) {
    const object = parseObject((lines[index] ?? '').trim());
    if (object) return { figures: pick(object, keys), source: 'stdout' };
  }
  return { figures: {}, source: 'none', problem: 'no JSON object on stdout and no output file' };
}

/** Every run's value of each key, in run order; a key no run reported is absent. */
export function collectRuns(runs: readonly Figures[], keys: readonly string[]): Record<string, number[]> {
  const collected: [string, number[]][] = [];
  for (const key of keys) {
    const values = runs.flatMap((figures) => (Object.hasOwn(figures, key) ? [figures[key] as number] : []));
    if (values.length > 0) collected.push([key, values]);
  }
  // fromEntries defines own properties, so even a key like `__proto__` stays a figure.
  return Object.fromEntries(collected);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function pick(object: Record<string, unknown>, keys: readonly string[]): Figures {
  const figures: [string, number][] = [];
  for (const key of keys) {
    const value = Object.hasOwn(object, key) ? object[key] : undefined;
    if (typeof value === 'number' && Number.isFinite(value)) figures.push([key, value]);
  }
  return Object.fromEntries(figures);
}
