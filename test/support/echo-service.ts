// The echo fixture as a service under load, for the e2e tests that deliver to it: a stable
// Deployment and its Service, a load generator pod sending requests through the Service (a new
// connection each, so kube-proxy spreads them over the ready pods) or through a gateway, and
// logging one JSON line a second of what came back, and the summary of those lines between two times.
import assert from 'node:assert/strict';
import { kubectl } from './cluster.js';
import { ECHO_IMAGE, applyJson, restrictedContainer } from './workloads.js';

const REGISTRY = process.env.HYPERAGENT_REGISTRY ?? 'localhost:5001';
/** The echo fixture with FAULT_RATE, SLOW_MS, FAULTS_AFTER_S and FORGE_METRICS switches (test/e2e/images/echo-faults). */
export const ECHO_FAULTS_IMAGE =
  process.env.HYPERAGENT_E2E_ECHO_FAULTS_IMAGE ?? `${REGISTRY}/hyperagent-e2e-echo-faults:0.2.2`;

export interface EchoService {
  namespace: string;
  /** The Deployment, its Service and its container's name prefix. */
  name: string;
}

export interface StableOptions {
  replicas: number;
  image?: string;
  env?: { name: string; value: string }[];
}

/** The stable Deployment (container `echo`, scraped by Prometheus) and its Service, rolled out. */
export async function deployStableEcho(
  { namespace, name }: EchoService,
  { replicas, image = ECHO_IMAGE, env = [{ name: 'VERSION', value: 'v1' }] }: StableOptions,
): Promise<void> {
  const labels = { app: name };
  await applyJson([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': '8080',
              'prometheus.io/path': '/metrics',
            },
          },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 15,
            containers: [
              {
                name: 'echo',
                image,
                ...restrictedContainer,
                env,
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
                // endpoints are removed while the pod still serves: no request meets a closed port
                lifecycle: { preStop: { sleep: { seconds: 3 } } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ]);
  await kubectl('-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=180s');
}

/**
 * The load generator: 25 requests a second through the Service, each on a new connection, and one
 * JSON line a second with what came back (by status code, by version, by stable or canary pod,
 * and the slowest answer).
 */
const LOAD_SCRIPT = `
const http = require('node:http');
let w = { ok: 0, failed: 0, codes: {}, versions: {}, roles: {}, errors: {}, maxMs: 0, smoke: {} };
const add = (m, k) => { m[k] = (m[k] || 0) + 1; };
const headers = process.env.HOST_HEADER ? { host: process.env.HOST_HEADER } : {};
function smoke() {
  const [name, value] = process.env.SMOKE_HEADER.split(':');
  const req = http.get(process.env.TARGET, { agent: false, timeout: 2000, headers: { ...headers, [name]: value } }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      try { add(w.smoke, JSON.parse(body).hostname.startsWith(process.env.CANARY_PREFIX) ? 'canary' : 'stable'); }
      catch { add(w.smoke, 'failed'); }
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => add(w.smoke, 'failed'));
}
if (process.env.SMOKE_HEADER) setInterval(smoke, 200);
function once() {
  const started = Date.now();
  const req = http.get(process.env.TARGET, { agent: false, timeout: 2000, headers }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      w.maxMs = Math.max(w.maxMs, Date.now() - started);
      add(w.codes, res.statusCode);
      if (res.statusCode >= 400) w.failed++; else w.ok++;
      try {
        const j = JSON.parse(body);
        add(w.versions, j.version);
        const canary = j.hostname.startsWith(process.env.CANARY_PREFIX);
        add(w.roles, canary ? 'canary' : 'stable');
        if (canary) { const at = Date.now(); w.canaryFirst = w.canaryFirst || at; w.canaryLast = at; }
      } catch {}
    });
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => { w.failed++; add(w.errors, e.code || e.message); });
}
setInterval(once, 40);
setInterval(() => { console.log(JSON.stringify({ t: Date.now(), ...w })); w = { ok: 0, failed: 0, codes: {}, versions: {}, roles: {}, errors: {}, maxMs: 0, smoke: {} }; }, 1000);
`;

/** Where the load goes instead of the Service: a gateway, with the Host its route matches. */
export interface LoadThrough {
  url: string;
  host: string;
  /** `Name:value`: five requests a second carry it, counted apart (`smoke` in each window). */
  smokeHeader?: string;
}

/** Starts the load generator (pod `load`) and returns once the Service (or gateway) answers cleanly. */
export async function startLoad({ namespace, name }: EchoService, through?: LoadThrough): Promise<void> {
  await applyJson([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'load', namespace, labels: { role: 'load' } },
      spec: {
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'load',
            image: ECHO_IMAGE,
            ...restrictedContainer,
            command: ['node', '-e', LOAD_SCRIPT],
            env: [
              { name: 'TARGET', value: through?.url ?? `http://${name}.${namespace}.svc.cluster.local/` },
              { name: 'CANARY_PREFIX', value: `${name}-canary-` },
              ...(through ? [{ name: 'HOST_HEADER', value: through.host }] : []),
              ...(through?.smokeHeader ? [{ name: 'SMOKE_HEADER', value: through.smokeHeader }] : []),
            ],
          },
        ],
      },
    },
  ]);
  await kubectl('-n', namespace, 'wait', '--for=condition=Ready', 'pod/load', '--timeout=180s');
  // A new Service answers only once kube-proxy has programmed it (on two busy cores, seconds after
  // it exists; one run saw refusals and another Service's 404 in the first second): the canaries
  // start only when the load has gone through cleanly for two seconds in a row.
  for (const deadline = Date.now() + 60_000; ; await sleep(1000)) {
    const last = (await loadWindows(namespace)).slice(-2);
    if (last.length === 2 && last.every((w) => w.failed === 0 && w.ok > 0)) return;
    assert.ok(Date.now() < deadline, `the Service does not answer cleanly: ${JSON.stringify(last)}`);
  }
}

