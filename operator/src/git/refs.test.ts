import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGitLineageError } from './errors.js';
import {
  archiveId,
  assertBranchName,
  assertRepositoryUrl,
  cycleBranch,
  isArchiveId,
  promotionTag,
  transportOf,
} from './refs.js';

const AGENT = { namespace: 'shop', name: 'quote' };

function refusedAs(code: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => isGitLineageError(e) && e.code === code);
}

test('branch, tag and archive names are built from checked parts', () => {
  assert.equal(cycleBranch(AGENT, 'quote-42'), 'hyperagent/quote/quote-42');
  assert.equal(promotionTag(AGENT, 'r7'), 'hyperagent/quote/r7');
  assert.equal(archiveId('quote-42', 'c1'), 'quote-42/c1');
  assert.ok(isArchiveId('quote-42/c1'));
  assert.ok(!isArchiveId('quote-42'));
  assert.ok(!isArchiveId('quote-42/../x'));
  for (const cycle of ['', 'Q', '-a', 'a-', 'a/b', 'a..b', 'a b', 'x'.repeat(64)]) {
    refusedAs('InvalidName', () => cycleBranch(AGENT, cycle));
  }
  refusedAs('InvalidName', () => cycleBranch({ namespace: 'shop', name: '--upload-pack=x' }, 'c'));
  for (const revision of ['', '.r', 'r.', 'a..b', 'a/b', 'r:1', 'r~1']) {
    refusedAs('InvalidName', () => promotionTag(AGENT, revision));
  }
});

test('branch names follow git check-ref-format and never look like options', () => {
  for (const ok of ['main', 'release/1.2', 'feature-x', 'v1']) assertBranchName(ok);
  for (const bad of ['', '-x', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', '@', 'a@{1}']) {
    refusedAs('InvalidName', () => assertBranchName(bad));
  }
  for (const bad of ['/a', 'a/', 'a.', 'a//b', '.a', 'a/.b', 'a.lock', 'a/b.lock/c', 'a\u0001']) {
    refusedAs('InvalidName', () => assertBranchName(bad));
  }
});

test('repository URLs with embedded passwords or option-like values are refused', () => {
  assertRepositoryUrl('https://git.example.com/shop/quote.git');
  assertRepositoryUrl('ssh://git@git.example.com/shop/quote.git');
  assertRepositoryUrl('git@git.example.com:shop/quote.git');
  refusedAs('InvalidRepository', () => assertRepositoryUrl('https://bot:s3cret@git.example.com/x.git'));
  refusedAs('InvalidRepository', () => assertRepositoryUrl('ssh://git:pw@git.example.com/x.git'));
  refusedAs('InvalidRepository', () => assertRepositoryUrl('https://ghp_token123@github.com/x.git'));
  refusedAs('InvalidRepository', () => assertRepositoryUrl('--upload-pack=touch /tmp/x'));
  refusedAs('InvalidRepository', () => assertRepositoryUrl('https://x/\nfoo'));
  assert.equal(transportOf('https://h/x'), 'http');
  assert.equal(transportOf('http://h/x'), 'http');
  assert.equal(transportOf('ssh://git@h/x'), 'ssh');
  assert.equal(transportOf('git@h:x.git'), 'ssh');
  assert.equal(transportOf('file:///srv/x.git'), 'other');
});
