// Lease-based leader election against a real kube-apiserver: two replicas contend for one Lease
// and we check who leads, how fast a graceful handover is, that a crashed leader is only replaced
// once its lease lapses, and that a leader cut off from the API server gives up on its deadline.
//
// Run with `bash test/run-integration.sh test/integration/leader-election.test.ts`, which provides
// KUBECONFIG. Short timings keep it quick: lease 3s, renew deadline 2s, retry 0.5s.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { LeaderElector } from '../../operator/src/controller/leader-election.js';

const LEASE_S = 3;
const RENEW_S = 2;
const RETRY_S = 0.5;
const RETRY_MS = RETRY_S * 1000;

const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const namespace = `leader-election-${randomBytes(4).toString('hex')}`;
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** An elector plus counts of its callbacks, which the tests assert on. */
interface Candidate {
  identity: string;
  elector: LeaderElector;
  started: number;
  stopped: number;
}

const everyCandidate: Candidate[] = [];

function candidate(lease: string, identity: string, kubeConfig: KubeConfig = kc): Candidate {
  const counts = { started: 0, stopped: 0 };
  const elector = new LeaderElector({
    kubeConfig,
    namespace,
    name: lease,
    identity,
    leaseDurationSeconds: LEASE_S,
    renewDeadlineSeconds: RENEW_S,
    retryPeriodSeconds: RETRY_S,
    onStartedLeading: () => counts.started++,
    onStoppedLeading: () => counts.stopped++,
    log,
  });
  const c: Candidate = Object.assign(counts, { identity, elector });
  everyCandidate.push(c);
  return c;
}

