import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { representCommand, runRepresent } from './represent-command.js';

let root: string;
let service: string;
let agentFile: string;

const agent = `apiVersion: hyperagents.io/v1alpha1
kind: HyperAgent
metadata:
  name: quote-latency
  namespace: shop
spec:
  target:
    deployment: quote-service
  source:
    repo: https://git.example.com/shop/quote.git
    paths: [src]
  goal: reduce p99 latency of GET /quote
  objectives:
    - name: p99
      query: histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[2m])) by (le))
      direction: Minimize
  improvement:
    parameters:
      - name: cache-size
        env: QUOTE_CACHE_SIZE
        type: integer
        min: 0
        max: 10000
  verification:
    test: npm test
`;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'represent-cli-'));
  service = join(root, 'service');
  mkdirSync(join(service, 'src'), { recursive: true });
  writeFileSync(
    join(service, 'src/cache.ts'),
    'export const cacheSize = Number(process.env.QUOTE_CACHE_SIZE ?? 0);\n',
  );
  writeFileSync(
    join(service, 'src/server.ts'),
    "import { cacheSize } from './cache.js';\napp.get('/quote');\n",
  );
  agentFile = join(root, 'agent.yaml');
  writeFileSync(agentFile, agent);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('text output with the agent parameters, and a note for an unreachable Prometheus', async () => {
  const result = await runRepresent({
    dir: service,
    agent: agentFile,
    prometheus: 'http://127.0.0.1:9',
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /^ +cache-size +env:QUOTE_CACHE_SIZE +integer +0\.\.10000 +src\/cache\.ts$/m);
  assert.match(result.stdout, /^ +1 +src\/cache\.ts +cacheSize$/m);
  assert.match(
    result.stdout,
    /^Hot spots: none\. cannot reach Prometheus at http:\/\/127\.0\.0\.1:9: fetch failed: .+\.$/m,
  );
});

test('--json prints the graph itself', async () => {
  const result = await runRepresent({ dir: service, json: true });
  assert.equal(result.exitCode, 0);
  const graph = JSON.parse(result.stdout) as { modules: { path: string; imports: string[] }[] };
  assert.deepEqual(
    graph.modules.map((module) => [module.path, module.imports]),
    [
      ['src/cache.ts', []],
      ['src/server.ts', ['src/cache.ts']],
    ],
  );
});

test('bad input is one line on stderr and exit code 2', async () => {
  const badYaml = join(root, 'bad.yaml');
  writeFileSync(badYaml, 'kind: HyperAgent\n  spec: [\n');
  const notAgent = join(root, 'configmap.yaml');
  writeFileSync(notAgent, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
  const cases = [
    { options: { dir: join(root, 'missing') }, message: /is not a directory/ },
    {
      options: { dir: service, agent: join(root, 'none.yaml') },
      message: /cannot read .*none\.yaml: ENOENT/,
    },
    { options: { dir: service, agent: badYaml }, message: /bad\.yaml is not valid YAML/ },
    { options: { dir: service, agent: notAgent }, message: /configmap\.yaml\b.*ConfigMap/ },
    {
      options: { dir: service, prometheus: 'http://p', top: 'many' },
      message: /--top must be a positive integer/,
    },
    { options: { dir: service, selector: 'job="x"' }, message: /--selector needs --prometheus/ },
  ];
  for (const { options, message } of cases) {
    const result = await runRepresent(options);
    assert.equal(result.exitCode, 2, JSON.stringify(options));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, message);
    assert.match(result.stderr, /^error: [^\n]+\n$/, 'one line, no stack trace');
  }
});

test('the command declares its argument and options', () => {
  const command = representCommand();
  assert.equal(command.name(), 'represent');
  const flags = command.options.map((option) => option.long);
  for (const flag of [
    '--agent',
    '--prometheus',
    '--selector',
    '--histogram',
    '--window',
    '--top',
    '--json',
  ]) {
    assert.ok(flags.includes(flag), flag);
  }
});
