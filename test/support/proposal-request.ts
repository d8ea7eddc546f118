// A proposal request for the tests beside this file: four parameters of every type, an archive
// with failures and their reasons, a small service graph. Not used by the operator itself.
import type { ProposalRequest } from '../../operator/src/propose/candidate.js';
import type { ArchiveEntry } from '../../operator/src/policy/archive-entry.js';
import type { ServiceGraph } from '../../operator/src/represent/graph.js';

export const ARCHIVE: ArchiveEntry[] = [
  {
    id: 'quote-c5/1',
    cycle: 'quote-c5',
    kind: 'config',
    summary: 'quadruple the cache',
    parameters: { 'cache-size': 1024, 'ttl-seconds': 5, compression: false, eviction: 'lru' },
    verdict: 'Failed',
    reasons: ['memory 612Mi above the 512Mi limit'],
    evaluatedAt: '2025-01-05T03:00:00Z',
  },
  {
    id: 'quote-c5/2',
    cycle: 'quote-c5',
    kind: 'config',
    summary: 'double the cache',
    parameters: { 'cache-size': 512, 'ttl-seconds': 5, compression: false, eviction: 'lru' },
    score: 0.12,
    verdict: 'Passed',
    evaluatedAt: '2025-01-05T03:10:00Z',
  },
  {
    id: 'quote-c6/1',
    cycle: 'quote-c6',
    kind: 'code',
    summary: 'memoise the price lookup',
    verdict: 'Refused',
    reasons: ['touches the protected path test/quote.test.ts'],
    evaluatedAt: '2025-01-06T03:00:00Z',
  },
  {
    id: 'quote-c6/2',
    cycle: 'quote-c6',
    kind: 'config',
    summary: 'evict least frequently used',
    parameters: { 'cache-size': 256, 'ttl-seconds': 5, compression: false, eviction: 'lfu' },
    verdict: 'RolledBack',
    reasons: ['canary error rate 3.1% above 1%'],
    evaluatedAt: '2025-01-06T03:10:00Z',
  },
];

export const GRAPH: ServiceGraph = {
  modules: [
    module('src/server.ts', ['src/routes/quote.ts'], ['express']),
    module('src/routes/quote.ts', ['src/cache.ts', 'src/prices.ts'], []),
    module('src/cache.ts', [], ['lru-cache']),
    module('src/prices.ts', ['src/db.ts'], []),
    module('src/db.ts', [], ['pg']),
    module('src/unrelated/report.ts', [], []),
    { ...module('test/quote.test.ts', ['src/routes/quote.ts'], ['node:test']), test: true },
  ],
  parameters: [
    {
      name: 'cache-size',
      carrier: 'env:CACHE_SIZE',
      type: 'integer',
      min: 16,
      max: 4096,
      step: 16,
      usedIn: ['src/cache.ts'],
    },
  ],
  apiSchemas: [],
  hotSpots: [{ route: '/quote', method: 'GET', p99Ms: 240, rps: 35, modules: ['src/routes/quote.ts'] }],
};

function module(path: string, imports: string[], externalImports: string[]) {
  return {
    path,
    language: 'typescript',
    lines: 40,
    imports,
    externalImports,
    exports: [{ name: path.split('/').pop()?.replace('.ts', '') ?? 'x', kind: 'function' as const }],
    test: false,
  };
}

export function proposalRequest(overrides: Partial<ProposalRequest> = {}): ProposalRequest {
  return {
    agent: { namespace: 'shop', name: 'quote' },
    cycle: 'quote-c7',
    goal: 'Reduce the p99 latency of GET /quote without raising memory above 512Mi.',
    parameters: [
      { name: 'cache-size', env: 'CACHE_SIZE', type: 'integer', min: 16, max: 4096, step: 16 },
      { name: 'ttl-seconds', env: 'TTL_SECONDS', type: 'number', min: 0.5, max: 60, step: 0.5 },
      { name: 'compression', configKey: 'http.compression', type: 'boolean' },
      { name: 'eviction', env: 'EVICTION', type: 'choice', choices: ['lru', 'lfu', 'fifo'] },
    ],
    current: { 'cache-size': 256, 'ttl-seconds': 5, compression: false, eviction: 'lru' },
    maxCandidates: 3,
    archive: ARCHIVE,
    graph: GRAPH,
    allowedPaths: ['src/'],
    protectedPaths: ['test/', '.hyperagent/'],
    budget: { maxTokens: 200_000, maxCostUSD: 5, deadline: new Date(Date.now() + 60_000) },
    seed: 7,
    ...overrides,
  };
}

/** A small diff in git's format against `path`. */
export function sampleDiff(path = 'src/cache.ts'): string {
  return [
    `diff --git a/${path} b/${path}`,
    'index 1111111..2222222 100644',
    `--- a/${path}`,
    `+++ b/${path}`,
    '@@ -1,3 +1,3 @@',
    ' export function cache() {',
    '-  return new Map();',
    '+  return new Map<string, number>();',
    ' }',
    '',
  ].join('\n');
}
