// The HyperAgent the demo applies to the quote service, and the change of proposer for its second
// cycle. Everything a user would write in YAML; the addresses of the demo's local git server and
// scripted LLM are filled in at run time.
import { API_VERSION, type HyperAgent } from '../../operator/src/api/resources.js';

export const AGENT_NAME = 'quote-latency';
export const LLM_MODEL = 'demo-model';

/**
 * What the gateway measured for the canary's backend (Traefik labels a backend's series
 * `<namespace>-<Service>-<port name>-<port>@kubernetesgateway`): every request, timed and counted
 * outside the service, so no candidate can write its own verdict. The stable rendering names the
 * stable Service; in a healing trigger {{canaryService}} names the target's Service itself.
 */
const BACKEND = 'service="{{namespace}}-{{canaryService}}-http-80@kubernetesgateway"';
const WINDOW = '30s';
const ERROR_RATIO = `(sum(rate(traefik_service_requests_total{${BACKEND}, code=~"5.."}[${WINDOW}])) or vector(0)) / sum(rate(traefik_service_requests_total{${BACKEND}}[${WINDOW}]))`;

export interface AgentAddresses {
  /** The service's git repository, over HTTP with Basic auth (Secret `git`). */
  repo: string;
  /** Prometheus as the operator reaches it. */
  prometheus: string;
}

export function quoteAgent(namespace: string, addresses: AgentAddresses): HyperAgent {
  return {
    apiVersion: API_VERSION,
    kind: 'HyperAgent',
    metadata: { name: AGENT_NAME, namespace },
    spec: {
      target: { deployment: 'quote-service', container: 'quote', service: 'quote-service' },
      source: {
        repo: addresses.repo,
        branch: 'main',
        credentialsSecret: 'git',
        paths: ['src'],
        // the benchmark's own parts: the pricing stand-in, the workload and the client that measures
        protectedPaths: [
          'test',
          'bench',
          'package.json',
          'src/pricing-server.ts',
          'src/workload.ts',
          'src/quote-client.ts',
          'src/open-loop.ts',
          'src/latency.ts',
          'src/symbols.ts',
          'src/loadgen.ts',
        ],
      },
      goal: 'reduce p99 latency of GET /quote without raising the error rate',
      // Measured by the sandbox's judge from outside the service, never by the candidate's own code.
      objectives: [{ name: 'p99-latency', workload: 'p99_ms', direction: 'Minimize' }],
      improvement: {
        interval: '24h',
        maxCandidates: 3,
        proposer: { type: 'tuner', seed: 1 },
        parameters: [
          { name: 'cache-size', env: 'QUOTE_CACHE_SIZE', type: 'integer', min: 0, max: 2000, step: 100 },
          { name: 'batch-window', env: 'QUOTE_BATCH_WINDOW_MS', type: 'integer', min: 0, max: 20, step: 1 },
          { name: 'retries', env: 'QUOTE_RETRIES', type: 'integer', min: 0, max: 3, step: 1 },
        ],
      },
      verification: {
        test: 'node --import tsx --test test/*.test.ts',
        // The judge starts the service (and the pricing stand-in, from the unchanged image), sends
        // the benchmark's seeded requests at 150/s, times them itself and compares the answers.
        workload: {
          service: {
            command: 'node --import tsx src/server.ts',
            port: 8080,
            readinessPath: '/healthz',
            env: { PORT: '8080', PRICING_URL: 'http://127.0.0.1:9090' },
          },
          dependencies: [
            {
              name: 'pricing',
              command: 'node --import tsx src/pricing-server.ts',
              port: 9090,
              readinessPath: '/healthz',
              env: { PORT: '9090' },
            },
          ],
          requestsFile: 'bench/requests.json',
          rate: 150,
          durationSeconds: 2,
          warmupSeconds: 1,
          runs: 5,
        },
      },
      sandbox: {
        timeoutSeconds: 240,
        resources: { cpu: '1', memory: '768Mi' },
        quota: { pods: 2, cpu: '2', memory: '2Gi' },
      },
      approval: 'Auto',
      rollout: {
        steps: [
          { weight: 25, pause: '30s' },
          { weight: 50, pause: '30s' },
        ],
        // the promoted revision against the one before it, for the ledger, and watched for a
        // regression all that time (short for the demo)
        afterPromotion: { window: '1m', watch: true },
        // HTTPRoute backend weights through the cluster's Gateway (examples/quote-service/deploy/route.yaml)
        trafficRouting: {
          gatewayAPI: { httpRoute: 'quote-service', header: { name: 'X-Canary', value: 'always' } },
        },
        analysis: {
          prometheus: { address: addresses.prometheus },
          interval: '10s',
          inconclusiveLimit: 6,
          metrics: [
            { name: 'error-rate', query: ERROR_RATIO, max: 0.01 },
            {
              name: 'p99-vs-stable',
              query: `histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{${BACKEND}}[${WINDOW}])))`,
              // a remedy may cost latency (a retried call and its backoff): at most 3x stable's p99
              maxRatioToStable: 3,
              // production's measure of the goal: the ledger compares it with the sandbox's prediction
              objective: 'p99-latency',
            },
            {
              name: 'traffic',
              query: `sum(rate(traefik_service_requests_total{${BACKEND}}[${WINDOW}]))`,
              min: 1,
            },
          ],
        },
      },
      // Self-healing: the error ratio the gateway sees from the quote service, above 1% for 15 s,
      // is an incident. A promotion younger than 2 minutes is reverted first; otherwise a
      // remediation cycle starts at once, and its canary must show the error ratio improved.
      healing: {
        triggers: [
          {
            name: 'error-ratio',
            query: ERROR_RATIO,
            max: 0.01,
            for: '15s',
          },
        ],
        interval: '5s',
        revertWithin: '2m',
        cooldown: '10m',
        maxPerDay: 4,
      },
    } as unknown as HyperAgent['spec'],
  };
}

/** The spec merge patch that makes the next cycle ask the (scripted) LLM for one code change. */
export function llmProposerSpec(baseURL: string): Record<string, unknown> {
  return {
    improvement: {
      maxCandidates: 1,
      proposer: { type: 'openai', model: LLM_MODEL, baseURL, apiKeySecret: { name: 'llm', key: 'apiKey' } },
    },
  };
}
