import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, test } from 'node:test';
import {
  buildDnsQuery,
  DNS_PROBE_NAME,
  probeDns,
  probeTcp,
  proveIsolation,
  type ProbeResult,
} from './isolation.js';

async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

/** A port that nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The question name of a DNS query packet. */
function questionName(packet: Buffer): string {
  const labels: string[] = [];
  for (let offset = 12; packet[offset] !== 0;) {
    const length = packet[offset] ?? 0;
    labels.push(packet.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += 1 + length;
  }
  return labels.join('.');
}

/** A UDP DNS responder that answers every A query with 10.96.0.1; records what it was asked. */
async function dnsResponder(): Promise<{ socket: Socket; port: number; asked: string[] }> {
  const socket = createSocket('udp4');
  const asked: string[] = [];
  socket.on('message', (query, remote) => {
    asked.push(questionName(query));
    const header = Buffer.from(query.subarray(0, 12));
    header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
    header.writeUInt16BE(1, 6); // one answer
    const question = query.subarray(12);
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1]);
    socket.send(Buffer.concat([header, question, answer]), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { socket, port: socket.address().port, asked };
}

test('a DNS query is a standard recursive A question for the name', () => {
  const packet = buildDnsQuery('kubernetes.default.svc.cluster.local', 0x1234);
  assert.equal(packet.readUInt16BE(0), 0x1234);
  assert.equal(packet.readUInt16BE(2), 0x0100);
  assert.deepEqual(
    [packet.readUInt16BE(4), packet.readUInt16BE(6), packet.readUInt16BE(8), packet.readUInt16BE(10)],
    [1, 0, 0, 0],
  );
  assert.equal(questionName(packet), 'kubernetes.default.svc.cluster.local');
  assert.deepEqual([...packet.subarray(-4)], [0, 1, 0, 1]);
  assert.equal(packet.length, 12 + 'kubernetes.default.svc.cluster.local'.length + 2 + 4);
});

test('a TCP connection that completes is a breach; a refused one is isolation', async () => {
  const server = await listening();
  assert.deepEqual(await probeTcp('127.0.0.1', portOf(server), 1000), {
    breached: true,
    detail: 'connected',
  });
  assert.deepEqual(await probeTcp('127.0.0.1', await closedPort(), 1000), {
    breached: false,
    detail: 'ECONNREFUSED',
  });
});

test('a DNS server that answers is a breach, and it was asked a real question', async () => {
  const responder = await dnsResponder();
  assert.deepEqual(await probeDns('127.0.0.1', responder.port, 1000), { breached: true, detail: 'answered' });
  assert.deepEqual(responder.asked, [DNS_PROBE_NAME]);
});

test('a DNS probe to a closed port or a silent one is isolation', async () => {
  const closed = await probeDns('127.0.0.1', await closedPort(), 1000);
  assert.equal(closed.breached, false);
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const started = Date.now();
  assert.deepEqual(await probeDns('127.0.0.1', silent.address().port, 300), {
    breached: false,
    detail: 'timeout',
  });
  assert.ok(Date.now() - started >= 290);
});

test('all probes isolated: one round, nothing breached', async () => {
  const proof = await proveIsolation({
    probes: [
      { name: 'api-server', kind: 'tcp', host: '127.0.0.1', port: await closedPort() },
      { name: 'cluster-dns', kind: 'dns', host: '127.0.0.1', port: await closedPort() },
    ],
    timeoutMs: 500,
    settleSeconds: 5,
  });
  assert.deepEqual(proof.breached, []);
  assert.equal(proof.rounds, 1);
  assert.deepEqual(
    proof.results.map((result) => [result.name, result.breached]),
    [
      ['api-server', false],
      ['cluster-dns', false],
    ],
  );
});

test('a breach that stops while settling ends in isolation after more rounds', async () => {
  const server = await listening();
  const port = portOf(server);
  setTimeout(() => server.close(), 700);
  const proof = await proveIsolation({
    probes: [{ name: 'api-server', kind: 'tcp', host: '127.0.0.1', port }],
    timeoutMs: 500,
    settleSeconds: 10,
  });
  assert.deepEqual(proof.breached, []);
  assert.ok(proof.rounds >= 2, `rounds ${proof.rounds}`);
  assert.ok(proof.durationMs >= 600 && proof.durationMs < 5000, `took ${proof.durationMs} ms`);
});

test('a breach that persists past the settle time is reported by name', async () => {
  const server = await listening();
  const responder = await dnsResponder();
  const proof = await proveIsolation({
    probes: [
      { name: 'api-server', kind: 'tcp', host: '127.0.0.1', port: portOf(server) },
      { name: 'cluster-dns', kind: 'dns', host: '127.0.0.1', port: responder.port },
      { name: 'outside', kind: 'tcp', host: '127.0.0.1', port: await closedPort() },
    ],
    timeoutMs: 500,
    settleSeconds: 1,
  });
  assert.deepEqual(proof.breached, ['api-server', 'cluster-dns']);
  assert.ok(proof.rounds >= 2);
  assert.ok(proof.durationMs >= 1000 && proof.durationMs < 4000, `took ${proof.durationMs} ms`);
});

test('without settle time a breach is final after one round, with probes run in parallel', async () => {
  let clock = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const probe = async (each: { name: string }): Promise<ProbeResult> => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    return { name: each.name, breached: each.name === 'pod', detail: 'fake' };
  };
  const proof = await proveIsolation(
    {
      probes: [
        { name: 'pod', kind: 'tcp', host: 'h', port: 1 },
        { name: 'outside', kind: 'tcp', host: 'h', port: 2 },
      ],
      timeoutMs: 100,
      settleSeconds: 0,
    },
    { probe, now: () => clock, sleep: async (ms) => void (clock += ms) },
  );
  assert.deepEqual(proof.breached, ['pod']);
  assert.equal(proof.rounds, 1);
  assert.equal(mostInFlight, 2);
});

test('settling waits in steps of at most 500 ms and stops at the deadline', async () => {
  let clock = 0;
  const sleeps: number[] = [];
  const proof = await proveIsolation(
    { probes: [{ name: 'pod', kind: 'tcp', host: 'h', port: 1 }], timeoutMs: 100, settleSeconds: 2 },
    {
      probe: async () => {
        clock += 300; // each round takes as long as a probe that times out
        return { name: 'pod', breached: true, detail: 'fake' };
      },
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    },
  );
  assert.deepEqual(proof.breached, ['pod']);
  assert.deepEqual(sleeps, [500, 500, 100]);
  assert.equal(proof.rounds, 4);
});
