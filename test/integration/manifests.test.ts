// Applies every manifest under test/fixtures to a real kube-apiserver and checks that the CRD's
// OpenAPI schema and CEL rules accept the valid ones and refuse the invalid ones with an error that
// names the offending field.
//
//   invalid/NN-name.yaml                 refused on create; every `# expect: TEXT` line of the
//                                        leading comment must appear in kubectl's stderr
//   valid/NAME.yaml                      accepted on create
//   invalid-updates/NN-name/{before,after}.yaml
//                                        before is accepted, after is refused like an invalid file
//   valid-updates/NN-name/{before,after}.yaml
//                                        both are accepted
//
// Run with `bash test/run-integration.sh test/integration/manifests.test.ts`, which provides
// KUBECONFIG and kubectl on PATH.
import assert from 'node:assert/strict';
import { execFile as execFileCallback } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { load } from 'js-yaml';

const execFile = promisify(execFileCallback);

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const MIN_INVALID = 20;
const namespace = `manifests-${randomBytes(4).toString('hex')}`;

interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl without a shell; a non-zero exit is a result, not an exception. */
async function kubectl(...args: string[]): Promise<KubectlResult> {
  try {
    const { stdout, stderr } = await execFile('kubectl', args, { encoding: 'utf8', timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    // A string code (ENOENT) or none (killed by the timeout) means kubectl never gave an answer.
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function apply(file: string): Promise<KubectlResult> {
  return kubectl('apply', '-f', file, '-n', namespace);
}

/** The `# expect:` lines of the comment block a fixture starts with. */
function expectations(file: string): string[] {
  const texts: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('#')) break;
    const match = /^#\s*expect:\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) texts.push(match[1]);
  }
  return texts;
}

function list(dir: string, filter: (name: string) => boolean): string[] {
  return readdirSync(join(FIXTURES, dir))
    .filter(filter)
    .sort()
    .map((name) => join(FIXTURES, dir, name));
}

const yamlFile = (name: string) => name.endsWith('.yaml');
const invalid = list('invalid', yamlFile);
const valid = list('valid', yamlFile);
const invalidUpdates = list('invalid-updates', (name) => !name.includes('.'));
const validUpdates = list('valid-updates', (name) => !name.includes('.'));
const relative = (file: string) => file.slice(FIXTURES.length);

function assertAccepted(file: string, result: KubectlResult): void {
  assert.equal(result.code, 0, `${relative(file)} was refused, but must be accepted:\n${result.stderr}`);
}

function assertRefused(file: string, result: KubectlResult): void {
  const expected = expectations(file);
  assert.ok(expected.length > 0, `${relative(file)} has no '# expect: TEXT' line`);
  assert.notEqual(
    result.code,
    0,
    `${relative(file)} was accepted, but must be refused with ${JSON.stringify(expected)}:\n${result.stdout}`,
  );
  for (const text of expected) {
    assert.ok(
      result.stderr.includes(text),
      `${relative(file)} was refused without ${JSON.stringify(text)}; the server said:\n${result.stderr}`,
    );
  }
}

before(async () => {
  const created = await kubectl('create', 'namespace', namespace);
  assert.equal(created.code, 0, `cannot create namespace ${namespace}:\n${created.stderr}`);
});

after(async () => {
  await kubectl('delete', 'namespace', namespace, '--wait=false');
});

describe('fixtures', () => {
  it(`has at least ${MIN_INVALID} invalid manifests`, () => {
    assert.ok(invalid.length >= MIN_INVALID, `only ${invalid.length} files in test/fixtures/invalid`);
  });

  it('gives every create a distinct HyperAgent name and no namespace', () => {
    const files = [
      ...invalid,
      ...valid,
      ...[...invalidUpdates, ...validUpdates].map((dir) => join(dir, 'before.yaml')),
    ];
    const seen = new Map<string, string>();
    for (const file of files) {
      const doc = load(readFileSync(file, 'utf8')) as {
        kind?: unknown;
        metadata?: { name?: unknown; namespace?: unknown };
      };
      assert.equal(doc.kind, 'HyperAgent', `${relative(file)} is not a HyperAgent`);
      assert.equal(doc.metadata?.namespace, undefined, `${relative(file)} must not set a namespace`);
      const name = String(doc.metadata?.name);
      const other = seen.get(name);
      assert.equal(other, undefined, `${relative(file)} reuses the name ${name} of ${other}`);
      seen.set(name, relative(file));
    }
  });
});

describe('invalid manifests are refused', () => {
  for (const file of invalid) {
    it(relative(file), async () => {
      assertRefused(file, await apply(file));
    });
  }
});

describe('valid manifests are accepted', () => {
  for (const file of valid) {
    it(relative(file), async () => {
      assertAccepted(file, await apply(file));
    });
  }
});

describe('updates of immutable anchors are refused', () => {
  for (const dir of invalidUpdates) {
    it(relative(dir), async () => {
      const first = join(dir, 'before.yaml');
      assertAccepted(first, await apply(first));
      const second = join(dir, 'after.yaml');
      assertRefused(second, await apply(second));
    });
  }
});

describe('updates that keep the anchors are accepted', () => {
  for (const dir of validUpdates) {
    it(relative(dir), async () => {
      const first = join(dir, 'before.yaml');
      assertAccepted(first, await apply(first));
      const second = join(dir, 'after.yaml');
      assertAccepted(second, await apply(second));
    });
  }
});
