import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REFERENCE_HEADER, REFERENCE_PATH, generateReference, renderReference } from './reference.js';
import { HyperAgentSpec } from './schema.js';

/** The text of one `### ` section of the reference, up to the next heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n### ${heading}\n`);
  assert.ok(start >= 0, `no section '${heading}'`);
  const rest = markdown.slice(start + 1);
  const end = rest.search(/\n##+ /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The table row of a field in a section, whether it is plain, a link, or a list of objects. */
function row(text: string, field: string): string {
  const found = text
    .split('\n')
    .find((line) => line.startsWith(`| \`${field}\``) || line.startsWith(`| [\`${field}`));
  assert.ok(found, `no row for '${field}'`);
  return found;
}

test('docs/reference.md is exactly what the schema generates (run `npm run generate`)', async () => {
  assert.equal(
    readFileSync(REFERENCE_PATH, 'utf8'),
    await generateReference(),
    `${REFERENCE_PATH} drifted from operator/src/api/schema.ts`,
  );
});

test('the reference says it is generated and lists every top-level spec field', () => {
  const markdown = renderReference();
  assert.ok(markdown.startsWith(`${REFERENCE_HEADER}\n`));
  const spec = section(markdown, 'HyperAgent `spec`');
  for (const [name, field] of Object.entries(HyperAgentSpec.properties)) {
    assert.ok(row(spec, name).includes(field.description ?? '?'), `${name}: description not verbatim`);
  }
});

test('the reference shows defaults, constraints, rules and immutable anchors where they belong', () => {
  const markdown = renderReference();
  const budget = section(markdown, 'HyperAgent `spec.improvement.budget`');
  assert.match(row(budget, 'maxTokens'), /\| integer, ≥ 0 \| `200000` \|/);
  assert.match(row(budget, 'maxDuration'), /\| duration \| `2h` \|/);
  assert.match(budget, /- `maxDuration`: budget\.maxDuration must be at least 1m/);

  const rollout = section(markdown, 'HyperAgent `spec.rollout`');
  assert.match(row(rollout, 'steps[]'), /`\[\{weight: 10, pause: "1m"\}, \{weight: 50, pause: "1m"\}\]`/);
  assert.match(rollout, /- `steps`: canary step weights must rise strictly from one step to the next/);
  assert.match(row(rollout, 'analysis'), /\| `\{\}` \|/);

  const parameters = section(markdown, 'HyperAgent `spec.improvement.parameters[]`');
  assert.match(parameters, /- integer and number parameters need min and max with min < max/);
  assert.match(row(parameters, 'type'), /one of `integer`, `number`, `boolean`, `choice` \| _required_ \|/);

  assert.match(row(section(markdown, 'HyperAgent `spec`'), 'objectives[]'), /\*\*\(immutable\)\*\*/);
  assert.match(row(section(markdown, 'HyperAgent `spec.source`'), 'protectedPaths'), /\*\*\(immutable\)\*\*/);
  assert.match(markdown, /- HyperAgent names are at most 52 characters/);
});

test('the reference covers both statuses and the kubectl get columns', () => {
  const markdown = renderReference();
  assert.match(
    section(markdown, '`kubectl get ha`'),
    /\| `LAST-CYCLE` \(_wide_\) \| string \| `\.status\.lastCycle\.phase` \|/,
  );
  assert.match(
    section(markdown, '`kubectl get hacycle`'),
    /\| `SELECTED` \| string \| `\.status\.selected` \|/,
  );
  assert.match(
    row(section(markdown, 'HyperAgent `status`'), 'stableRevision'),
    /Revision serving all traffic/,
  );
  const counts = section(markdown, 'ImprovementCycle `status.canary.counts[]`');
  assert.match(row(counts, 'consecutiveErrors'), /\| integer, ≥ 0 \| _always set_ \|/);
  // The frozen agent spec and the shared conditions link to the sections printed first.
  const cycleSpec = section(markdown, 'ImprovementCycle `spec`');
  assert.match(row(cycleSpec, 'agentSpec'), /\(#hyperagent-spec\).*fields as in HyperAgent `spec`/);
  assert.match(
    row(section(markdown, 'ImprovementCycle `status`'), 'conditions[]'),
    /\(#hyperagent-statusconditions\)/,
  );
});
