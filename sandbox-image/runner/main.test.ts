// End to end: the runner as a process, on a temporary workspace laid out like the pod's.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { access, chmod, mkdir, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { SandboxResult, type SandboxManifest } from '../../operator/src/api/sandbox-protocol.js';
import { bundleOf } from './changes.js';
import { spawnExecutor, TEST_CANDIDATE_UID } from './executor-process.js';
import { RESULT_LINE_PREFIX } from './result.js';

const execFileAsync = promisify(execFile);
import { childNodeEnv, sampleManifest, tempDir, writeFiles } from './test-helpers.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** A small node service whose test expects a bulk discount only the candidate's patch adds. */
const SERVICE: Record<string, string> = {
  'package.json': '{ "name": "pricing", "type": "module" }\n',
  'src/pricing.js': 'export function price(quantity, unit) {\n  return quantity * unit;\n}\n',
  'test/pricing.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { price } from '../src/pricing.js';",
    "test('single items cost the unit price', () => assert.equal(price(1, 5), 5));",
    "test('ten or more get ten percent off', () => assert.equal(price(10, 2), 18));",
    '',
  ].join('\n'),
  // Figures derived from the parameters, so the test can see config and env arrive.
  'bench.js': [
    "import { readFileSync, writeFileSync, existsSync } from 'node:fs';",
    "const config = JSON.parse(readFileSync(process.env.HYPERAGENT_PARAMETERS_FILE, 'utf8'));",
    "const runs = existsSync('runs') ? Number(readFileSync('runs', 'utf8')) + 1 : 1;",
    "writeFileSync('runs', String(runs));",
    'const figures = { p99_ms: Number(process.env.BASE_MS) + runs / 10, rps: config["cache.size"] * runs, label: "x" };',
    'writeFileSync(process.env.HYPERAGENT_BENCHMARK_OUTPUT, JSON.stringify(figures));',
    'console.log("benchmark done");',
    '',
  ].join('\n'),
};

const DISCOUNTED =
  'export function price(quantity, unit) {\n  return quantity * unit * (quantity >= 10 ? 0.9 : 1);\n}\n\nexport function discount(quantity) {\n  return quantity >= 10 ? 0.1 : 0;\n}\n';

interface Workspace {
  root: string;
  env: NodeJS.ProcessEnv;
  source: string;
  resultPath: string;
}

/** A pod's volumes as folders: the judge runs as this process's user, the executor as the candidate's. */
async function workspace(manifest: SandboxManifest, inputs: Record<string, string> = {}): Promise<Workspace> {
  const root = await tempDir('hyperagent-e2e-');
  await chmod(root, 0o755);
  const source = join(root, 'workspace/src');
  await writeFiles(source, SERVICE);
  // The candidate owns its tree, as the source copy in a pod does.
  await execFileAsync('chown', [
    '-R',
    `${TEST_CANDIDATE_UID}:${TEST_CANDIDATE_UID}`,
    join(root, 'workspace'),
  ]);
  await writeFiles(join(root, 'input'), { 'manifest.json': JSON.stringify(manifest), ...inputs });
  await mkdir(join(root, 'scratch'));
  await mkdir(join(root, 'control'));
  await mkdir(join(root, 'candidate-scratch'));
  await chmod(join(root, 'candidate-scratch'), 0o777);
  const resultPath = join(root, 'termination-log');
  const env = {
    ...childNodeEnv(),
    HYPERAGENT_INPUT_DIR: join(root, 'input'),
    HYPERAGENT_WORKSPACE_DIR: join(root, 'workspace'),
    HYPERAGENT_SCRATCH_DIR: join(root, 'scratch'),
    HYPERAGENT_RESULT_PATH: resultPath,
    HYPERAGENT_CONTROL_DIR: join(root, 'control'),
    HYPERAGENT_CANDIDATE_SCRATCH_DIR: join(root, 'candidate-scratch'),
    HYPERAGENT_EXECUTOR_SOCKET: join(root, 'control/executor.sock'),
    HYPERAGENT_STAND_INS_SOCKET: join(root, 'control/stand-ins.sock'),
    // This machine's resolver answers: the pod's nameservers are probed only in a pod.
    HYPERAGENT_RESOLV_CONF: join(root, 'no-resolv.conf'),
  };
  return { root, env, source, resultPath };
}

