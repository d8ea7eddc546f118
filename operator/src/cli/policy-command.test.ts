import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPolicyCheck } from './policy-command.js';

const AGENT = `apiVersion: hyperagents.io/v1alpha1
kind: HyperAgent
metadata:
  name: quote-latency
spec:
  target: { deployment: quote-service }
  source:
    repo: https://git.example.com/quote.git
    paths: [src, test]
    protectedPaths: [src/pricing.ts]
  goal: reduce p99 latency of GET /quote
  objectives:
    - name: p99
      benchmark: p99_ms
  improvement: { interval: 6h }
  verification:
    test: node --test
    benchmark: node bench/run.mjs
`;

const BASE: Record<string, string> = {
  'deploy/agent.yaml': AGENT,
  'src/cache.ts': 'export const CACHE_SIZE = 64;\nexport function lookup(key: string) {\n  return key;\n}\n',
  // the protected pricing runs src/round.ts (through src/margin.ts) and names a type of src/types.ts
  'src/pricing.ts':
    "import { margin } from './margin.js';\nimport type { Price } from './types.js';\nexport const MARGIN = margin(0.1);\nexport type { Price };\n",
  'src/margin.ts': "import { round } from './round.js';\nexport const margin = (m: number) => round(m);\n",
  'src/round.ts': 'export const round = (x: number) => Math.round(x * 100) / 100;\n',
  'src/types.ts': 'export interface Price {\n  cents: number;\n}\n',
  'test/quote.test.ts':
    "import { test } from 'node:test';\ntest('quotes a price', () => {});\ntest('caches a quote', () => {});\n",
  'bench/run.mjs': 'console.log(JSON.stringify({ p99_ms: 12 }));\n',
  'README.md': '# quote service\n',
};

let repo: string;
let workDir: string;

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
}

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), content);
}

/** The diff `git` itself prints for an edit of the base tree; the tree is reset afterwards. */
function diffOf(edit: () => void): string {
  edit();
  git('add', '-A');
  const diff = git('diff', '--cached', '--binary');
  git('reset', '-q', '--hard', 'HEAD');
  git('clean', '-q', '-fdx');
  return diff;
}

async function check(diff: string) {
  const patch = join(workDir, `patch-${Math.random().toString(36).slice(2)}.diff`);
  writeFileSync(patch, diff);
  return runPolicyCheck({ agent: join(repo, 'deploy/agent.yaml'), patch, repo, ref: 'HEAD', json: false });
}

async function refusedFor(diff: string, rule: string): Promise<string> {
  const result = await check(diff);
  assert.equal(result.exitCode, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /^REFUSED /);
  assert.match(result.stdout, new RegExp(`^  ${rule}\\s+\\S`, 'm'), result.stdout);
  return result.stdout;
}

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'policy-check-'));
  repo = join(workDir, 'repo');
  mkdirSync(repo);
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'dev@example.com');
  git('config', 'user.name', 'Dev');
  for (const [path, content] of Object.entries(BASE)) write(path, content);
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
});

after(() => rmSync(workDir, { recursive: true, force: true }));

