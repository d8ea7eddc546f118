import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitBody, commitMessage, commitSubject, SUBJECT_MAX } from './message.js';

test('the subject is the summary on one line', () => {
  assert.equal(commitSubject('Raise the\ncache TTL  to 30s', 'x'), 'Raise the cache TTL to 30s');
  assert.equal(commitSubject('  \n', 'Candidate c/1'), 'Candidate c/1');
  assert.equal(commitSubject('--- Raise TTL', 'x'), 'Raise TTL');
});

test('a long subject is cut at a word boundary near the limit, else mid-word', () => {
  const words =
    'Raise the cache TTL for quotes so that repeated lookups stop hitting the slow pricing backend';
  const cut = commitSubject(words, 'x');
  assert.ok(Array.from(cut).length <= SUBJECT_MAX);
  assert.ok(cut.endsWith('…'));
  assert.ok(words.startsWith(cut.slice(0, -1)));
  assert.ok(!cut.slice(0, -1).endsWith(' '));
  const oneWord = 'x'.repeat(200);
  assert.equal(commitSubject(oneWord, 'x'), `${'x'.repeat(SUBJECT_MAX - 1)}…`);
});

test('the body keeps paragraphs, drops control characters and defuses patch dividers', () => {
  assert.equal(commitBody('a\r\nb\u0007\n\n\n\nc  \n---\n--- x\n'), 'a\nb\n\nc\n ---\n --- x');
  assert.equal(commitBody('\n\n  indented\n\n'), '  indented');
});

test('the message puts subject, body and trailers in separate paragraphs', () => {
  const message = commitMessage({
    summary: 'Raise TTL',
    rationale: 'Because.',
    fallbackSubject: 'x',
    trailers: [{ key: 'K', value: 'v\nw' }],
  });
  assert.equal(message, 'Raise TTL\n\nBecause.\n\nK: v w\n');
  assert.equal(
    commitMessage({
      summary: 'S',
      rationale: '',
      fallbackSubject: 'x',
      trailers: [{ key: 'K', value: 'v' }],
    }),
    'S\n\nK: v\n',
  );
});