export interface LoadWindow {
  t: number;
  ok: number;
  failed: number;
  codes: Record<string, number>;
  versions: Record<string, number>;
  roles: Record<string, number>;
  errors: Record<string, number>;
  /** The slowest answer in the second, ms (absent in lines of an older load script). */
  maxMs?: number;
  /** Requests with the smoke-test header, by stable, canary or failed. */
  smoke?: Record<string, number>;
  /** When the first and the last answer from a canary pod came in this second, ms since the epoch. */
  canaryFirst?: number;
  canaryLast?: number;
}

export interface LoadSummary {
  total: number;
  failed: number;
  failures: Record<string, number>;
  byVersion: Record<string, number>;
  windows: LoadWindow[];
}

/** Every one-second window the load generator logged so far. */
export async function loadWindows(namespace: string): Promise<LoadWindow[]> {
  return (await kubectl('-n', namespace, 'logs', 'load'))
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LoadWindow);
}

/** What the load generator saw between two times (its one-second windows that end in between). */
export async function loadBetween(namespace: string, from: number, to: number): Promise<LoadSummary> {
  await sleep(Math.max(0, to - Date.now()) + 1100);
  const windows = (await loadWindows(namespace)).filter((w) => w.t >= from && w.t <= to + 1000);
  const summary: LoadSummary = { total: 0, failed: 0, failures: {}, byVersion: {}, windows };
  for (const w of windows) {
    summary.total += w.ok + w.failed;
    summary.failed += w.failed;
    for (const [k, v] of Object.entries({ ...w.errors, ...pick(w.codes, (code) => Number(code) >= 400) })) {
      summary.failures[k] = (summary.failures[k] ?? 0) + v;
    }
    for (const [k, v] of Object.entries(w.versions)) summary.byVersion[k] = (summary.byVersion[k] ?? 0) + v;
  }
  return summary;
}

function pick(map: Record<string, number>, keep: (key: string) => boolean): Record<string, number> {
  return Object.fromEntries(Object.entries(map).filter(([key]) => keep(key)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