describe('hyperagent policy check', () => {
  test('accepts a change inside the allowed paths and lists what it changes', async () => {
    const diff = diffOf(() => write('src/cache.ts', BASE['src/cache.ts']!.replace('64', '256')));
    const result = await check(diff);
    assert.equal(result.exitCode, 0, result.stdout);
    assert.match(result.stdout, /^ACCEPTED .*: 1 file\(s\), \+1 -1/);
    assert.match(result.stdout, /modify\s+src\/cache\.ts \(\+1 -1\)/);
  });

  test('refuses a file outside source.paths', async () => {
    const out = await refusedFor(
      diffOf(() => write('README.md', '# faster quote service\n')),
      'OutsideAllowedPaths',
    );
    assert.match(out, /README\.md is outside the paths this agent may change \(src, test\)/);
  });

  test('refuses a protected path', async () => {
    const out = await refusedFor(
      diffOf(() => write('src/pricing.ts', 'export const MARGIN = 0;\n')),
      'ProtectedPath',
    );
    assert.match(out, /src\/pricing\.ts is protected by 'src\/pricing\.ts'/);
  });

  test('refuses what a protected file imports, directly or through others, and files that would shadow it', async () => {
    const direct = await refusedFor(
      diffOf(() => write('src/margin.ts', BASE['src/margin.ts']!.replace('round(m)', '0'))),
      'ProtectedDependency',
    );
    assert.match(
      direct,
      /src\/margin\.ts is imported by src\/pricing\.ts \(protected by 'src\/pricing\.ts'\) through src\/pricing\.ts → src\/margin\.ts/,
    );
    const deep = await refusedFor(
      diffOf(() => write('src/round.ts', 'export const round = (x: number) => 0;\n')),
      'ProtectedDependency',
    );
    assert.match(deep, /through src\/pricing\.ts → src\/margin\.ts → src\/round\.ts/);
    const shadow = await refusedFor(
      diffOf(() => write('src/round.js', 'export const round = () => 0;\n')),
      'ProtectedDependency',
    );
    assert.match(
      shadow,
      /src\/round\.js would be loaded by the import '\.\/round\.js' of src\/margin\.ts \(which loads src\/round\.ts today\)/,
    );
    // a module only types name, and what only the tests import, stay free
    const types = await check(
      diffOf(() => write('src/types.ts', 'export interface Price {\n  cents: bigint;\n}\n')),
    );
    assert.equal(types.exitCode, 0, types.stdout);
  });

  test('refuses the benchmark the objectives are measured by and the agent manifest', async () => {
    await refusedFor(
      diffOf(() => write('bench/run.mjs', 'console.log(JSON.stringify({ p99_ms: 1 }));\n')),
      'ObjectiveFile',
    );
    await refusedFor(
      diffOf(() => write('deploy/agent.yaml', AGENT.replace('p99_ms', 'p50_ms'))),
      'ObjectiveFile',
    );
  });

  test('refuses deleted and skipped tests', async () => {
    await refusedFor(
      diffOf(() => unlinkSync(join(repo, 'test/quote.test.ts'))),
      'TestDeleted',
    );
    await refusedFor(
      diffOf(() =>
        write('test/quote.test.ts', BASE['test/quote.test.ts']!.replace("test('caches", "test.skip('caches")),
      ),
      'TestDisabled',
    );
    await refusedFor(
      diffOf(() =>
        write('test/quote.test.ts', BASE['test/quote.test.ts']!.split('\n').slice(0, 2).join('\n') + '\n'),
      ),
      'TestRemoved',
    );
  });

  test('refuses symlinks, executable bits and binary files', async () => {
    await refusedFor(
      diffOf(() => symlinkSync('/etc/passwd', join(repo, 'src/passwd'))),
      'Symlink',
    );
    await refusedFor(
      diffOf(() => chmodSync(join(repo, 'src/cache.ts'), 0o755)),
      'ExecutableBit',
    );
    await refusedFor(
      diffOf(() => write('src/blob.bin', Buffer.from([0, 1, 2, 3, 0, 255, 0]))),
      'Binary',
    );
  });

  test('refuses paths that escape the tree', async () => {
    const diff = [
      'diff --git a/../../etc/cron.d/x b/../../etc/cron.d/x',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/../../etc/cron.d/x',
      '@@ -0,0 +1 @@',
      '+* * * * * root true',
      '',
    ].join('\n');
    const out = await refusedFor(diff, 'UnsafePath');
    assert.match(out, /climbs out of its directory/);
  });

  test('refuses a diff that does not apply to the tree', async () => {
    const diff = diffOf(() => write('src/cache.ts', BASE['src/cache.ts']!.replace('64', '256')));
    await refusedFor(diff.replaceAll('CACHE_SIZE = 64', 'CACHE_SIZE = 32'), 'DoesNotApply');
  });

  test('prints the verdict as JSON on request', async () => {
    const patch = join(workDir, 'readme.diff');
    writeFileSync(
      patch,
      diffOf(() => write('README.md', 'x\n')),
    );
    const result = await runPolicyCheck({
      agent: join(repo, 'deploy/agent.yaml'),
      patch,
      repo,
      ref: 'HEAD',
      json: true,
    });
    const verdict = JSON.parse(result.stdout) as { accepted: boolean; reasons: { rule: string }[] };
    assert.equal(verdict.accepted, false);
    assert.deepEqual(
      verdict.reasons.map((reason) => reason.rule),
      ['OutsideAllowedPaths'],
    );
  });

  test('warns of path entries that name nothing in the tree, a typo most likely', async () => {
    const agent = join(workDir, 'typo-agent.yaml');
    writeFileSync(
      agent,
      AGENT.replace('protectedPaths: [src/pricing.ts]', 'protectedPaths: [src/pricing.ts, src/pricng.ts]'),
    );
    const patch = join(workDir, 'cache.diff');
    writeFileSync(
      patch,
      diffOf(() => write('src/cache.ts', BASE['src/cache.ts']!.replace('64', '128'))),
    );
    const text = await runPolicyCheck({ agent, patch, repo, ref: 'HEAD', json: false });
    assert.equal(text.exitCode, 0, text.stdout);
    assert.match(
      text.stdout,
      /^WARNING source\.protectedPaths entry 'src\/pricng\.ts' names no file or directory in tree [0-9a-f]{12}: it protects nothing that exists/m,
    );
    assert.doesNotMatch(text.stdout, /'src\/pricing\.ts' names no file/);
    const json = JSON.parse(
      (await runPolicyCheck({ agent, patch, repo, ref: 'HEAD', json: true })).stdout,
    ) as {
      warnings: string[];
    };
    assert.equal(json.warnings.length, 1);
  });

  test('reports bad input with exit status 2 and one line, without a stack trace', async () => {
    const agent = join(repo, 'deploy/agent.yaml');
    const deployment = join(workDir, 'deployment.yaml');
    writeFileSync(deployment, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n');
    // A glob written out of habit is refused as the API server refuses it, with how to write it.
    const globbed = join(workDir, 'globbed.yaml');
    writeFileSync(
      globbed,
      readFileSync(agent, 'utf8').replace(
        'protectedPaths: [src/pricing.ts]',
        "protectedPaths: ['src/safety/**', src/pricing.ts]",
      ),
    );
    assert.match(readFileSync(globbed, 'utf8'), /src\/safety\/\*\*/);
    const cases = [
      {
        agent: globbed,
        patch: '-',
        repo,
        expect:
          /spec\.source\.protectedPaths\[0\]: 'src\/safety\/\*\*' is a repository path, not a glob pattern \(\* is not allowed\): name the directory \('src\/safety' covers everything under it\)/,
      },
      { agent, patch: join(workDir, 'missing.diff'), repo, expect: /cannot read the patch .*ENOENT/ },
      { agent: deployment, patch: '-', repo, expect: /holds kind Deployment of apps\/v1, not HyperAgent/ },
      { agent: join(repo, 'src/pricing.ts'), patch: '-', repo, expect: /does not hold a YAML object/ },
      { agent, patch: '-', repo: workDir, expect: /cannot read HEAD of the git repository/ },
    ];
    for (const { expect, ...options } of cases) {
      const result = await runPolicyCheck({ ...options, ref: 'HEAD', json: false, stdin: async () => '' });
      assert.equal(result.exitCode, 2, result.stderr);
      assert.match(result.stderr, expect);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  test('the hyperagent command exits 1 on refusal, reading the patch from stdin', () => {
    const cli = fileURLToPath(new URL('./hyperagent.ts', import.meta.url));
    const diff = diffOf(() => write('src/pricing.ts', 'export const MARGIN = 0;\n'));
    const run = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), cli, 'policy', 'check', '--agent', 'deploy/agent.yaml', '-'],
      { cwd: repo, input: diff, encoding: 'utf8' },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /ProtectedPath/);
  });
});
