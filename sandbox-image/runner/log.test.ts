import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLog } from './log.js';

test('runner lines are prefixed and always start on a fresh line', () => {
  let text = '';
  const log = createLog((chunk) => void (text += chunk.toString()));
  log.line('first');
  log.stream(Buffer.from('command output without newline'));
  log.line('second');
  log.stream('ends with newline\n');
  log.line('third');
  assert.equal(
    text,
    '[hyperagent] first\ncommand output without newline\n[hyperagent] second\nends with newline\n[hyperagent] third\n',
  );
});
