// Reading numbers and URLs from the environment, with error messages that name the variable, the
// accepted range and the value given, so a typo in a Deployment fails at start with a clear reason
// instead of running with a surprising default.

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Range {
  min: number;
  max: number;
}

/** An integer variable; unset or empty gives `fallback`. */
export function readInteger(env: Env, name: string, fallback: number, range: Range): number {
  const value = readNumber(env, name, fallback, range);
  if (!Number.isInteger(value)) {
    throw new ConfigError(`${name} must be a whole number, got "${env[name]}"`);
  }
  return value;
}

/** A finite number variable; unset or empty gives `fallback`. */
export function readNumber(env: Env, name: string, fallback: number, range: Range): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  // Number('') and Number(' ') are 0 and Number('0x10') is 16: insist on plain decimal notation.
  const value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new ConfigError(`${name} must be a number from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}

/** An http(s) URL variable, returned without a trailing slash. */
export function readUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http or https URL, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, '');
}
