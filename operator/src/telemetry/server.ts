// HTTP endpoints for Kubernetes probes and Prometheus: /healthz, /readyz, /metrics.
// Three fixed GET routes need no framework: node:http serves them (a web framework would cost the
// operator several MiB at start for routing it never uses).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperatorMetrics } from './metrics.js';

export interface ProbeState {
  /** Ready once caches are synced and this replica knows whether it leads. */
  ready(): { ok: boolean; detail: string };
  /** Called before each scrape, to refresh metrics computed from caches. */
  beforeScrape?(): void;
}

export interface TelemetryServer {
  port: number;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

/** Serves the probes and metrics on `port` (0 picks a free one) at `host`. */
export async function startTelemetryServer(
  metrics: OperatorMetrics,
  state: ProbeState,
  port: number,
  host = '0.0.0.0',
): Promise<TelemetryServer> {
  const answer = async (path: string): Promise<{ status: number; type: string; body: string }> => {
    switch (path) {
      case '/healthz':
        return { status: 200, type: TEXT, body: 'ok\n' };
      case '/readyz': {
        const { ok, detail } = state.ready();
        return { status: ok ? 200 : 503, type: TEXT, body: `${detail}\n` };
      }
      case '/metrics':
        state.beforeScrape?.();
        return { status: 200, type: metrics.registry.contentType, body: await metrics.registry.metrics() };
      default:
        return { status: 404, type: TEXT, body: `no ${path} here: /healthz, /readyz and /metrics are\n` };
    }
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': TEXT, Allow: 'GET, HEAD' }).end('only GET and HEAD\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://telemetry').pathname;
    answer(path).then(
      ({ status, type, body }) => {
        res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        const body = `${error instanceof Error ? error.message : String(error)}\n`;
        res.writeHead(500, { 'Content-Type': TEXT }).end(body);
      },
    );
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
