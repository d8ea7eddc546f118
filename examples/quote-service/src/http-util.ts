// Small helpers the HTTP servers of this package share.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './env.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request's path and query (the host does not matter to a server). */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://localhost');
}

/** Starts listening and resolves with the base URL (useful with port 0). */
export function listen(server: Server, port: number, host?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const shown = address.address === '::' || address.address === '0.0.0.0' ? 'localhost' : hostname;
      resolve(`http://${shown}:${address.port}`);
    });
  });
}

/**
 * Tracks requests in flight so that a shutdown can stop accepting connections, let the requests
 * already inside finish (answering them with `Connection: close`), and only then close the
 * remaining idle keep-alive connections.
 */
export class GracefulShutdown {
  private inFlight = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly server: Server) {}

  get shuttingDown(): boolean {
    return this.closing !== undefined;
  }

  /** Call at the start of every request. */
  track(res: ServerResponse): void {
    this.inFlight++;
    if (this.shuttingDown) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      const finish = () => this.server.closeAllConnections();
      // Idle keep-alive connections would hold server.close() open until they time out.
      this.server.closeIdleConnections();
      if (this.inFlight === 0) finish();
      else this.drained = finish;
    });
    return this.closing;
  }
}

/** True when `moduleUrl` (import.meta.url) is the file node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && moduleUrl === pathToFileURL(entry).href;
}

/** Runs `stop` on SIGTERM or SIGINT, then exits; exits anyway after `graceMs`. */
export function exitOnSignal(stop: () => Promise<void>, graceMs = 10_000): void {
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`${signal}: finishing requests in flight`);
    setTimeout(() => {
      console.error(`still busy after ${graceMs} ms, exiting`);
      process.exit(1);
    }, graceMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** The settings `load` reads, or, when they are invalid, a one-line reason and exit code 2. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`invalid configuration: ${error.message}`);
    process.exit(2);
  }
}
