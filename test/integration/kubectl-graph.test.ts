// `kubectl hyperagent graph <agent>` against the real API server: the plugin reads the agent,
// clones its repository (a bare repository on disk, reached over file://) and prints the graph
// with the agent's declared parameters. Run through kubectl itself, as a user runs a plugin.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentManifest, core, createAgent, freshNamespace } from '../support/cluster.js';
import { kubectlPlugin } from '../support/plugin.js';
import { QUOTE_AGENT, createQuoteRemote } from '../support/quote-fixture.js';

let namespace: string;
let root: string;
let repo: string;

/** `kubectl hyperagent graph quote-latency -n <namespace> ...flags`. */
function graphOfAgent(...flags: string[]) {
  return kubectlPlugin('hyperagent', 'graph', 'quote-latency', '-n', namespace, ...flags);
}

before(async () => {
  namespace = await freshNamespace('graph');
  root = mkdtempSync(join(tmpdir(), 'kubectl-graph-'));
  repo = createQuoteRemote(root);
  await createAgent(
    agentManifest('quote-latency', namespace, {
      source: { repo, paths: ['src'], protectedPaths: ['bench'] },
      improvement: QUOTE_AGENT.improvement,
    }),
  );
});

after(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('kubectl hyperagent graph', () => {
  it("prints the graph of the agent's repository with its declared parameters", async () => {
    const result = await graphOfAgent('--prometheus', 'none');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^HyperAgent: +${namespace}/quote-latency$`, 'm'));
    assert.match(result.stdout, /^Source: +file:\/\/.*remote\.git \(branch main\)$/m);
    assert.match(result.stdout, /src\/quote\.mjs/);
    assert.match(result.stdout, /QUOTE_CACHE_SIZE/);
    assert.match(result.stdout, /^Hot spots: +none/m);
  });

  it('prints JSON on request', async () => {
    const result = await graphOfAgent('--prometheus', 'none', '--json');
    assert.equal(result.code, 0, result.stderr);
    const graph = JSON.parse(result.stdout) as { modules: { path: string; imports: string[] }[] };
    const bench = graph.modules.find((module) => module.path === 'bench/run.mjs');
    assert.deepEqual(bench?.imports, ['src/quote.mjs']);
  });

  it('an unreachable Prometheus leaves a note, not an error', async () => {
    const result = await graphOfAgent('--prometheus', 'http://127.0.0.1:9');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Hot spots:.*(refused|unreachable|cannot|could not)/i);
  });

  it('a missing agent is a one-line error with exit status 2', async () => {
    const result = await kubectlPlugin('hyperagent', 'graph', 'nope', '-n', namespace);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`^error: cannot read HyperAgent ${namespace}/nope: 404`));
  });
});
