import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, type Timers } from './work-queue.js';

/** Manual clock: timers fire only when the test advances time. */
class FakeTimers implements Timers {
  private time = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now() {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.pending.delete(handle as number);
  }
  async advance(ms: number) {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
      await settle();
    }
    this.time = end;
    await settle();
  }
  count() {
    return this.pending.size;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a key added many times while waiting is handled once', async () => {
  const seen: string[] = [];
  const queue = new WorkQueue({ handler: async (key) => void seen.push(key), timers: new FakeTimers() });
  for (let i = 0; i < 5; i++) queue.add('ns/a');
  queue.add('ns/b');
  assert.equal(queue.depth(), 2);
  queue.start();
  await settle();
  assert.deepEqual(seen.sort(), ['ns/a', 'ns/b']);
});

test('a key is never handled by two workers at once; an add during handling runs it again after', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  let release: () => void = () => {};
  const queue = new WorkQueue({
    concurrency: 4,
    timers: new FakeTimers(),
    handler: async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
      inFlight--;
    },
  });
  queue.start();
  queue.add('ns/a');
  await settle();
  queue.add('ns/a');
  queue.add('ns/a');
  await settle();
  assert.equal(calls, 1, 'second add waits while the first is in flight');
  release();
  await settle();
  await settle();
  assert.equal(calls, 2, 'the adds during handling collapse into one more run');
  assert.equal(maxInFlight, 1);
});

test('failures retry with exponential backoff per key, and success resets it', async () => {
  const timers = new FakeTimers();
  const attempts: number[] = [];
  let fail = true;
  const queue = new WorkQueue({
    timers,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    handler: async () => {
      attempts.push(timers.now());
      if (fail) throw new Error('boom');
    },
  });
  queue.start();
  queue.add('ns/a');
  await settle();
  await timers.advance(5000);
  // 0, +100, +200, +400, +800, +1000 (capped), +1000 ...
  assert.deepEqual(attempts.slice(0, 7), [0, 100, 300, 700, 1500, 2500, 3500]);
  fail = false;
  await timers.advance(1000);
  const afterSuccess = attempts.length;
  await timers.advance(10_000);
  assert.equal(attempts.length, afterSuccess, 'no retry after success');
  assert.equal(queue.backoffMs(1), 100);
  assert.equal(queue.backoffMs(30), 1000);
});

test('requeueAfter schedules one later visit, and the earliest request wins', async () => {
  const timers = new FakeTimers();
  const visits: number[] = [];
  const queue = new WorkQueue({
    timers,
    handler: async () => {
      visits.push(timers.now());
      return visits.length === 1 ? { requeueAfterMs: 60_000 } : undefined;
    },
  });
  queue.start();
  queue.add('ns/a');
  await settle();
  queue.addAfter('ns/a', 90_000); // later than the handler's request: ignored
  await timers.advance(120_000);
  assert.deepEqual(visits, [0, 60_000]);
  assert.equal(timers.count(), 0);
});

test('stop waits for the handler in flight and takes no new work', async () => {
  let release: () => void = () => {};
  let finished = false;
  const seen: string[] = [];
  const queue = new WorkQueue({
    timers: new FakeTimers(),
    handler: async (key) => {
      seen.push(key);
      if (key === 'ns/slow') {
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      }
    },
  });
  queue.start();
  queue.add('ns/slow');
  await settle();
  const stopped = queue.stop();
  queue.add('ns/late');
  release();
  await stopped;
  assert.equal(finished, true);
  await settle();
  assert.deepEqual(seen, ['ns/slow']);
});
