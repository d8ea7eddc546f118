// HTTP endpoints for Kubernetes probes and Prometheus: /healthz, /readyz, /metrics.
import express from 'express';
import type { Server } from 'node:http';
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

/** Serves the probes and metrics on `port` (0 picks a free one) at `host`. */
export async function startTelemetryServer(
  metrics: OperatorMetrics,
  state: ProbeState,
  port: number,
  host = '0.0.0.0',
): Promise<TelemetryServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const { ok, detail } = state.ready();
    res
      .status(ok ? 200 : 503)
      .type('text/plain')
      .send(`${detail}\n`);
  });
  app.get('/metrics', async (_req, res) => {
    state.beforeScrape?.();
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
