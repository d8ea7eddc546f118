import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readMemoryUse } from './resources.js';
import { tempDir, writeFiles } from './test-helpers.js';

test('cgroup v2: memory.peak and the oom_kill line of memory.events', async () => {
  const root = await tempDir();
  await writeFiles(root, {
    'memory.peak': '73400320\n',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n',
    'memory/memory.max_usage_in_bytes': '1\n',
  });
  assert.deepEqual(await readMemoryUse(root), { peakBytes: 73400320, oomKills: 2 });
});

test('cgroup v1: max_usage_in_bytes and memory.oom_control', async () => {
  const root = await tempDir();
  await writeFiles(root, {
    'memory/memory.max_usage_in_bytes': '52428800\n',
    'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  });
  assert.deepEqual(await readMemoryUse(root), { peakBytes: 52428800, oomKills: 0 });
});

test('absent or unreadable counters are left out', async () => {
  const root = await tempDir();
  assert.deepEqual(await readMemoryUse(root), {});
  await writeFiles(root, {
    'memory.peak': 'max\n',
    'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n',
  });
  assert.deepEqual(await readMemoryUse(root), {});
});
