// A tiny service repository for engine tests: a quote function whose simulated latency depends on
// two tunables (QUOTE_CACHE_SIZE, QUOTE_BATCH_WINDOW_MS) and on a constant in its code, its own
// node:test suite, and a benchmark that prints its figures as JSON. Simulated, so a test knows the
// optimum exactly: p99 is lowest at cache 384 and window 12, and lower still when the code's
// per-request overhead drops.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export const QUOTE_FILES: Record<string, string> = {
  'src/quote.mjs': `// Simulated quote service: latency falls as the cache and the batch window near their sweet spot.
export const OVERHEAD_MS = 40;

export function p99Ms(cacheSize, batchWindowMs) {
  const cachePenalty = ((cacheSize - 384) / 64) ** 2;
  const windowPenalty = ((batchWindowMs - 12) / 4) ** 2;
  return OVERHEAD_MS + cachePenalty + windowPenalty;
}

export function quote(symbol) {
  if (!/^[A-Z]{1,5}$/.test(symbol)) throw new Error('bad symbol');
  return { symbol, price: symbol.length * 10 };
}
`,
  'test/quote.test.mjs': `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { p99Ms, quote } from '../src/quote.mjs';

test('quotes a known symbol', () => {
  assert.deepEqual(quote('ACME'), { symbol: 'ACME', price: 40 });
});

test('refuses a malformed symbol', () => {
  assert.throws(() => quote('acme'));
});

test('latency is lowest at the sweet spot', () => {
  assert.ok(p99Ms(384, 12) < p99Ms(64, 0));
});
`,
  'bench/run.mjs': `import { p99Ms } from '../src/quote.mjs';
const cache = Number(process.env.QUOTE_CACHE_SIZE ?? 64);
const window = Number(process.env.QUOTE_BATCH_WINDOW_MS ?? 0);
process.stdout.write(JSON.stringify({ p99_ms: p99Ms(cache, window) }) + '\\n');
`,
  'README.md': '# quote service\n',
};

export const QUOTE_AGENT = {
  target: { deployment: 'quote-service' },
  source: {
    repo: 'file:///placeholder',
    paths: ['src', 'test'],
    protectedPaths: ['bench'],
  },
  goal: 'reduce p99 latency of GET /quote',
  objectives: [{ name: 'p99', benchmark: 'p99_ms', direction: 'Minimize' }],
  improvement: {
    interval: '6h',
    maxCandidates: 4,
    parameters: [
      { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer', min: 16, max: 1024, step: 16 },
      { name: 'batch-window', env: 'QUOTE_BATCH_WINDOW_MS', type: 'integer', min: 0, max: 50, step: 1 },
    ],
  },
  verification: { test: 'node --test', benchmark: 'node bench/run.mjs' },
};

/** Values the "deployed" service runs with. */
export const QUOTE_CURRENT = { 'cache-size': 64, 'batch-window': 0 };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/**
 * Creates a bare "remote" at `<root>/remote.git` seeded with the quote service (or `files`) on
 * `main`, and returns its file:// URL.
 */
export function createQuoteRemote(root: string, files: Record<string, string> = QUOTE_FILES): string {
  const seed = join(root, 'seed');
  const remote = join(root, 'remote.git');
  mkdirSync(seed, { recursive: true });
  git(root, 'init', '-q', '--bare', '-b', 'main', remote);
  git(seed, 'init', '-q', '-b', 'main');
  git(seed, 'config', 'user.email', 'dev@example.com');
  git(seed, 'config', 'user.name', 'Dev');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(seed, path)), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'quote service');
  git(seed, 'push', '-q', remote, 'main');
  return `file://${remote}`;
}

/**
 * The files below `dir` by their path relative to it, to seed a remote with createQuoteRemote from
 * a service directory. Files and directories whose name `skip` accepts are left out; a skipped
 * directory is not read at all.
 */
export async function readTree(
  dir: string,
  skip: (name: string) => boolean = () => false,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const visit = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (skip(entry.name)) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) files[relative(dir, path)] = await readFile(path, 'utf8');
    }
  };
  await visit(dir);
  return files;
}
