// Addresses where nothing answers, for tests of unreachable endpoints.
import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback port nothing listens on: one the kernel just handed out and took back (fetch refuses
 * well-known ports such as 1 outright, so a fixed "closed" port will not do).
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
