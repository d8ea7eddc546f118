import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig, createConfiguration, ServerConfiguration } from '@kubernetes/client-node';
import { createKubeClients } from './clients.js';

/** An API server stand-in that answers every GET with a Namespace and records each request's connection. */
async function countingServer() {
  const sockets = new Set<Socket>();
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    requests.push(req);
    const name = req.url?.split('/').pop() ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function kubeConfigFor(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

test('the clients send their requests over kept-alive connections, with the credentials read for each one', async () => {
  const server = await countingServer();
  try {
    const kc = kubeConfigFor(server.url, 'first');
    const seen: string[] = [];
    const { core } = createKubeClients(kc, (method, url) => seen.push(`${method} ${new URL(url).pathname}`));
    for (let i = 0; i < 5; i++) await core.readNamespace({ name: `ns-${i}` });
    // a rotated token applies to the next request, on the same connection
    kc.users[0] = { ...kc.users[0]!, token: 'second' };
    await core.readNamespace({ name: 'ns-5' });

    assert.equal(server.requests.length, 6);
    assert.equal(server.sockets.size, 1, 'six requests, one connection');
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      [...Array(5).fill('Bearer first'), 'Bearer second'],
    );
    assert.deepEqual(seen, ['GET /api/v1/namespaces/ns-0', ...seen.slice(1)]);
    assert.equal(seen.length, 6, 'every request is still counted');
  } finally {
    await server.close();
  }
});

test('without it, client-node opens a connection per request (why kept-alive connections exist)', async () => {
  const server = await countingServer();
  try {
    const kc = kubeConfigFor(server.url, 'token');
    const plain = new CoreV1Api(
      createConfiguration({
        baseServer: new ServerConfiguration(server.url, {}),
        authMethods: { default: kc },
      }),
    );
    for (let i = 0; i < 3; i++) await plain.readNamespace({ name: `ns-${i}` });
    assert.equal(server.sockets.size, 3);
  } finally {
    await server.close();
  }
});
