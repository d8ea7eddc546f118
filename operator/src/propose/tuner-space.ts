// The tuner's search space: each declared parameter as a finite list of levels. A number becomes
// the grid min, min + step, …, up to max; a boolean and a choice become their values. The search
// works on level indices only, so every value it can produce is in range and on the grid by
// construction, and two evaluations of the same configuration have the same key.
import type { ParameterSpec, ParameterValue } from '../api/parameters.js';

/** Grid intervals of a `number` parameter declared without a step. */
export const DEFAULT_NUMBER_INTERVALS = 100;

export interface NumericDimension {
  kind: 'numeric';
  name: string;
  /** Value of level 0; the value of level k is lo + k · step, never above hi. */
  lo: number;
  hi: number;
  step: number;
  levels: number;
  /** Decimal places values are rounded to. */
  decimals: number;
}

export interface CategoricalDimension {
  kind: 'categorical';
  name: string;
  values: readonly ParameterValue[];
}

export type Dimension = NumericDimension | CategoricalDimension;

export interface SearchSpace {
  dimensions: Dimension[];
  /** Declared parameters the tuner cannot vary (no range, a single value), with the reason. */
  untunable: { name: string; reason: string }[];
}

/** The levels of each declared parameter; parameters without two distinct values are set aside. */
export function searchSpace(specs: readonly ParameterSpec[]): SearchSpace {
  const dimensions: Dimension[] = [];
  const untunable: SearchSpace['untunable'] = [];
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) continue;
    names.add(spec.name);
    const dimension = toDimension(spec);
    if (typeof dimension === 'string') untunable.push({ name: spec.name, reason: dimension });
    else dimensions.push(dimension);
  }
  return { dimensions, untunable };
}

/** The dimension of one parameter, or why it has fewer than two levels. */
function toDimension(spec: ParameterSpec): Dimension | string {
  switch (spec.type) {
    case 'boolean':
      return { kind: 'categorical', name: spec.name, values: [false, true] };
    case 'choice': {
      const values = [...new Set(spec.choices ?? [])];
      return values.length >= 2 ? { kind: 'categorical', name: spec.name, values } : 'fewer than two choices';
    }
    case 'integer':
    case 'number': {
      const { min, max } = spec;
      if (min === undefined || max === undefined || !Number.isFinite(min) || !Number.isFinite(max)) {
        return 'no finite min and max';
      }
      const integer = spec.type === 'integer';
      const lo = integer ? Math.ceil(min) : min;
      const hi = integer ? Math.floor(max) : max;
      const declared =
        spec.step !== undefined && Number.isFinite(spec.step) && spec.step > 0 ? spec.step : undefined;
      const step = integer
        ? Math.max(1, Math.round(declared ?? 1))
        : (declared ?? (hi - lo) / DEFAULT_NUMBER_INTERVALS);
      if (!(hi > lo) || !(step > 0))
        return integer ? 'fewer than two integers between min and max' : 'min is not below max';
      // A tolerance of a millionth of a step keeps max on the grid when float division falls short.
      const levels = Math.floor((hi - lo) / step + 1e-6) + 1;
      if (levels < 2) return 'the step is larger than the range';
      // Rounding at seven digits below the step cleans up float noise (0.1 + 2 · 0.1 reads 0.3)
      // while staying well inside the tolerance locate() uses to recognise grid values.
      const decimals = integer ? 0 : Math.min(100, Math.max(0, Math.ceil(-Math.log10(step)) + 7));
      return { kind: 'numeric', name: spec.name, lo, hi, step, levels, decimals };
    }
  }
}

export function levelCount(dimension: Dimension): number {
  return dimension.kind === 'numeric' ? dimension.levels : dimension.values.length;
}

/** The value of a level (0 ≤ level < levelCount). */
export function valueAt(dimension: Dimension, level: number): ParameterValue {
  if (dimension.kind === 'categorical') {
    const value = dimension.values[level];
    if (value === undefined) throw new RangeError(`level ${level} outside ${dimension.name}`);
    return value;
  }
  if (!Number.isInteger(level) || level < 0 || level >= dimension.levels) {
    throw new RangeError(`level ${level} outside ${dimension.name}`);
  }
  const raw = dimension.lo + level * dimension.step;
  const rounded = Number(raw.toFixed(dimension.decimals));
  return Math.min(Math.max(rounded, dimension.lo), dimension.hi);
}

/** Where a value sits: its nearest level, and whether it is exactly that level's value. */
export interface Location {
  level: number;
  exact: boolean;
}

/**
 * Locates a recorded value on the grid. Values may come from the cluster as text ("64", "true"),
 * so numeric and boolean text is read too. Undefined when the value cannot be read at all.
 */
export function locate(dimension: Dimension, value: unknown): Location | undefined {
  if (dimension.kind === 'categorical') {
    const level = dimension.values.findIndex(
      (candidate) => candidate === value || String(candidate) === String(value),
    );
    return level < 0 || value === undefined ? undefined : { level, exact: true };
  }
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  if (!Number.isFinite(number)) return undefined;
  const level = Math.min(
    dimension.levels - 1,
    Math.max(0, Math.round((number - dimension.lo) / dimension.step)),
  );
  const tolerance = Math.max(dimension.step * 1e-6, Math.abs(number) * 1e-12);
  const exact = Math.abs((valueAt(dimension, level) as number) - number) <= tolerance;
  return { level, exact };
}

/** A value for people: numbers and booleans as written, text as is, a missing value as "unset". */
export function formatValue(value: ParameterValue | undefined): string {
  return value === undefined ? 'unset' : String(value);
}