/** Polls until `ready` holds and returns how long that took; fails the test after `timeoutMs`. */
async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!ready()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs}ms`);
    await sleep(20);
  }
  return Date.now() - start;
}

/** Starts both, waits until one leads, and returns [leader, follower]. */
async function electOne(a: Candidate, b: Candidate): Promise<[Candidate, Candidate]> {
  a.elector.start();
  b.elector.start();
  await waitFor('a leader', () => [a, b].some((c) => c.elector.state() === 'leader'), 10_000);
  return a.elector.state() === 'leader' ? [a, b] : [b, a];
}

/** Samples the candidates' states in the background and counts moments with two leaders. */
function watchForTwoLeaders(candidates: Candidate[]): { stop: () => number } {
  let overlaps = 0;
  const timer = setInterval(() => {
    if (candidates.filter((c) => c.elector.state() === 'leader').length > 1) overlaps++;
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return overlaps;
    },
  };
}

/** Stops candidates gracefully, so a test's electors do not keep running into the next one. */
async function stopAll(...candidates: Candidate[]): Promise<void> {
  await Promise.all(candidates.map((c) => c.elector.stop({ release: true })));
}

async function holderOf(lease: string): Promise<string | undefined> {
  const read = await coordination.readNamespacedLease({ name: lease, namespace });
  return read.spec?.holderIdentity || undefined;
}

/**
 * A TCP relay to the API server that can be cut: afterwards it drops open connections and
 * accepts new ones without ever answering, like a partitioned network.
 */
class CuttableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cut = false;

  private constructor(
    private readonly target: URL,
    ready: () => void,
  ) {
    this.server = createServer((client) => this.relay(client));
    this.server.listen(0, '127.0.0.1', ready);
  }

  static async to(target: URL): Promise<CuttableProxy> {
    return new Promise((resolve) => {
      const proxy: CuttableProxy = new CuttableProxy(target, () => resolve(proxy));
    });
  }

  /** A copy of `base` whose current cluster is reached through this proxy. */
  kubeConfig(base: KubeConfig): KubeConfig {
    const { port } = this.server.address() as AddressInfo;
    const current = base.getCurrentCluster()?.name;
    const copy = new KubeConfig();
    copy.loadFromOptions({
      clusters: base.clusters.map((c) =>
        c.name === current ? { ...c, server: `https://127.0.0.1:${port}` } : c,
      ),
      users: base.users,
      contexts: base.contexts,
      currentContext: base.currentContext,
    });
    return copy;
  }

  cutOff(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  close(): void {
    this.cutOff();
    this.server.close();
  }

  private relay(client: Socket): void {
    this.track(client);
    if (this.cut) return; // hold the connection open and silent
    const upstream = createConnection(Number(this.target.port), this.target.hostname);
    this.track(upstream);
    client.pipe(upstream).pipe(client);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

describe('leader election on a Lease', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async () => {
    await Promise.all(everyCandidate.map((c) => c.elector.stop({ release: false })));
    await core.deleteNamespace({ name: namespace });
  });

  it('elects exactly one of two candidates, and the other stays follower', async () => {
    const a = candidate('steady', 'replica-a');
    const b = candidate('steady', 'replica-b');
    assert.equal(a.elector.state(), 'unknown');
    const [leader, follower] = await electOne(a, b);
    await waitFor('the follower to settle', () => follower.elector.state() !== 'unknown', 5_000);

    const watch = watchForTwoLeaders([a, b]);
    // Several retry periods: the leader renews and the follower keeps finding a live lease.
    for (let i = 0; i < 6; i++) {
      await sleep(RETRY_MS);
      assert.equal(leader.elector.state(), 'leader');
      assert.equal(follower.elector.state(), 'follower');
      assert.equal(await holderOf('steady'), leader.identity);
    }
    assert.equal(watch.stop(), 0, 'two leaders at once');
    assert.deepEqual([leader.started, leader.stopped], [1, 0]);
    assert.deepEqual([follower.started, follower.stopped], [0, 0]);

    const lease = await coordination.readNamespacedLease({ name: 'steady', namespace });
    assert.equal(lease.spec?.leaseDurationSeconds, LEASE_S);
    assert.equal(lease.spec?.leaseTransitions, 0);
    assert.match(String(lease.spec?.renewTime), /\.\d{6}Z$/, 'renewTime is an RFC3339 micro time');
    await stopAll(a, b);
  });

  it('hands over within two retry periods when the leader stops and releases', async (t) => {
    const [leader, follower] = await electOne(
      candidate('release', 'replica-a'),
      candidate('release', 'replica-b'),
    );
    await waitFor('the follower to settle', () => follower.elector.state() === 'follower', 5_000);
    const watch = watchForTwoLeaders([leader, follower]);

    await leader.elector.stop({ release: true });
    const took = await waitFor('the follower to lead', () => follower.elector.state() === 'leader', 5_000);

    t.diagnostic(`handover after release took ${took}ms`);
    assert.ok(took <= 2 * RETRY_MS, `handover took ${took}ms, more than two retry periods`);
    assert.equal(watch.stop(), 0, 'two leaders at once');
    assert.equal(await holderOf('release'), follower.identity);
    assert.equal(leader.elector.state(), 'follower');
    assert.equal(leader.stopped, 0, 'stop() is not a lost leadership');
    assert.equal(follower.started, 1);
    const lease = await coordination.readNamespacedLease({ name: 'release', namespace });
    assert.equal(lease.spec?.leaseTransitions, 1);
    await stopAll(follower);
  });

  it('replaces a leader that stops without releasing only once its lease lapses', async (t) => {
    const [leader, follower] = await electOne(
      candidate('crash', 'replica-a'),
      candidate('crash', 'replica-b'),
    );
    await waitFor('the follower to settle', () => follower.elector.state() === 'follower', 5_000);

    await leader.elector.stop({ release: false });
    const stoppedAt = Date.now();
    assert.equal(await holderOf('crash'), leader.identity, 'a crashed leader still holds the lease');
    await waitFor('the follower to lead', () => follower.elector.state() === 'leader', (LEASE_S + 3) * 1000);
    const took = Date.now() - stoppedAt;

    t.diagnostic(`takeover after a crash took ${took}ms`);
    // The last renewal came at most one retry period before the stop, so the lease lapses no
    // sooner than (lease - retry) after it, and the follower notices within a retry period.
    assert.ok(took >= (LEASE_S - RETRY_S) * 1000 - 200, `took over after only ${took}ms`);
    assert.ok(took <= (LEASE_S + 2 * RETRY_S) * 1000 + 500, `took over after ${took}ms`);
    assert.equal(await holderOf('crash'), follower.identity);
    assert.equal(follower.started, 1);
    await stopAll(follower);
  });

  it('a leader that cannot reach the API server gives up at its renew deadline, once', async (t) => {
    const proxy = await CuttableProxy.to(new URL(kc.getCurrentCluster()?.server ?? ''));
    try {
      const cutOff = candidate('deadline', 'replica-a', proxy.kubeConfig(kc));
      cutOff.elector.start();
      await waitFor('the proxied candidate to lead', () => cutOff.elector.state() === 'leader', 10_000);

      proxy.cutOff();
      const took = await waitFor('onStoppedLeading', () => cutOff.stopped > 0, (RENEW_S + 2) * 1000);
      t.diagnostic(`cut-off leader gave up after ${took}ms`);
      // The deadline runs from the last renewal, at most a retry period before the cut.
      assert.ok(took >= (RENEW_S - RETRY_S) * 1000 - 200, `gave up after only ${took}ms`);
      assert.ok(took <= RENEW_S * 1000 + 500, `gave up after ${took}ms`);
      assert.equal(cutOff.elector.state(), 'follower');

      // A peer with a working connection takes over once the abandoned lease lapses.
      const peer = candidate('deadline', 'replica-b');
      peer.elector.start();
      await waitFor('the peer to lead', () => peer.elector.state() === 'leader', (LEASE_S + 3) * 1000);
      assert.equal(await holderOf('deadline'), peer.identity);
      assert.deepEqual([cutOff.started, cutOff.stopped], [1, 1], 'callbacks fire exactly once');
      await cutOff.elector.stop({ release: true }); // no longer leader: must return without writing
      assert.equal(await holderOf('deadline'), peer.identity);
      await stopAll(peer);
    } finally {
      proxy.close();
    }
  });
});