async function runRunner(
  env: NodeJS.ProcessEnv,
  standInsSource?: string,
): Promise<{ code: number | null; stdout: string; result: SandboxResult }> {
  const executor = await spawnExecutor(
    env.HYPERAGENT_EXECUTOR_SOCKET!,
    join(env.HYPERAGENT_WORKSPACE_DIR!, 'src'),
  );
  after(() => void executor.child.kill('SIGKILL'));
  if (standInsSource) {
    // The stand-ins' container: the unchanged source, another user than the candidate's.
    const standIns = await spawnExecutor(env.HYPERAGENT_STAND_INS_SOCKET!, standInsSource, {}, 65534);
    after(() => void standIns.child.kill('SIGKILL'));
  }
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  assert.ok(last.startsWith(RESULT_LINE_PREFIX), `last line: ${last}`);
  const result = JSON.parse(last.slice(RESULT_LINE_PREFIX.length)) as SandboxResult;
  assert.ok(Value.Check(SandboxResult, result), JSON.stringify([...Value.Errors(SandboxResult, result)][0]));
  return { code, stdout, result };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function isolated(): Promise<SandboxManifest['isolation']> {
  return {
    probes: [
      { name: 'api-server', kind: 'tcp', host: '127.0.0.1', port: await closedPort() },
      { name: 'cluster-dns', kind: 'dns', host: '127.0.0.1', port: await closedPort() },
    ],
    timeoutMs: 500,
    settleSeconds: 0,
  };
}

const COMMANDS: SandboxManifest['commands'] = [
  { name: 'typecheck', run: 'node --check src/pricing.js', timeoutSeconds: 60 },
  { name: 'test', run: 'node --test --test-reporter=tap test/', timeoutSeconds: 120 },
  { name: 'benchmark', run: 'node bench.js', timeoutSeconds: 60 },
];

test("a candidate's files are written, tested, benchmarked three times and its interface compared", async () => {
  const manifest = sampleManifest({
    candidate: 'c2',
    changes: 'c2.files.json',
    env: { BASE_MS: '40' },
    config: { 'cache.size': 128 },
    commands: COMMANDS,
    benchmarkKeys: ['p99_ms', 'rps', 'label', 'absent'],
    benchmarkRuns: 3,
    isolation: await isolated(),
  });
  const ws = await workspace(manifest, { 'c2.files.json': bundleOf({ 'src/pricing.js': DISCOUNTED }) });
  const { code, stdout, result } = await runRunner(ws.env);

  assert.equal(code, 0);
  assert.equal(await readFile(ws.resultPath, 'utf8'), JSON.stringify(result));
  assert.equal(result.outcome, 'evaluated', result.message);
  assert.equal(result.candidate, 'c2');
  assert.deepEqual(result.breached, []);
  assert.deepEqual(
    result.commands.map((command) => [command.name, command.exitCode, command.timedOut]),
    [
      ['typecheck', 0, false],
      ['test', 0, false],
      ['benchmark', 0, false],
      ['benchmark', 0, false],
      ['benchmark', 0, false],
    ],
  );
  assert.deepEqual(result.tests, { format: 'tap', passed: 2, failed: 0, skipped: 0 });
  assert.deepEqual(result.benchmark, { p99_ms: [40.1, 40.2, 40.3], rps: [128, 256, 384] });
  assert.equal(result.interface?.source, 'exports');
  assert.equal(result.interface.files, 1, 'only the touched src/pricing.js is read');
  assert.deepEqual(
    [result.interface.before.items, result.interface.after.items],
    [1, 2],
    'price, then price and the new discount',
  );
  assert.deepEqual(result.interface.removed, []);
  assert.deepEqual(result.interface.added, ['src/pricing.js:discount:function:1(quantity)']);
  // From the executor's cgroup (this machine's, here): present and positive where it is readable.
  if (result.peakMemoryBytes !== undefined) assert.ok(result.peakMemoryBytes > 0);
  assert.equal(result.nonce, manifest.nonce);
  assert.equal(
    result.commandMs,
    result.commands.reduce((sum, command) => sum + command.durationMs, 0),
  );
  assert.equal(result.message, undefined);
  assert.equal(await readFile(join(ws.source, 'src/pricing.js'), 'utf8'), DISCOUNTED);
  // The full log: isolation, each command's header and output, then the result.
  assert.match(stdout, /\[hyperagent\] isolation round 1: api-server blocked \(ECONNREFUSED\)/);
  assert.match(stdout, /\[hyperagent\] >>> test: sh -c "node --test --test-reporter=tap test\/"/);
  assert.match(stdout, /ok 2 - ten or more get ten percent off/);
  assert.match(stdout, /benchmark done/);
});

test('without the patch the same tests fail, and the result still says evaluated with exit 0', async () => {
  const manifest = sampleManifest({
    commands: COMMANDS,
    benchmarkKeys: ['rps'],
    isolation: await isolated(),
  });
  const ws = await workspace(manifest);
  const { code, result } = await runRunner(ws.env);
  assert.equal(code, 0);
  assert.equal(result.outcome, 'evaluated');
  assert.deepEqual(result.tests, { format: 'tap', passed: 1, failed: 1, skipped: 0 });
  assert.deepEqual(
    result.commands.map((command) => command.name),
    ['typecheck', 'test'],
  );
  assert.equal(result.benchmark, undefined);
  assert.equal(result.message, 'benchmark skipped: test failed');
});

test('a reachable address stops everything: no patch, no command', async () => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const manifest = sampleManifest({
      changes: 'c.files.json',
      commands: [{ name: 'test', run: 'touch ran', timeoutSeconds: 10 }],
      isolation: {
        probes: [
          {
            name: 'api-server',
            kind: 'tcp',
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
          },
          { name: 'outside', kind: 'tcp', host: '127.0.0.1', port: await closedPort() },
        ],
        timeoutMs: 500,
        settleSeconds: 1,
      },
    });
    const ws = await workspace(manifest, { 'c.files.json': bundleOf({ 'src/pricing.js': DISCOUNTED }) });
    const { code, result } = await runRunner(ws.env);
    assert.equal(code, 0);
    assert.equal(result.outcome, 'isolation-breached');
    assert.deepEqual(result.breached, ['api-server']);
    assert.deepEqual(result.commands, []);
    assert.ok(result.isolationMs >= 1000);
    assert.equal(result.message, 'still reachable after 1s: api-server');
    await assert.rejects(access(join(ws.source, 'ran')));
    assert.equal(await readFile(join(ws.source, 'src/pricing.js'), 'utf8'), SERVICE['src/pricing.js']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('changes that name a path outside the tree end in patch-failed, and nothing runs', async () => {
  const escaping = JSON.stringify({
    version: 1,
    files: [{ path: '../escape.js', mode: '100644', base64: Buffer.from('x').toString('base64') }],
    deleted: [],
  });
  const manifest = sampleManifest({
    changes: 'bad.files.json',
    commands: COMMANDS,
    isolation: await isolated(),
  });
  const ws = await workspace(manifest, { 'bad.files.json': escaping });
  const { code, result } = await runRunner(ws.env);
  assert.equal(code, 0);
  assert.equal(result.outcome, 'patch-failed');
  assert.equal(
    result.message,
    'the changes bad.files.json name "../escape.js", which is not a plain path of the source tree',
  );
  assert.deepEqual(result.commands, []);
});

test('an invalid manifest is answered with its errors', async () => {
  const ws = await workspace({ ...sampleManifest(), benchmarkRuns: 0 } as SandboxManifest);
  const { code, result } = await runRunner(ws.env);
  assert.equal(code, 0);
  assert.equal(result.outcome, 'invalid-manifest');
  assert.equal(
    result.message,
    'manifest does not match the schema: /benchmarkRuns: Expected integer to be greater or equal to 1',
  );
});

test('a result that cannot be written makes the runner exit 1, still printing it', async () => {
  const ws = await workspace(sampleManifest({ isolation: await isolated() }));
  const { code, result, stdout } = await runRunner({
    ...ws.env,
    HYPERAGENT_RESULT_PATH: join(ws.root, 'missing/dir/log'),
  });
  assert.equal(code, 1);
  assert.equal(result.outcome, 'evaluated');
  assert.match(stdout, /cannot write the result to /);
});

/** A service for the judge to drive: prices from a stand-in it calls, slower without the cache. */
const SERVED: Record<string, string> = {
  ...SERVICE,
  'src/server.js': [
    "import { createServer, get } from 'node:http';",
    "import { price } from './pricing.js';",
    'const cache = new Map();',
    'const unit = (id) => new Promise((resolve) => get(`http://127.0.0.1:${process.env.STUB_PORT}/unit?id=${id}`, (r) => { let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => resolve(Number(b))); }));',
    'createServer(async (req, res) => {',
    "  const url = new URL(req.url, 'http://x');",
    "  if (url.pathname === '/healthz') return res.end('ok');",
    "  const id = url.searchParams.get('id');",
    "  const u = process.env.CACHE === '1' && cache.has(id) ? cache.get(id) : await unit(id);",
    '  cache.set(id, u);',
    "  res.setHeader('content-type', 'application/json');",
    "  res.end(JSON.stringify({ id, total: price(Number(url.searchParams.get('n')), u), at: Date.now() }));",
    '}).listen(Number(process.env.PORT), "127.0.0.1");',
    '',
  ].join('\n'),
  'stub.js': [
    "import { createServer } from 'node:http';",
    "createServer((req, res) => setTimeout(() => res.end(req.url.startsWith('/unit') ? '3' : 'ok'), 15)).listen(Number(process.env.PORT), '127.0.0.1');",
    '',
  ].join('\n'),
};

/**
 * Runs the judge on SERVED (plus `extra` files) as the candidate's tree, owned by the candidate's
 * user, with the stand-ins' executor on an unchanged copy.
 */
async function runServed(
  ws: Workspace,
  extra: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; result: SandboxResult }> {
  await writeFiles(ws.source, { ...SERVED, ...extra });
  await execFileAsync('chown', ['-R', `${TEST_CANDIDATE_UID}:${TEST_CANDIDATE_UID}`, ws.source]);
  const standIns = await tempDir('hyperagent-stand-ins-');
  await writeFiles(standIns, SERVED);
  await chmod(standIns, 0o755);
  return runRunner(ws.env, standIns);
}

async function workloadManifest(
  candidateEnv: Record<string, string>,
  changes?: string,
): Promise<SandboxManifest> {
  const servicePort = await closedPort();
  const stubPort = await closedPort();
  return sampleManifest({
    candidate: 'c3',
    ...(changes ? { changes } : {}),
    env: candidateEnv,
    commands: [{ name: 'test', run: 'node --test --test-reporter=tap test/', timeoutSeconds: 60 }],
    isolation: await isolated(),
    workload: {
      service: {
        run: 'node src/server.js',
        port: servicePort,
        readinessPath: '/healthz',
        env: { PORT: String(servicePort), STUB_PORT: String(stubPort) },
      },
      readySeconds: 20,
      baselineEnv: { CACHE: '0' },
      measureBaseline: true,
      dependencies: [
        {
          name: 'units',
          run: 'node stub.js',
          port: stubPort,
          readinessPath: '/',
          env: { PORT: String(stubPort) },
        },
      ],
      requests: [1, 2, 1, 2, 1, 2, 3, 1].map((id) => ({ method: 'GET', path: `/price?id=${id}&n=10` })),
      rps: 40,
      durationSeconds: 1,
      warmupSeconds: 0.2,
      runs: 2,
      requestTimeoutMs: 2000,
      compareBehaviour: true,
      ignoreFields: ['at'],
    },
  });
}

test('the judge measures both sides itself, through a stand-in of its own, and compares the answers', async () => {
  const manifest = await workloadManifest({ CACHE: '1' });
  manifest.commands = [];
  // The requests from a file in the unchanged tree, longer than an inline list may be.
  manifest.workload = { ...manifest.workload!, requests: [], requestsFile: 'requests.json' };
  const fromFile = Array.from({ length: 1200 }, (_, index) => ({
    method: 'GET',
    path: `/price?id=${(index % 3) + 1}&n=10`,
  }));
  const ws = await workspace(manifest);
  const { result, stdout } = await runServed(ws, { 'requests.json': JSON.stringify(fromFile) });
  assert.equal(result.outcome, 'evaluated', `${result.message}\n${stdout}`);
  assert.match(stdout, /stand-in units ready/);
  const measured = result.workload!;
  assert.equal(measured.problem, undefined);
  assert.equal(measured.requests, 1200);
  assert.equal(measured.baseline?.p50_ms?.length, 2, 'two runs of the unchanged service');
  assert.equal(measured.candidate?.p50_ms?.length, 2, "two runs of the candidate's");
  // Without the cache every request waits for the 15 ms stand-in; with it, only the first of each id.
  assert.ok(measured.baseline!.p50_ms![0]! >= 15, `baseline p50 ${measured.baseline!.p50_ms}`);
  assert.ok(measured.candidate!.p50_ms![0]! < 15, `candidate p50 ${measured.candidate!.p50_ms}`);
  assert.deepEqual(
    measured.behaviour,
    { compared: 210, differing: 0 },
    'the first 200 requests, same answers, timestamps ignored; then 10 with the stand-in stopped',
  );
});

test('a patch that changes answers is caught by the comparison, with the first differing request', async () => {
  const manifest = await workloadManifest({ CACHE: '0' }, 'c3.files.json');
  manifest.commands = [];
  const ws = await workspace(manifest, { 'c3.files.json': bundleOf({ 'src/pricing.js': DISCOUNTED }) });
  const { result } = await runServed(ws);
  assert.equal(result.outcome, 'evaluated', result.message);
  // 8 requests measured, then the same 8 with the stand-in stopped (both services fail alike)
  assert.deepEqual(result.workload?.behaviour, {
    compared: 16,
    differing: 8,
    first: {
      request: 'GET /price?id=1&n=10',
      baseline: '200 {"id":"1","total":30}',
      candidate: '200 {"id":"1","total":27}',
    },
  });
});

test("the candidate's service is measured as it ships, before its tests could rewrite the tree", async () => {
  // It ships a discount; its "test" puts the undiscounted pricing back before anything else runs.
  const manifest = await workloadManifest({ CACHE: '0' }, 'c3.files.json');
  const restore = `require('fs').writeFileSync('src/pricing.js', ${JSON.stringify(SERVICE['src/pricing.js'])})`;
  manifest.commands = [{ name: 'test', run: `node -e ${shellQuote(restore)}`, timeoutSeconds: 30 }];
  const ws = await workspace(manifest, { 'c3.files.json': bundleOf({ 'src/pricing.js': DISCOUNTED }) });
  const { result, stdout } = await runServed(ws);
  assert.equal(result.outcome, 'evaluated', result.message);
  assert.equal(result.commands[0]?.exitCode, 0, stdout);
  assert.equal(result.workload?.behaviour?.differing, 8, 'the discounted tree that ships was measured');
  assert.ok(
    stdout.indexOf('candidate run 1/') < stdout.indexOf('>>> test'),
    'the service was measured before the test ran',
  );
});

test("a service that answers from its own copy of the stand-in's logic is caught with the stand-ins stopped", async () => {
  // Same answers as the stand-in would give (unit 3), without ever calling it: fast, and right
  // while measured; in production it would be the real dependency's price that it ignores.
  const copied = SERVED['src/server.js']!.replace('await unit(id)', 'await Promise.resolve(3)');
  assert.notEqual(copied, SERVED['src/server.js']);
  const manifest = await workloadManifest({ CACHE: '0' }, 'c3.files.json');
  manifest.commands = [];
  const ws = await workspace(manifest, { 'c3.files.json': bundleOf({ 'src/server.js': copied }) });
  const { result, stdout } = await runServed(ws);
  assert.equal(result.outcome, 'evaluated', `${result.message}\n${stdout}`);
  const behaviour = result.workload?.behaviour;
  assert.ok(behaviour && behaviour.differing > 0, JSON.stringify(result.workload));
  assert.match(behaviour.first?.candidate ?? '', /^200 .*\(its dependencies stopped\)$/);
  assert.match(behaviour.first?.baseline ?? '', /no answer.*\(its dependencies stopped\)$/);
  assert.match(stdout, /stand-in units ready[\s\S]*stand-in units ready/, 'restarted for the candidate');
});

test('a service that answers differently only while it is measured is caught', async () => {
  // Correct when asked alone; a constant, fast and wrong answer once it sees load.
  const sly = [
    "import { createServer } from 'node:http';",
    "import { price } from './pricing.js';",
    'const seen = [];',
    'createServer((req, res) => {',
    "  const url = new URL(req.url, 'http://x');",
    "  if (url.pathname === '/healthz') return res.end('ok');",
    '  const now = Date.now();',
    '  seen.push(now);',
    '  while (seen[0] < now - 1000) seen.shift();',
    "  res.setHeader('content-type', 'application/json');",
    "  const total = seen.length > 20 ? 0 : price(Number(url.searchParams.get('n')), 3);",
    "  res.end(JSON.stringify({ id: url.searchParams.get('id'), total }));",
    "}).listen(Number(process.env.PORT), '127.0.0.1');",
    '',
  ].join('\n');
  const manifest = await workloadManifest({ CACHE: '0' }, 'c3.files.json');
  manifest.commands = [];
  const ws = await workspace(manifest, { 'c3.files.json': bundleOf({ 'src/server.js': sly }) });
  const { result } = await runServed(ws);
  assert.equal(result.outcome, 'evaluated', result.message);
  const behaviour = result.workload?.behaviour;
  assert.ok(behaviour && behaviour.differing > 0, JSON.stringify(result.workload));
  // Seen under load, or right after it when the answers are collected (the service still counts
  // the load's requests): either way the wrong total is shown.
  assert.match(behaviour.first?.candidate ?? '', /"total":0\}/);
});

test('a target the operator could not resolve fails the proof instead of being dropped', async () => {
  const manifest = sampleManifest({
    commands: [{ name: 'test', run: 'touch ran', timeoutSeconds: 10 }],
    isolation: {
      probes: [
        ...(await isolated()).probes,
        {
          name: 'git-host',
          kind: 'tcp',
          host: 'git.example.invalid',
          port: 443,
          unresolved: 'no address for git.example.invalid',
        },
      ],
      timeoutMs: 500,
      settleSeconds: 0,
    },
  });
  const ws = await workspace(manifest);
  const { result } = await runRunner(ws.env);
  assert.equal(result.outcome, 'isolation-breached');
  assert.deepEqual(result.breached, ['git-host']);
  assert.equal(
    result.message,
    'isolation cannot be proven for git-host (no address for git.example.invalid)',
  );
  await assert.rejects(access(join(ws.source, 'ran')), 'nothing of the candidate ran');
});

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
