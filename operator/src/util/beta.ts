// The regularized incomplete beta function in log space, for the sequential tests on counts
// (rollout/sequential-ratio.ts). Both tails are returned, each computed where it is accurate: a
// tail of 1e-300 is not lost by subtracting its complement from 1.

/** log Γ(z) for z > 0 (Lanczos, g = 7, nine terms: about 15 significant digits). */
export function logGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  if (z < 0.5) {
    // reflection: Γ(z) Γ(1 − z) = π / sin(πz)
    return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  }
  const x = z - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (x + i);
  const t = x + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

export interface LogBetaTails {
  /** log I_x(a, b): the Beta(a, b) probability below x. */
  lower: number;
  /** log (1 − I_x(a, b)): the probability above x. */
  upper: number;
}

/**
 * Both tails of the Beta(a, b) distribution at x, as logarithms (a, b > 0, 0 ≤ x ≤ 1). The tail
 * the continued fraction converges fast for is computed directly, the other as its complement.
 */
export function logBetaTails(x: number, a: number, b: number): LogBetaTails {
  if (!(a > 0 && b > 0) || !(x >= 0 && x <= 1)) return { lower: Number.NaN, upper: Number.NaN };
  if (x === 0) return { lower: Number.NEGATIVE_INFINITY, upper: 0 };
  if (x === 1) return { lower: 0, upper: Number.NEGATIVE_INFINITY };
  if (x < (a + 1) / (a + b + 2)) {
    const lower = logTail(x, a, b);
    return { lower, upper: log1mExp(lower) };
  }
  // I_x(a, b) = 1 − I_{1−x}(b, a)
  const upper = logTail(1 - x, b, a);
  return { lower: log1mExp(upper), upper };
}

/** log I_x(a, b) by its continued fraction (modified Lentz), valid where x < (a + 1) / (a + b + 2). */
function logTail(x: number, a: number, b: number): number {
  const front = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b) - Math.log(a);
  return front + Math.log(continuedFraction(x, a, b));
}

const TINY = 1e-300;
const EPSILON = 1e-15;
const MAX_TERMS = 10_000;

function continuedFraction(x: number, a: number, b: number): number {
  // 1 / (1 + d1 / (1 + d2 / (1 + …))), with d(2m+1) = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))
  // and d(2m) = m(b−m)x / ((a+2m−1)(a+2m))
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= MAX_TERMS; m++) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + even * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + even / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    result *= d * c;
    const odd = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + odd * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + odd / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < EPSILON) return result;
  }
  return result;
}

/** log(1 − e^v) for v ≤ 0, accurate at both ends. */
function log1mExp(v: number): number {
  if (v === 0) return Number.NEGATIVE_INFINITY;
  return v > -Math.LN2 ? Math.log(-Math.expm1(v)) : Math.log1p(-Math.exp(v));
}
