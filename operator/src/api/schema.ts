// The single source of the hyperagents.io/v1alpha1 API.
//
// `npm run generate` turns these schemas into the CRD YAML in crds/ (and the chart's copy); the
// TypeScript types below are derived from the same objects with Static<>. A unit test fails when
// the checked-in YAML drifts from what this file generates.
import { Type, type Static } from '@sinclair/typebox';
import {
  DnsLabel,
  Duration,
  MapOf,
  Quantity,
  RepoPath,
  StringEnum,
  Timestamp,
  listMap,
  minDurationRule,
} from './schema-helpers.js';

export const GROUP = 'hyperagents.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

// ---------------------------------------------------------------------------------------------
// HyperAgent spec
// ---------------------------------------------------------------------------------------------

const SecretKeyRef = Type.Object(
  {
    name: DnsLabel({ description: 'Name of a Secret in the HyperAgent namespace.' }),
    key: Type.String({ minLength: 1, maxLength: 253, description: 'Key inside the Secret.' }),
  },
  { description: 'A key in a Secret of the HyperAgent namespace.' },
);

export const Target = Type.Object(
  {
    deployment: DnsLabel({ description: 'Name of the Deployment that runs the service to improve.' }),
    container: Type.Optional(
      DnsLabel({
        description: 'Container of the Deployment that runs the service; defaults to the first container.',
      }),
    ),
    service: Type.Optional(
      DnsLabel({
        description:
          'Service that routes traffic to the Deployment; canaries join it so they receive a share of real traffic.',
      }),
    ),
  },
  { description: 'The running service this agent is responsible for.' },
);

export const Source = Type.Object(
  {
    repo: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'Git URL of the service source (https://, ssh://, git@host:path or file://).',
      'x-kubernetes-validations': [
        {
          rule: "self.matches('^(https?://|ssh://|git://|file://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)')",
          message: 'repo must be a git URL: https://, ssh://, git://, file:// or user@host:path',
        },
      ],
    }),
    branch: Type.String({
      minLength: 1,
      maxLength: 255,
      default: 'main',
      description: 'Branch that holds the deployed version; improvement branches start from it.',
    }),
    credentialsSecret: Type.Optional(
      DnsLabel({
        description:
          'Secret with git credentials (keys `username` and `password`, or `ssh-privatekey`) used to clone and push. The Secret must opt in (`kubectl hyperagent secret allow NAME --for git`: a Role that lets the operator read it, and the label `hyperagents.io/git-credentials: "true"`); otherwise the operator does not use it.',
      }),
    ),
    paths: Type.Array(RepoPath({ description: 'A file or directory the agent may change.' }), {
      minItems: 1,
      maxItems: 64,
      default: ['.'],
      description:
        'Files and directories, relative to the repository root, that candidates may change. An entry is a plain path, not a glob: it covers the file of that name or everything under the directory of that name, whole segments only (`src` covers `src/a.ts`, not `srcx/a.ts`); `.` is the whole repository.',
    }),
    protectedPaths: Type.Array(RepoPath({ description: 'A file or directory no candidate may touch.' }), {
      maxItems: 64,
      default: [],
      description:
        'Anchor: files and directories no candidate may ever change (tests, objective definitions, policy), matched as `paths` are: plain paths covering a file or a whole directory, never globs. A candidate may not create a file under an entry either. A protected file inside `paths` (a dependency stand-in, a load generator) protects the JavaScript and TypeScript modules it imports too, directly or through others (`import type` excepted), and any new file that one of those imports would load instead; tests and files outside `paths` import the code under test, so their imports stay changeable. Immutable.',
      'x-kubernetes-validations': [
        {
          rule: 'self == oldSelf',
          message: 'protectedPaths is an immutable anchor: create a new HyperAgent to change it',
        },
      ],
    }),
  },
  { description: 'Where the service source lives and which parts of it the agent may change.' },
);

/** Figures the sandbox's judge measures itself by driving the workload; objectives name them with `workload`. */
export const WORKLOAD_FIGURES = [
  'p50_ms',
  'p90_ms',
  'p99_ms',
  'mean_ms',
  'max_ms',
  'error_rate',
  'rps',
] as const;

export const Objective = Type.Object(
  {
    name: DnsLabel({ description: 'Short name of the objective, unique within the agent.' }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'PromQL query whose value the objective measures on the running service.',
      }),
    ),
    benchmark: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          "Key of a figure reported by the benchmark command in the sandbox. Self-reported: the candidate's own code produces it, so a code candidate judged only by such figures always waits for approval.",
      }),
    ),
    workload: Type.Optional(
      StringEnum(WORKLOAD_FIGURES, {
        description:
          "A figure the sandbox's judge measures itself while it drives verification.workload against the service, from outside: latency percentiles, mean and max in ms, error_rate, rps.",
      }),
    ),
    direction: StringEnum(['Minimize', 'Maximize'] as const, {
      default: 'Minimize',
      description: 'Whether a lower (Minimize) or higher (Maximize) value is better.',
    }),
    maxRegressionPercent: Type.Number({
      minimum: 0,
      maximum: 100,
      default: 0,
      description: 'How much worse, in percent, this objective may get while another one improves.',
    }),
  },
  {
    description: 'A measurable anchor of the agent.',
    'x-kubernetes-validations': [
      {
        rule: '(has(self.query) ? 1 : 0) + (has(self.benchmark) ? 1 : 0) + (has(self.workload) ? 1 : 0) == 1',
        message:
          'an objective needs exactly one of query (PromQL), benchmark (a key the benchmark command reports) or workload (a figure the judge measures)',
      },
    ],
  },
);

export const Parameter = Type.Object(
  {
    name: DnsLabel({ description: 'Name of the tunable parameter, unique within the agent.' }),
    env: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        maxLength: 253,
        description: 'Environment variable of the target container that carries the value.',
      }),
    ),
    configKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'Dotted key in the service configuration file that carries the value.',
      }),
    ),
    type: StringEnum(['integer', 'number', 'boolean', 'choice'] as const, {
      description: 'Kind of value: integer or number (with min and max), boolean, or choice (from choices).',
    }),
    min: Type.Optional(Type.Number({ description: 'Smallest value tried (integer and number).' })),
    max: Type.Optional(Type.Number({ description: 'Largest value tried (integer and number).' })),
    step: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'Smallest change worth trying (integer and number).' }),
    ),
    choices: Type.Optional(
      Type.Array(Type.String({ maxLength: 253, description: 'One allowed value.' }), {
        maxItems: 64,
        description: 'Allowed values (choice), each once.',
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  {
    description: 'A parameter the agent may tune without changing code.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.env) != has(self.configKey)',
        message: 'a parameter needs exactly one of env or configKey',
      },
      {
        rule: "!(self.type in ['integer', 'number']) || (has(self.min) && has(self.max) && self.min < self.max)",
        message: 'integer and number parameters need min and max with min < max',
      },
      {
        rule: "self.type != 'choice' || (has(self.choices) && size(self.choices) >= 2)",
        message: 'a choice parameter needs at least two choices',
      },
    ],
  },
);

/** The proposers this operator ships (engine/providers.ts builds one for each). */
export const PROPOSER_TYPES = ['tuner', 'openai'] as const;

export const Proposer = Type.Object(
  {
    type: StringEnum(PROPOSER_TYPES, {
      default: 'tuner',
      description:
        'Who proposes candidates: tuner (offline search over parameters) or openai (an LLM at any OpenAI-compatible endpoint).',
    }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Model name (openai).' })),
    baseURL: Type.Optional(
      Type.String({
        pattern: '^https?://',
        maxLength: 2048,
        description: 'Base URL of the OpenAI-compatible endpoint (openai); the public OpenAI API when unset.',
      }),
    ),
    apiKeySecret: Type.Optional({
      ...SecretKeyRef,
      description:
        'Secret key holding the API key (openai). The Secret must opt in (`kubectl hyperagent secret allow NAME --for llm`: a Role that lets the operator read it, and the label `hyperagents.io/llm-api-key: "true"`); otherwise the operator does not use it. The key never appears in logs, status or git.',
    }),
    seed: Type.Integer({
      minimum: 0,
      default: 1,
      description: 'Seed for the tuner, so a run can be repeated exactly.',
    }),
  },
  {
    default: {},
    description: 'Where candidates come from.',
    'x-kubernetes-validations': [
      {
        rule: "self.type != 'openai' || (has(self.model) && has(self.apiKeySecret))",
        message: 'the openai proposer needs model and apiKeySecret',
      },
    ],
  },
);

export const Budget = Type.Object(
  {
    maxTokens: Type.Integer({
      minimum: 0,
      default: 200000,
      description: 'Most LLM tokens (prompt and completion) one cycle may use.',
    }),
    maxCostUSD: Type.Number({
      minimum: 0,
      default: 5,
      description: 'Most money, in US dollars, one cycle may spend on the LLM.',
    }),
    maxDuration: Duration({
      default: '2h',
      description: 'Longest wall time one cycle may take from start to outcome.',
      rules: [minDurationRule('1m', 'budget.maxDuration must be at least 1m')],
    }),
  },
  { default: {}, description: 'Limits on what one cycle may spend.' },
);

export const Improvement = Type.Object(
  {
    schedule: Type.Optional(
      Type.String({
        minLength: 9,
        maxLength: 128,
        description: "Cron schedule (five fields, UTC) of improvement cycles, for example '0 3 * * *'.",
        'x-kubernetes-validations': [
          {
            rule: "self.matches('^\\\\S+(\\\\s+\\\\S+){4}$')",
            message: "schedule must be a cron expression of five fields, such as '0 3 * * *'",
          },
        ],
      }),
    ),
    interval: Type.Optional(
      Duration({
        description: 'Time between the starts of two improvement cycles, for example 6h.',
        rules: [minDurationRule('1m', 'interval must be at least 1m')],
      }),
    ),
    maxCandidates: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 4,
      description: 'Most candidates proposed and evaluated in one cycle.',
    }),
    budget: Budget,
    proposer: Proposer,
    parameters: listMap(
      Type.Array(Parameter, {
        maxItems: 32,
        default: [],
        description: 'Parameters the agent may tune (environment variables or configuration keys).',
      }),
      ['name'],
    ),
  },
  {
    description: 'When cycles run, what they may spend and where candidates come from.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.schedule) != has(self.interval)',
        message: 'set exactly one of improvement.schedule (cron) or improvement.interval (duration)',
      },
    ],
  },
);

export const Sandbox = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: "Image that evaluates candidates; the operator's sandbox image when unset.",
      }),
    ),
    sourceImage: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: "Image that contains the service source; the target container's image when unset.",
      }),
    ),
    toolchainImage: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          "Image the candidate's commands run in: the service's own toolchain (Go, Python, Java, Node …), which needs a POSIX sh and nothing of the operator's. sourceImage when unset.",
      }),
    ),
    sourcePath: Type.String({
      pattern: '^/',
      maxLength: 512,
      default: '/app',
      description: 'Absolute path of the source inside sourceImage.',
    }),
    resources: Type.Object(
      {
        cpu: Quantity({
          default: '1',
          description:
            "CPU of one sandbox pod, at least 300m: the judge requests 100m of it (and the workload's stand-ins 100m), the candidate's container is limited to the rest. The judge and the stand-ins are not CPU-limited, so their timing is never throttled.",
        }),
        memory: Quantity({
          default: '1Gi',
          description:
            "Memory limit of one sandbox pod, at least 288Mi: the judge takes 160Mi of it (and the workload's stand-ins 128Mi), the candidate's container the rest.",
        }),
      },
      { default: {}, description: 'Limits of one sandbox pod.' },
    ),
    quota: Type.Object(
      {
        pods: Type.Integer({
          minimum: 1,
          maximum: 64,
          default: 4,
          description: 'Most sandbox pods at once; further candidates wait their turn.',
        }),
        cpu: Quantity({ default: '4', description: 'Total CPU limit of all sandbox pods.' }),
        memory: Quantity({ default: '8Gi', description: 'Total memory limit of all sandbox pods.' }),
      },
      { default: {}, description: 'ResourceQuota of the sandbox namespace.' },
    ),
    timeoutSeconds: Type.Integer({
      minimum: 30,
      maximum: 86400,
      default: 900,
      description: 'Deadline of one sandbox pod (activeDeadlineSeconds).',
    }),
  },
  {
    default: {},
    description: 'Where and within which limits candidates are evaluated.',
    'x-kubernetes-validations': [
      {
        rule: "!isQuantity(self.resources.cpu) || quantity(self.resources.cpu).compareTo(quantity('300m')) >= 0",
        message:
          "sandbox.resources.cpu must be at least 300m: the judge requests 100m of each sandbox pod and the candidate's commands need the rest",
      },
      {
        rule: "!isQuantity(self.resources.memory) || quantity(self.resources.memory).compareTo(quantity('288Mi')) >= 0",
        message:
          "sandbox.resources.memory must be at least 288Mi: the judge takes 160Mi of each sandbox pod and the candidate's commands need the rest",
      },
      {
        rule: '!isQuantity(self.resources.cpu) || !isQuantity(self.quota.cpu) || quantity(self.resources.cpu).compareTo(quantity(self.quota.cpu)) <= 0',
        message: 'sandbox.resources.cpu must fit within sandbox.quota.cpu',
      },
      {
        rule: '!isQuantity(self.resources.memory) || !isQuantity(self.quota.memory) || quantity(self.resources.memory).compareTo(quantity(self.quota.memory)) <= 0',
        message: 'sandbox.resources.memory must fit within sandbox.quota.memory',
      },
    ],
  },
);

export const INVARIANTS = [
  'TestsPass',
  'TestCountStable',
  'InterfaceStable',
  'GoalImproved',
  'ResourcesWithinBounds',
  'BehaviourPreserved',
] as const;

const WorkloadProcess = {
  command: Type.String({ minLength: 1, maxLength: 4096, description: 'Shell command that starts it.' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port it serves HTTP on, on loopback.' }),
  env: MapOf('string', {
    maxLength: 4096,
    maxProperties: 64,
    default: {},
    description: 'Environment it starts with (PORT, addresses of the stand-ins …).',
  }),
};

export const WorkloadRequestSpec = Type.Object(
  {
    method: Type.String({ pattern: '^[A-Z]{1,16}$', default: 'GET', description: 'HTTP method.' }),
    path: Type.String({ pattern: '^/', maxLength: 2048, description: 'Path and query.' }),
    headers: Type.Optional(
      MapOf('string', { maxLength: 4096, maxProperties: 64, description: 'Request headers.' }),
    ),
    body: Type.Optional(Type.String({ maxLength: 65536, description: 'Request body.' })),
  },
  { description: 'One request of the workload.' },
);

export const WorkloadSpec = Type.Object(
  {
    service: Type.Object(
      {
        ...WorkloadProcess,
        readinessPath: Type.String({
          pattern: '^/',
          maxLength: 512,
          default: '/healthz',
          description: 'Path that answers 2xx once the service serves.',
        }),
      },
      { description: "How the service starts from its source tree (in the candidate's toolchain image)." },
    ),
    readySeconds: Type.Integer({
      minimum: 1,
      maximum: 600,
      default: 30,
      description: 'How long the service and its stand-ins may take to become ready.',
    }),
    dependencies: Type.Array(
      Type.Object(
        {
          name: DnsLabel({ description: 'Name of the stand-in, for messages.' }),
          ...WorkloadProcess,
          readinessPath: Type.String({
            pattern: '^/',
            maxLength: 512,
            default: '/',
            description: 'Path that answers 2xx once it serves.',
          }),
        },
        { description: 'One dependency stand-in.' },
      ),
      {
        maxItems: 4,
        default: [],
        description:
          "Stand-ins of the service's dependencies. They start from the source image (the baseline's tree), never from the candidate's, in a container of their own that candidate code cannot see or signal.",
      },
    ),
    requests: Type.Array(WorkloadRequestSpec, {
      maxItems: 1000,
      default: [],
      description: 'Requests sent in order, cycling; their answers are also compared.',
    }),
    requestsFile: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512,
        description:
          'Path in the repository of a JSON array of at most 10000 requests (method, path, headers, body), read from the unchanged tree. Put it under a protected path.',
      }),
    ),
    rate: Type.Number({
      exclusiveMinimum: 0,
      maximum: 5000,
      default: 100,
      description: 'Requests per second, open loop.',
    }),
    durationSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 600,
      default: 3,
      description: 'Length of one measured run.',
    }),
    warmupSeconds: Type.Number({
      minimum: 0,
      maximum: 600,
      default: 0.5,
      description:
        'Unmeasured load first, on each side. Every run replays the request list from its start, so a warm-up as long as one run lets a cache see every request the runs send; a shorter one leaves the first run measuring cold misses.',
    }),
    runs: Type.Integer({ minimum: 1, maximum: 10, default: 3, description: 'Measured runs of each side.' }),
    requestTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60000,
      default: 2000,
      description: 'A request slower than this counts as an error.',
    }),
    ignoreFields: Type.Array(Type.String({ minLength: 1, maxLength: 253, description: 'One field path.' }), {
      maxItems: 32,
      default: [],
      description:
        'JSON fields left out when answers are compared (timestamps, ids): dotted paths, `*` for any key or index.',
    }),
  },
  {
    description:
      "A workload the sandbox's judge drives itself, over loopback, against the service started from the unchanged tree and from the candidate's: it computes the workload figures and compares the answers (BehaviourPreserved).",
    'x-kubernetes-validations': [
      {
        rule: 'size(self.requests) > 0 || has(self.requestsFile)',
        message: 'a workload needs requests or a requestsFile',
      },
    ],
  },
);

export const Verification = Type.Object(
  {
    test: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'Shell command that runs the tests.' }),
    ),
    typecheck: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'Shell command that type-checks the source.',
      }),
    ),
    benchmark: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'Shell command that runs the benchmark and writes its figures as JSON.',
      }),
    ),
    workload: Type.Optional(WorkloadSpec),
    invariants: Type.Array(
      StringEnum(INVARIANTS, { description: 'One invariant every accepted candidate must keep.' }),
      {
        maxItems: INVARIANTS.length,
        default: [...INVARIANTS],
        description: 'Anchor: invariants checked on every candidate. Immutable.',
        'x-kubernetes-list-type': 'set',
        'x-kubernetes-validations': [
          {
            rule: 'self == oldSelf',
            message: 'invariants are immutable anchors: create a new HyperAgent to change them',
          },
          {
            rule: "'TestsPass' in self",
            message: 'invariants must include TestsPass: no candidate is ever delivered with failing tests',
          },
        ],
      },
    ),
  },
  { default: {}, description: 'How candidates are verified in the sandbox.' },
);

export const CanaryStep = Type.Object(
  {
    weight: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'Percentage of traffic the canary receives in this step.',
    }),
    pause: Duration({
      default: '1m',
      description: 'How long the step lasts while analysis runs, before the next step.',
    }),
  },
  { description: 'One step of the canary.' },
);

export const AnalysisMetric = Type.Object(
  {
    name: DnsLabel({ description: 'Name of the metric, unique within the analysis.' }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          'PromQL query returning one number; {{namespace}}, {{service}}, {{canary}}, {{stable}} and {{canaryService}} are replaced before it runs. {{canary}} and {{stable}} name the Deployments (their pods are named after them), {{service}} and {{canaryService}} the Services (a gateway labels its per-backend measurements with them); measuring the stable side, {{canary}} becomes {{stable}} and {{canaryService}} becomes {{service}}. Set query or failureRatio.',
      }),
    ),
    failureRatio: Type.Optional(
      Type.Object(
        {
          failed: Type.String({
            minLength: 1,
            maxLength: 2048,
            description:
              'Query for the cumulative count of the canary\'s failed requests: a counter summed over its series, such as the gateway\'s 5xx responses of the canary backend (sum(traefik_service_requests_total{service="{{namespace}}-{{canaryService}}-http-80@kubernetesgateway", code=~"5.."})). Same placeholders as query.',
          }),
          total: Type.String({
            minLength: 1,
            maxLength: 2048,
            description: "Query for the cumulative count of all the canary's requests, failures included.",
          }),
          confidence: Type.Number({
            minimum: 0.8,
            maximum: 0.9999,
            default: 0.99,
            description:
              'How sure the judgement must be before it fails the canary: a canary failing no more than max is rolled back by this metric with probability at most 1 − confidence, however often its counts are read.',
          }),
        },
        {
          description:
            "Judge the canary's failed share of requests sequentially, on counts read every analysis.counters.interval since its first step began, against max: it fails as soon as the counts show, at the confidence, that the share is above max, which takes a dozen requests for a canary failing half of them. At each analysis interval it is Successful while the share so far is at most max, Inconclusive while there was no traffic; a share above max that is not yet conclusive waits, and counts as Inconclusive once the step's pause has elapsed.",
        },
      ),
    ),
    min: Type.Optional(Type.Number({ description: 'The canary fails when the value is below this.' })),
    max: Type.Optional(Type.Number({ description: 'The canary fails when the value is above this.' })),
    maxRatioToStable: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description:
          'The canary fails when its value divided by the stable value (same query with {{canary}} swapped for {{stable}}) exceeds this.',
      }),
    ),
    objective: Type.Optional(
      DnsLabel({
        description:
          'Name of the objective this query measures in production (the primary one: the first measured in the sandbox). The agent compares what production shows on it, canary against stable and after promotion, with the gain the sandbox predicted (status.gain). Needs maxRatioToStable.',
      }),
    ),
  },
  {
    description: 'A Prometheus query and the threshold the canary must keep.',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.objective) || has(self.maxRatioToStable)',
        message:
          'a metric that names an objective compares the canary with the stable version: set maxRatioToStable',
      },
      {
        rule: 'has(self.min) || has(self.max) || has(self.maxRatioToStable)',
        message: 'a metric needs a threshold: set min, max or maxRatioToStable',
      },
      {
        rule: 'has(self.query) != has(self.failureRatio)',
        message: 'a metric is measured by a query or by a failureRatio: set exactly one of them',
      },
      {
        rule: '!has(self.failureRatio) || (has(self.max) && self.max > 0.0 && self.max < 1.0 && !has(self.min) && !has(self.maxRatioToStable) && !has(self.objective))',
        message:
          'a failureRatio metric is judged against max alone: set max between 0 and 1 (exclusive), without min, maxRatioToStable or objective',
      },
      {
        rule: '!(has(self.min) && has(self.max)) || self.min <= self.max',
        message: 'metric min must not be greater than max',
      },
    ],
  },
);

export const Analysis = Type.Object(
  {
    prometheus: Type.Object(
      {
        address: Type.String({
          pattern: '^https?://',
          maxLength: 2048,
          default: 'http://prometheus.monitoring.svc:9090',
          description: 'Base URL of the Prometheus HTTP API.',
        }),
      },
      { default: {}, description: 'The Prometheus server that measures the canary.' },
    ),
    interval: Duration({
      default: '30s',
      description: 'Time between two measurements of every metric.',
      rules: [minDurationRule('5s', 'analysis interval must be at least 5s')],
    }),
    failureLimit: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Failed measurements tolerated before the canary is rolled back.',
    }),
    inconclusiveLimit: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Inconclusive measurements tolerated before onNoData applies.',
    }),
    consecutiveErrorLimit: Type.Integer({
      minimum: 0,
      default: 4,
      description: 'Consecutive measurement errors tolerated before onProviderError applies.',
    }),
    minSamples: Type.Integer({
      minimum: 1,
      default: 1,
      description: 'Successful measurements each metric needs in a step before the step may pass.',
    }),
    onNoData: StringEnum(['Pause', 'Rollback'] as const, {
      default: 'Rollback',
      description: 'What happens when a query returns no data: no data never counts as success.',
    }),
    onProviderError: StringEnum(['Pause', 'Rollback'] as const, {
      default: 'Rollback',
      description:
        'What happens when Prometheus cannot be reached or errors: an error never counts as success.',
    }),
    counters: Type.Object(
      {
        interval: Duration({
          default: '1s',
          description:
            'How often the counts of failureRatio metrics are read between analysis rounds, so that a failing canary is rolled back as soon as its counts are conclusive.',
          rules: [minDurationRule('250ms', 'analysis.counters.interval must be at least 250ms')],
        }),
        url: Type.Optional(
          Type.String({
            pattern: '^https?://',
            maxLength: 2048,
            description:
              'A metrics endpoint in the Prometheus text format, such as the gateway\'s, that failureRatio counts are read from directly: its counters are as fresh as its last request, where Prometheus is a scrape behind. Its queries must then be selectors, optionally summed (sum(name{label="value"})), and it must serve every count: a gateway of several replicas is read through Prometheus instead, since each replica counts only its own requests. Without it they are read from Prometheus.',
          }),
        ),
      },
      { default: {}, description: 'Where and how often failureRatio metrics read their counts.' },
    ),
    metrics: listMap(
      Type.Array(AnalysisMetric, {
        maxItems: 16,
        default: [],
        description: 'Queries and thresholds that judge the canary.',
      }),
      ['name'],
    ),
  },
  { default: {}, description: 'How the canary is judged from Prometheus measurements.' },
);

/**
 * The traffic routers, one field each under spec.rollout.trafficRouting, holding that router's
 * settings; rollout/routers.ts registers an implementation for each.
 */
const TRAFFIC_ROUTER_FIELDS = {
  replicaRatio: Type.Optional(
    Type.Object(
      {},
      {
        description:
          "A canary Deployment beside the stable one, selected by the same Service: the canary's share of traffic is its share of ready pods, so weights are as coarse as the replica count. Needs no gateway.",
      },
    ),
  ),
  gatewayAPI: Type.Optional(
    Type.Object(
      {
        httpRoute: DnsLabel({
          description:
            "The HTTPRoute (gateway.networking.k8s.io/v1, in the agent's namespace) whose rules send traffic to spec.target.service. During a canary each such rule also sends to the canary Service `<service>-canary`, with backend weights in exact percent; the rules are put back as they were on promotion, rollback and abort.",
        }),
        header: Type.Optional(
          Type.Object(
            {
              name: Type.String({
                minLength: 1,
                maxLength: 256,
                pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$",
                description: 'HTTP header name, for example X-Canary.',
              }),
              value: Type.String({
                minLength: 1,
                maxLength: 4096,
                description: 'The value the header must have, exactly.',
              }),
            },
            {
              description:
                'A smoke test: requests carrying this header reach the canary alone, from the moment its pods are ready, before the first step sends it any weighted share, and for the whole canary.',
            },
          ),
        ),
      },
      {
        description:
          'Canary traffic through the Gateway API: a canary Service beside the stable one and HTTPRoute backend weights, so any weight holds whatever the replica counts, and the gateway measures every request from outside the service. Needs spec.target.service and a gateway that implements HTTPRoute weights.',
      },
    ),
  ),
};
const TRAFFIC_ROUTER_KINDS = Object.keys(TRAFFIC_ROUTER_FIELDS);

export const TrafficRouting = Type.Object(TRAFFIC_ROUTER_FIELDS, {
  default: { replicaRatio: {} },
  description: 'How the canary receives its share of traffic: exactly one router.',
  'x-kubernetes-validations': [
    {
      rule: `[${TRAFFIC_ROUTER_KINDS.map((kind) => `has(self.${kind})`).join(', ')}].exists_one(set, set)`,
      message: `trafficRouting names exactly one router: ${TRAFFIC_ROUTER_KINDS.join(' or ')}`,
    },
  ],
});

export const Rollout = Type.Object(
  {
    steps: Type.Array(CanaryStep, {
      minItems: 1,
      maxItems: 20,
      default: [
        { weight: 10, pause: '1m' },
        { weight: 50, pause: '1m' },
      ],
      description: 'Canary steps with rising weights; promotion follows the last step.',
      'x-kubernetes-validations': [
        {
          rule: 'self.map(s, s.weight).isSorted() && self.all(a, self.exists_one(b, b.weight == a.weight))',
          message: 'canary step weights must rise strictly from one step to the next',
        },
      ],
    }),
    trafficRouting: TrafficRouting,
    analysis: Analysis,
    afterPromotion: Type.Object(
      {
        window: Duration({
          default: '10m',
          description:
            "How long after promotion the promoted revision is measured on the analysis metric that names an objective, against the same length of time before its canary: the gain production showed, for the agent's ledger. Make it long enough for caches to fill and the new pods to warm up, or the figure understates the change.",
          rules: [minDurationRule('30s', 'afterPromotion.window must be at least 30s')],
        }),
        watch: Type.Boolean({
          default: false,
          description:
            'Keep judging the promoted revision for the window: every analysis interval, each analysis metric on the stable Deployment against its min and max, and its maxRatioToStable against what the revision before it measured over the same length of time before the canary. More failed measurements than failureLimit put the revision before it back (its pod template as it ran) and add a revert commit to the cycle branch. No new cycle starts while a watch runs.',
        }),
      },
      { default: {}, description: 'What happens once a revision is promoted.' },
    ),
    rollback: Type.Object(
      {
        automatic: Type.Boolean({
          default: true,
          description: 'Roll back as soon as analysis fails, without waiting for a human.',
        }),
        keepHistory: Type.Integer({
          minimum: 1,
          maximum: 50,
          default: 10,
          description: 'Promoted revisions kept in status.history for manual rollback.',
        }),
      },
      { default: {}, description: 'What happens when a canary fails.' },
    ),
  },
  { default: {}, description: 'How a selected candidate reaches production.' },
);

export const POD_SIGNALS = ['CrashLoop', 'OOMKilled'] as const;

export const IncidentTrigger = Type.Object(
  {
    name: DnsLabel({ description: 'Name of the trigger, unique within the agent.' }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "PromQL query returning one number about the target (an error ratio, an SLO burn rate, a latency); {{namespace}}, {{service}}, {{canary}} and {{stable}} are replaced before it runs, {{canary}} and {{stable}} both by the target Deployment's name. In a remediation cycle's canary the same query judges the canary against stable: the incident's measure must improve.",
      }),
    ),
    max: Type.Optional(Type.Number({ description: 'Unhealthy while the query is above this.' })),
    min: Type.Optional(Type.Number({ description: 'Unhealthy while the query is below this.' })),
    pods: Type.Optional(
      StringEnum(POD_SIGNALS, {
        description:
          "A signal of the target's pods instead of a query: CrashLoop (a container waiting in CrashLoopBackOff) or OOMKilled (a container whose last end was an OOM kill, in the last 10 minutes).",
      }),
    ),
    for: Duration({
      default: '1m',
      description: 'How long the condition must hold before it is an incident: one bad scrape is not one.',
    }),
  },
  {
    description: 'A condition that means the target is unhealthy.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.query) != has(self.pods)',
        message: 'a trigger is either a query (with min or max) or a pods signal, not both and not neither',
      },
      {
        rule: '!has(self.query) || has(self.min) || has(self.max)',
        message: 'a query trigger needs a threshold: set max (unhealthy above) or min (unhealthy below)',
      },
    ],
  },
);

export const Healing = Type.Object(
  {
    triggers: listMap(
      Type.Array(IncidentTrigger, {
        minItems: 1,
        maxItems: 8,
        description:
          'Conditions that mean the target is unhealthy; any one holding for its duration is an incident.',
      }),
      ['name'],
    ),
    interval: Duration({
      default: '15s',
      description: 'How often the triggers are evaluated.',
      rules: [minDurationRule('5s', 'healing.interval must be at least 5s')],
    }),
    revertWithin: Duration({
      default: '30m',
      description:
        'An incident this soon after a promotion reverts that promotion first (mitigation in seconds), before any remediation cycle.',
    }),
    cooldown: Duration({
      default: '10m',
      description: 'Time after a remediation cycle ends before another may start.',
    }),
    maxPerDay: Type.Integer({
      minimum: 0,
      maximum: 48,
      default: 4,
      description: 'Most remediation cycles started in any 24 hours; 0 never starts one (revert only).',
    }),
  },
  {
    description:
      'Self-healing: what counts as an incident, and how the agent answers one (a revert of a recent promotion, else a remediation cycle at once, outside the schedule).',
  },
);

export const HyperAgentSpec = Type.Object(
  {
    target: Target,
    source: Source,
    goal: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "What to improve, in words, for proposers (for example 'reduce p99 latency of GET /quote').",
    }),
    objectives: listMap(
      Type.Array(Objective, {
        minItems: 1,
        maxItems: 16,
        description:
          'Anchor: the measurable objectives. Immutable; candidates that change them or their files are rejected.',
        'x-kubernetes-validations': [
          {
            rule: 'self == oldSelf',
            message: 'objectives are immutable anchors: create a new HyperAgent to change them',
          },
        ],
      }),
      ['name'],
    ),
    improvement: Improvement,
    sandbox: Sandbox,
    verification: Verification,
    approval: StringEnum(['Auto', 'Always', 'AboveRisk'] as const, {
      default: 'AboveRisk',
      description:
        'When a human must approve a selected candidate: Auto (never), Always, or AboveRisk (code changes and large parameter moves).',
    }),
    rollout: Rollout,
    healing: Type.Optional(Healing),
    suspend: Type.Boolean({
      default: false,
      description: 'Stops new cycles from starting; a running cycle finishes.',
    }),
  },
  {
    description: 'What the agent improves, towards which goal, within which anchors.',
    'x-kubernetes-validations': [
      {
        rule: 'self.rollout.analysis.metrics.all(m, !has(m.objective) || self.objectives.exists(o, o.name == m.objective))',
        message: 'an analysis metric names an objective that spec.objectives does not declare',
        fieldPath: '.rollout.analysis.metrics',
      },
      {
        rule: 'self.rollout.analysis.metrics.filter(m, has(m.objective)).size() <= 1',
        message: 'at most one analysis metric may name an objective: the one production judges the goal by',
        fieldPath: '.rollout.analysis.metrics',
      },
      {
        rule: '!has(self.rollout.trafficRouting.gatewayAPI) || has(self.target.service)',
        message:
          'trafficRouting.gatewayAPI needs spec.target.service: the Service its HTTPRoute sends stable traffic to',
        fieldPath: '.target',
      },
      {
        rule: '!self.objectives.exists(o, has(o.benchmark)) || has(self.verification.benchmark)',
        message:
          'an objective with a benchmark key needs verification.benchmark, the command that reports it',
        fieldPath: '.verification',
      },
    ],
  },
);

// ---------------------------------------------------------------------------------------------
// Shared status pieces
// ---------------------------------------------------------------------------------------------

export const Condition = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      description: 'Type of the condition: Ready, Progressing, Degraded or BenchmarkPredictive.',
    }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition.' }),
    observedGeneration: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Generation of the spec this condition was computed from.' }),
    ),
    lastTransitionTime: Timestamp('When the status last changed.'),
    reason: Type.String({ maxLength: 1024, description: 'CamelCase reason for the last transition.' }),
    message: Type.String({ maxLength: 32768, description: 'Human-readable detail of the last transition.' }),
  },
  { description: 'A Kubernetes-style condition.' },
);

const Conditions = listMap(
  Type.Array(Condition, { maxItems: 8, description: 'Current state as Kubernetes conditions.' }),
  ['type'],
);

export const CYCLE_PHASES = [
  'Pending',
  'Representing',
  'Proposing',
  'Evaluating',
  'Selecting',
  'AwaitingApproval',
  'Committing',
  'Building',
  'Canary',
  'Promoted',
  'RolledBack',
  'Rejected',
  'Failed',
] as const;
export type CyclePhase = (typeof CYCLE_PHASES)[number];

// The phases in groups, beside the list they come from: code that asks "is this cycle still
// evaluating?" or "is it delivering?" uses these, never a list of its own.

/** The outcomes: nothing more happens to the cycle. */
export const TERMINAL_CYCLE_PHASES: readonly CyclePhase[] = ['Promoted', 'RolledBack', 'Rejected', 'Failed'];
/** Up to and including Evaluating: sandbox objects may exist, or be about to. */
export const EVALUATING_CYCLE_PHASES: readonly CyclePhase[] = [
  'Pending',
  'Representing',
  'Proposing',
  'Evaluating',
];
/** From the commit to the canary's end: the selected candidate is on its way to production. */
export const DELIVERING_CYCLE_PHASES: readonly CyclePhase[] = ['Committing', 'Building', 'Canary'];

// ---------------------------------------------------------------------------------------------
// HyperAgent status
// ---------------------------------------------------------------------------------------------

const ParameterValues = MapOf('string', {
  maxLength: 253,
  maxProperties: 32,
  description: 'Parameter values by parameter name, written as strings (64, 0.5, true, lru).',
});

export const HistoryEntry = Type.Object(
  {
    revision: Type.String({ maxLength: 253, description: 'Revision name, unique within the agent.' }),
    image: Type.Optional(Type.String({ maxLength: 1024, description: 'Image of the revision.' })),
    commit: Type.Optional(Type.String({ maxLength: 64, description: 'Git commit of the revision.' })),
    cycle: Type.String({ maxLength: 253, description: 'ImprovementCycle that produced the revision.' }),
    promotedAt: Timestamp('When the revision became stable.'),
    metrics: Type.Optional(
      MapOf('number', { description: 'Analysis values measured when the revision was promoted.' }),
    ),
    parameters: Type.Optional({
      ...ParameterValues,
      description: 'Parameter values the revision runs with (set as environment variables of the container).',
    }),
  },
  { description: 'A revision that was promoted.' },
);

export const GainLedger = Type.Object(
  {
    objective: Type.String({ maxLength: 63, description: 'The primary objective the gains are of.' }),
    predicted: Type.Optional(
      Type.Number({
        description: 'Improvement the sandbox measured, percent (positive = better): the score.',
      }),
    ),
    canary: Type.Optional(
      Type.Number({
        description:
          'Improvement of the canary over the stable revision during analysis, percent: the median over the measurements of the analysis metric that names the objective.',
      }),
    ),
    production: Type.Optional(
      Type.Number({
        description:
          'Improvement of the promoted revision over the one before it, percent: that metric on the stable Deployment over rollout.afterPromotion.window after promotion, against the same length of time before the canary.',
      }),
    ),
    ratio: Type.Optional(
      Type.Number({
        description:
          'Observed over predicted: production when measured, else canary. 1 means production showed what the sandbox predicted.',
      }),
    ),
    productionCheckedAt: Type.Optional(
      Timestamp('When production was measured after promotion, or found unmeasurable; absent until then.'),
    ),
    message: Type.String({
      maxLength: 1024,
      description: 'How the figures were obtained, or why one is missing.',
    }),
  },
  { description: 'What the sandbox predicted for a delivered candidate against what production showed.' },
);

export const ArchiveRecord = Type.Object(
  {
    id: Type.String({ maxLength: 320, description: 'cycle/candidate, unique within the agent.' }),
    cycle: Type.String({ maxLength: 253, description: 'ImprovementCycle that tried the candidate.' }),
    kind: StringEnum(['config', 'code'] as const, { description: 'config (parameters) or code (a patch).' }),
    summary: Type.String({ maxLength: 512, description: 'What the candidate changed.' }),
    parent: Type.Optional(
      Type.String({ maxLength: 320, description: 'Archive id it started from; absent for the baseline.' }),
    ),
    parameters: Type.Optional({
      ...ParameterValues,
      description: 'Full parameter values evaluated (config candidates).',
    }),
    score: Type.Optional(Type.Number({ description: 'Score on the goal; higher is better.' })),
    verdict: StringEnum(['Passed', 'Failed', 'Refused', 'Promoted', 'RolledBack'] as const, {
      description: 'What became of the candidate.',
    }),
    reasons: Type.Optional(
      Type.Array(Type.String({ maxLength: 512, description: 'One reason.' }), {
        maxItems: 8,
        description: 'Why it failed or was refused, shortened.',
      }),
    ),
    commit: Type.Optional(Type.String({ maxLength: 64, description: 'Git commit of the variant.' })),
    diffSha256: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the diff (code candidates).' }),
    ),
    gain: Type.Optional({
      ...GainLedger,
      description: 'Predicted against observed gain (delivered candidates).',
    }),
    evaluatedAt: Timestamp('When it was evaluated.'),
  },
  { description: 'One evaluated candidate, remembered across cycles.' },
);

export const TriggerState = Type.Object(
  {
    name: Type.String({ maxLength: 63, description: 'The trigger.' }),
    firing: Type.Boolean({ description: 'Whether its condition held at the last check.' }),
    since: Type.Optional(Timestamp('Since when it has held without a break (while firing).')),
    value: Type.Optional(Type.Number({ description: 'The value the query returned at the last check.' })),
    message: Type.String({
      maxLength: 1024,
      description: 'The figure against the threshold, or the pod signal, in words.',
    }),
  },
  { description: 'One trigger as last checked.' },
);

export const INCIDENT_ACTIONS = ['Waiting', 'Reverted', 'Remediating', 'Held'] as const;

export const HealingStatus = Type.Object(
  {
    checkedAt: Timestamp('When the triggers were last checked.'),
    triggers: Type.Array(TriggerState, { maxItems: 8, description: 'Each trigger as last checked.' }),
    incident: Type.Optional(
      Type.Object(
        {
          summary: Type.String({
            maxLength: 1024,
            description: 'The triggers that held, with their figures.',
          }),
          since: Timestamp(
            'When the first of them began to hold: the incident started then, as far as the agent can see.',
          ),
          detectedAt: Timestamp('When one had held for its duration: the incident was detected.'),
          action: StringEnum(INCIDENT_ACTIONS, {
            description:
              'Waiting (a trigger fires, not yet for its duration), Reverted (a recent promotion was taken back), Remediating (a remediation cycle runs) or Held (a limit holds the remediation back).',
          }),
          message: Type.String({ maxLength: 1024, description: 'The last decision about it, in words.' }),
          heldBy: Type.Optional(
            StringEnum(['OneAtATime', 'Cooldown', 'DailyCap'] as const, {
              description:
                'What holds the remediation back, while Held: another cycle running, the cool-down, or the daily cap.',
            }),
          ),
          revertedCycle: Type.Optional(
            Type.String({ maxLength: 253, description: 'The cycle whose promotion was reverted.' }),
          ),
          mitigatedAt: Type.Optional(Timestamp('When the revert was asked for.')),
          cycle: Type.Optional(
            Type.String({ maxLength: 253, description: 'The remediation cycle started for it.' }),
          ),
        },
        { description: 'The incident going on, if any; it ends when no trigger fires.' },
      ),
    ),
    remediations: Type.Optional(
      Type.Array(Timestamp('When a remediation cycle started.'), {
        maxItems: 48,
        description: 'Start times of the recent remediation cycles (for the daily cap), oldest first.',
      }),
    ),
    lastIncident: Type.Optional(
      Type.Object(
        {
          summary: Type.String({ maxLength: 1024, description: 'What it was.' }),
          since: Timestamp('When it began.'),
          detectedAt: Timestamp('When it was detected.'),
          mitigatedAt: Type.Optional(Timestamp('When a revert was asked for.')),
          healedAt: Timestamp('When no trigger fired any more.'),
        },
        { description: 'The last incident that ended.' },
      ),
    ),
  },
  { description: 'Self-healing: the triggers as last checked and the incident going on.' },
);

export const HyperAgentStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Generation of the spec the operator last acted on.' }),
    ),
    phase: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Idle, Suspended, or the phase of the running cycle.',
      }),
    ),
    conditions: Type.Optional(Conditions),
    activeCycle: Type.Optional(
      Type.String({ maxLength: 253, description: 'The cycle running now, if any.' }),
    ),
    lastScheduleTime: Type.Optional(Timestamp('Scheduled time of the last cycle started.')),
    nextScheduleTime: Type.Optional(Timestamp('When the next cycle is due.')),
    lastCycle: Type.Optional(
      Type.Object(
        {
          name: Type.String({ maxLength: 253, description: 'Name of the cycle.' }),
          phase: Type.String({ maxLength: 64, description: 'Final phase of the cycle.' }),
          reason: Type.Optional(Type.String({ maxLength: 1024, description: 'Why it ended so.' })),
          completionTime: Type.Optional(Timestamp('When it ended.')),
        },
        { description: 'The last cycle that finished.' },
      ),
    ),
    stableRevision: Type.Optional(
      Type.String({ maxLength: 253, description: 'Revision serving all traffic outside a canary.' }),
    ),
    canary: Type.Optional(
      Type.Object(
        {
          revision: Type.String({ maxLength: 253, description: 'Revision under test.' }),
          step: Type.Integer({ minimum: 0, description: 'Index of the current canary step.' }),
          weight: Type.Integer({
            minimum: 0,
            maximum: 100,
            description: 'Traffic share of the canary, percent.',
          }),
        },
        { description: 'The canary in progress, if any.' },
      ),
    ),
    history: Type.Optional(
      Type.Array(HistoryEntry, { maxItems: 50, description: 'Promoted revisions, newest first.' }),
    ),
    healing: Type.Optional(HealingStatus),
    archive: Type.Optional(
      Type.Array(ArchiveRecord, {
        maxItems: 256,
        description:
          'Every evaluated candidate the agent remembers (bounded): accepted variants are stepping stones for later cycles, failures keep proposers from repeating them.',
      }),
    ),
  },
  { description: 'What the operator observed and did.' },
);

// ---------------------------------------------------------------------------------------------
// ImprovementCycle
// ---------------------------------------------------------------------------------------------

export const IncidentEvidence = Type.Object(
  {
    summary: Type.String({ maxLength: 1024, description: 'The triggers that held, with their figures.' }),
    since: Timestamp('When the first of them began to hold.'),
    detectedAt: Timestamp('When the incident was detected.'),
    triggers: Type.Array(Type.String({ maxLength: 63, description: 'A trigger.' }), {
      maxItems: 8,
      description: 'The triggers that held.',
    }),
    series: Type.Array(
      Type.Object(
        {
          trigger: Type.String({ maxLength: 63, description: 'The trigger.' }),
          points: Type.Array(
            Type.Object(
              {
                time: Timestamp('When.'),
                value: Type.Number({ description: 'What the query returned.' }),
              },
              { description: 'One value.' },
            ),
            { maxItems: 60, description: 'Its values over the last minutes, oldest first.' },
          ),
        },
        { description: "A query trigger's values over time." },
      ),
      { maxItems: 8, description: 'The values of the query triggers over the minutes before detection.' },
    ),
    events: Type.Array(Type.String({ maxLength: 512, description: 'One Event, in words.' }), {
      maxItems: 20,
      description: "The target's recent Events (its Deployment and pods), Warnings first.",
    }),
    logs: Type.Array(
      Type.Object(
        {
          pod: Type.String({ maxLength: 253, description: 'The pod.' }),
          container: Type.String({ maxLength: 63, description: 'The container.' }),
          tail: Type.String({ maxLength: 8192, description: 'The last lines of its log, secrets redacted.' }),
        },
        { description: "The tail of one failing pod's log." },
      ),
      {
        maxItems: 3,
        description: "The tails of the failing pods' logs (restarted or not ready), redacted and bounded.",
      },
    ),
    lastChange: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'The last revision the agent promoted, when and with what: the first suspect.',
      }),
    ),
  },
  { description: 'What the agent saw of an incident when it started a remediation cycle for it.' },
);

export const ImprovementCycleSpec = Type.Object(
  {
    agent: DnsLabel({ description: 'Name of the HyperAgent that started the cycle.' }),
    incident: Type.Optional({
      ...IncidentEvidence,
      description:
        "A remediation cycle's incident and its evidence: the proposer is asked to remedy it, and the canary must show its measure improved.",
    }),
    slot: Timestamp('Scheduled time this cycle fills; one cycle per agent and slot.'),
    agentGeneration: Type.Integer({
      minimum: 0,
      description: 'Generation of the HyperAgent spec the cycle copied.',
    }),
    agentSpec: { ...HyperAgentSpec, description: 'Frozen copy of the HyperAgent spec the cycle runs with.' },
  },
  {
    description: 'A frozen copy of what the cycle needs, so that editing the agent cannot corrupt it.',
    'x-kubernetes-validations': [
      {
        rule: 'self == oldSelf',
        message: 'an ImprovementCycle spec is frozen: it cannot change after creation',
      },
    ],
  },
);

export const InvariantCheck = Type.Object(
  {
    name: Type.String({
      maxLength: 63,
      description:
        'What was checked: Isolation, Evaluation, or an invariant (TestsPass, TestCountStable, InterfaceStable, GoalImproved, ResourcesWithinBounds).',
    }),
    status: StringEnum(['Passed', 'Failed', 'Skipped'] as const, { description: 'How the check came out.' }),
    message: Type.String({
      maxLength: 1024,
      description: 'The figures and the reasoning behind the outcome.',
    }),
  },
  { description: 'One check of a candidate in its sandbox.' },
);

export const BaselineMeasurement = Type.Object(
  {
    sandboxPod: Type.Optional(Type.String({ maxLength: 253, description: 'Pod that measured it.' })),
    usable: Type.Boolean({
      description: 'Whether candidates could be compared with it (tests passed, figures read).',
    }),
    message: Type.String({ maxLength: 1024, description: 'What was measured, or why it is not usable.' }),
    testsPassed: Type.Optional(Type.Integer({ minimum: 0, description: 'Tests that passed.' })),
    figures: Type.Optional(
      MapOf('number', {
        maxProperties: 16,
        description: 'Median of each benchmark figure over the repeat runs.',
      }),
    ),
  },
  { description: 'The unmodified source, evaluated in the same cycle as the reference for every candidate.' },
);

export const Candidate = Type.Object(
  {
    id: Type.String({ maxLength: 63, description: 'Identifier of the candidate within the cycle.' }),
    kind: StringEnum(['config', 'code'] as const, {
      description: 'config (parameter changes) or code (a patch).',
    }),
    summary: Type.String({ maxLength: 4096, description: 'What the candidate changes, in one line.' }),
    rationale: Type.Optional(
      Type.String({ maxLength: 4096, description: 'Why the proposer expects the candidate to help.' }),
    ),
    parent: Type.Optional(
      Type.String({
        maxLength: 320,
        description: 'Archive id of the variant the candidate starts from; absent for the deployed baseline.',
      }),
    ),
    parameters: Type.Optional({
      ...ParameterValues,
      description: 'The parameters a config candidate changes, with their new values.',
    }),
    patch: Type.Optional(
      Type.Object(
        {
          configMap: DnsLabel({ description: 'ConfigMap of the cycle that holds the diff.' }),
          key: Type.String({ maxLength: 253, description: 'Key of the diff in the ConfigMap.' }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the diff text.' }),
          files: Type.Integer({ minimum: 0, description: 'Files the diff changes.' }),
          linesAdded: Type.Integer({ minimum: 0, description: 'Lines the diff adds.' }),
          linesRemoved: Type.Integer({ minimum: 0, description: 'Lines the diff removes.' }),
        },
        { description: 'Where the diff of a code candidate is kept (it is too large for status).' },
      ),
    ),
    tree: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$',
        description:
          "Git tree the candidate's diffs made of its parent's tree, once, by git: what is evaluated, committed and built.",
      }),
    ),
    sandboxPod: Type.Optional(Type.String({ maxLength: 253, description: 'Pod that evaluated it.' })),
    goal: Type.Optional(
      Type.Object(
        {
          key: Type.String({ maxLength: 253, description: 'The primary objective’s figure.' }),
          baseline: Type.Number({ description: 'Its median on the unchanged service.' }),
          candidate: Type.Number({ description: 'Its median on the candidate.' }),
          measuredBy: StringEnum(['Judge', 'SelfReported'] as const, {
            description:
              "The judge, driving the workload from outside, or the candidate's own benchmark command (self-reported: a code candidate resting on it is never approved automatically).",
          }),
        },
        { description: 'The primary objective in the sandbox: both medians, and who measured them.' },
      ),
    ),
    checks: Type.Optional(
      Type.Array(InvariantCheck, {
        maxItems: 8,
        description: 'The sandbox verdict: each invariant with pass, fail or skip and the figures behind it.',
      }),
    ),
    score: Type.Optional(Type.Number({ description: 'Score on the goal; higher is better.' })),
    verdict: Type.Optional(
      StringEnum(['Pending', 'Passed', 'Failed', 'Refused'] as const, {
        description: 'Outcome of policy and sandbox checks.',
      }),
    ),
    reasons: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096, description: 'One reason.' }), {
        maxItems: 32,
        description: 'Why the verdict is what it is, one line per invariant or policy rule.',
      }),
    ),
  },
  { description: 'A proposed change and what became of it.' },
);

export const ProposalRecord = Type.Object(
  {
    proposer: StringEnum(PROPOSER_TYPES, { description: 'Who proposed.' }),
    model: Type.Optional(Type.String({ maxLength: 253, description: 'LLM model, for openai.' })),
    parent: Type.Optional(
      Type.String({
        maxLength: 320,
        description: 'Archive id of the parent chosen; absent for the baseline.',
      }),
    ),
    parentProbability: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Probability the parent had of being chosen.' }),
    ),
    startingParameters: Type.Optional({
      ...ParameterValues,
      description:
        "Parameter values the candidates start from: the parent's, or what the Deployment ran; a config candidate's full values are these with its changes.",
    }),
    promptTokens: Type.Integer({ minimum: 0, description: 'LLM prompt tokens used.' }),
    completionTokens: Type.Integer({ minimum: 0, description: 'LLM completion tokens used.' }),
    costUSD: Type.Number({ minimum: 0, description: 'Money spent on the LLM, US dollars.' }),
    attempts: Type.Array(
      Type.Object(
        {
          outcome: StringEnum(
            [
              'ok',
              'malformed',
              'timeout',
              'rate-limited',
              'server-error',
              'refused',
              'budget',
              'error',
            ] as const,
            { description: 'How the try ended.' },
          ),
          message: Type.String({ maxLength: 1024, description: 'What happened, without credentials.' }),
          durationMs: Type.Integer({ minimum: 0, description: 'How long it took.' }),
        },
        { description: 'One request to the proposer.' },
      ),
      { maxItems: 16, description: 'Every try to get candidates, whatever its outcome.' },
    ),
  },
  { description: 'How the candidates of the cycle were obtained and what that cost.' },
);

export const CANARY_PHASES = [
  'Initializing',
  'Progressing',
  'Paused',
  'Promoting',
  'Promoted',
  'RollingBack',
  'RolledBack',
] as const;
export type CanaryPhase = (typeof CANARY_PHASES)[number];

export const ANALYSIS_RESULTS = ['Successful', 'Failed', 'Inconclusive', 'Error'] as const;

export const CanaryMeasurementRecord = Type.Object(
  {
    metric: Type.String({ maxLength: 63, description: 'Name of the analysis metric.' }),
    time: Timestamp('When the measurement was taken.'),
    step: Type.Integer({ minimum: 0, description: 'Index of the canary step it was taken in.' }),
    weight: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'Traffic share of the canary when it was taken, percent.',
    }),
    result: StringEnum(ANALYSIS_RESULTS, {
      description:
        'Successful (within the threshold), Failed (outside it), Inconclusive (no data, NaN or infinite) or Error (the query could not be run).',
    }),
    value: Type.Optional(
      Type.Number({ description: 'Value measured on the canary; absent when there was no finite value.' }),
    ),
    stableValue: Type.Optional(
      Type.Number({ description: 'Value of the same query on the stable version (maxRatioToStable).' }),
    ),
    ratio: Type.Optional(
      Type.Number({ description: 'Canary value divided by the stable value (maxRatioToStable).' }),
    ),
    threshold: Type.String({
      maxLength: 256,
      description: "The threshold it was judged against, in words (for example 'max 0.05').",
    }),
    message: Type.String({
      maxLength: 1024,
      description:
        "The figure and the threshold (for example 'error-rate 0.12 > max 0.05'), or why there was none.",
    }),
  },
  { description: 'One measurement of one metric and its judgement.' },
);

export const CounterReading = Type.Object(
  {
    metric: Type.String({ maxLength: 63, description: 'Name of the failureRatio metric.' }),
    failed: Type.Number({ minimum: 0, description: 'The failed-requests counter as read.' }),
    total: Type.Number({ minimum: 0, description: 'The all-requests counter as read.' }),
    time: Timestamp('When it was read.'),
  },
  { description: 'One reading of the counters of a failureRatio metric.' },
);

export const CanaryMetricCounts = Type.Object(
  {
    metric: Type.String({ maxLength: 63, description: 'Name of the analysis metric.' }),
    successful: Type.Integer({
      minimum: 0,
      description: 'Successful measurements in the current step (minSamples counts these).',
    }),
    failed: Type.Integer({
      minimum: 0,
      description: 'Failed measurements in the whole canary (failureLimit counts these).',
    }),
    inconclusive: Type.Integer({
      minimum: 0,
      description:
        'Inconclusive measurements (no data) since the canary started or was last resumed (inconclusiveLimit counts these).',
    }),
    errors: Type.Integer({ minimum: 0, description: 'Measurement errors in the whole canary.' }),
    consecutiveErrors: Type.Integer({
      minimum: 0,
      description: 'Measurement errors in a row (consecutiveErrorLimit counts these).',
    }),
    lastResult: Type.Optional(
      StringEnum(ANALYSIS_RESULTS, {
        description: 'Result of the latest measurement; a step passes only after a Successful one.',
      }),
    ),
    lastMessage: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Judgement of the latest measurement of the metric.' }),
    ),
  },
  { description: 'How the measurements of one metric came out so far.' },
);

export const CANARY_PAUSE_CAUSES = [
  'User',
  'NoData',
  'ProviderError',
  'AnalysisFailed',
  'WeightNotReached',
  'NoAnalysis',
] as const;

export const PROMOTION_WATCH_PHASES = ['Watching', 'Reverting', 'Passed', 'Reverted'] as const;

export const PromotionWatch = Type.Object(
  {
    phase: StringEnum(PROMOTION_WATCH_PHASES, {
      description:
        'Watching (the window runs), Reverting (a regression was found; the revision before is being put back), Passed (the window ended without one) or Reverted.',
    }),
    message: Type.String({ maxLength: 4096, description: 'Where the watch stands, in words.' }),
    until: Timestamp('When the window after promotion ends.'),
    baseline: Type.Optional(
      MapOf('number', {
        description:
          'What each maxRatioToStable metric measured on the revision before, over the window before the canary: the reference the promoted revision is held to.',
      }),
    ),
    counts: listMap(
      Type.Array(CanaryMetricCounts, { maxItems: 16, description: 'Measurement counts per metric.' }),
      ['metric'],
    ),
    lastMeasurementTime: Type.Optional(Timestamp('When the metrics were last measured.')),
    firstFailureTime: Type.Optional(Timestamp('When a measurement first failed in the window.')),
    decisionTime: Type.Optional(Timestamp('When the regression was judged: the revert was decided.')),
    previousReplicaSet: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          "The stable Deployment's ReplicaSet that ran the revision before, found when the watch began: its pod template is what a revert puts back.",
      }),
    ),
    revertedTo: Type.Optional(
      Type.String({
        maxLength: 253,
        description: 'The revision put back (unnamed: the one before the first promotion).',
      }),
    ),
    revertedTime: Type.Optional(Timestamp('When the revision before was running again, rolled out.')),
    revertCommit: Type.Optional(
      Type.String({ maxLength: 64, description: 'The revert commit on the cycle branch.' }),
    ),
  },
  { description: 'The promoted revision, watched for rollout.afterPromotion.window when watch is set.' },
);

export const CanaryStatus = Type.Object(
  {
    phase: StringEnum(CANARY_PHASES, {
      description:
        'Initializing, Progressing (through the steps), Paused (by a user or by policy), Promoting, Promoted, RollingBack or RolledBack.',
    }),
    reason: Type.String({ maxLength: 128, description: 'CamelCase reason for the phase.' }),
    message: Type.String({ maxLength: 4096, description: 'Where the canary stands, in words.' }),
    startTime: Timestamp('When the canary started.'),
    phaseStartTime: Timestamp('When the current phase began.'),
    stepIndex: Type.Integer({ minimum: 0, description: 'Index of the current step (0 is the first).' }),
    weight: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'Traffic share, percent, the canary should receive now.',
    }),
    stepStartTime: Type.Optional(
      Timestamp('When the current step began, that is when its weight was asked for.'),
    ),
    weightReachedTime: Type.Optional(
      Timestamp(
        "When the traffic router reported the step's weight in place; the step's pause and its measurements count from here.",
      ),
    ),
    lastMeasurementTime: Type.Optional(Timestamp('When the metrics were last measured.')),
    pause: Type.Optional(
      Type.Object(
        {
          cause: StringEnum(CANARY_PAUSE_CAUSES, {
            description:
              'User (kubectl hyperagent pause), NoData (onNoData), ProviderError (onProviderError), AnalysisFailed or WeightNotReached (rollback.automatic is false), or NoAnalysis (no metrics judged the canary, so a human must resume it to promote).',
          }),
          message: Type.String({
            maxLength: 1024,
            description: 'Why the canary is paused and how to go on.',
          }),
          since: Timestamp('When the pause began.'),
        },
        { description: 'Why the canary holds its weight, while it is Paused.' },
      ),
    ),
    counts: listMap(
      Type.Array(CanaryMetricCounts, { maxItems: 16, description: 'Measurement counts per metric.' }),
      ['metric'],
    ),
    counterBaselines: Type.Optional(
      Type.Array(CounterReading, {
        maxItems: 16,
        description:
          "Where each failureRatio metric's evidence starts: its counters' first reading in the canary (after a counter went down, which is a reset, zero).",
      }),
    ),
    measurements: Type.Array(CanaryMeasurementRecord, {
      maxItems: 32,
      description: 'The latest measurements, oldest first (bounded).',
    }),
    handledRequests: Type.Object(
      {
        pause: Type.Optional(
          Type.String({ maxLength: 128, description: 'Token of the last pause request seen.' }),
        ),
        resume: Type.Optional(
          Type.String({ maxLength: 128, description: 'Token of the last resume request seen.' }),
        ),
        abort: Type.Optional(
          Type.String({ maxLength: 128, description: 'Token of the last abort request seen.' }),
        ),
      },
      { description: 'User requests already acted on, so that none is carried out twice.' },
    ),
    decision: Type.Optional(
      Type.Object(
        {
          action: StringEnum(['Promote', 'Rollback'] as const, { description: 'What was decided.' }),
          reason: Type.String({ maxLength: 128, description: 'CamelCase reason for the decision.' }),
          message: Type.String({ maxLength: 4096, description: 'The figures and thresholds behind it.' }),
          time: Timestamp('When it was decided.'),
        },
        { description: 'The final decision on the canary, once made.' },
      ),
    ),
  },
  { description: 'The canary of the selected candidate: steps, measurements, judgements and decision.' },
);

export const ImprovementCycleStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'Generation last acted on.' })),
    phase: Type.Optional(StringEnum(CYCLE_PHASES, { description: 'Where the cycle is in its loop.' })),
    reason: Type.Optional(Type.String({ maxLength: 1024, description: 'CamelCase reason for the phase.' })),
    message: Type.Optional(
      Type.String({ maxLength: 32768, description: 'Human-readable detail of the phase.' }),
    ),
    startTime: Type.Optional(Timestamp('When the cycle started.')),
    phaseStartTime: Type.Optional(Timestamp('When the current phase started.')),
    completionTime: Type.Optional(Timestamp('When the cycle reached its outcome.')),
    candidates: Type.Optional(
      Type.Array(Candidate, { maxItems: 64, description: 'Candidates proposed in this cycle.' }),
    ),
    proposal: Type.Optional(ProposalRecord),
    baseCommit: Type.Optional(
      Type.String({ maxLength: 64, description: 'Commit of source.branch the cycle started from.' }),
    ),
    baseline: Type.Optional(BaselineMeasurement),
    selected: Type.Optional(Type.String({ maxLength: 63, description: 'Candidate chosen for delivery.' })),
    commit: Type.Optional(
      Type.String({ maxLength: 64, description: 'Git commit of the selected candidate.' }),
    ),
    image: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Image built for the selected candidate.' }),
    ),
    canary: Type.Optional(CanaryStatus),
    promotion: Type.Optional({
      ...HistoryEntry,
      description:
        "The revision this cycle promoted, as the agent's history keeps it; the operator adds it to the HyperAgent's status.history.",
    }),
    gain: Type.Optional({
      ...GainLedger,
      description:
        'The selected candidate: the gain the sandbox predicted against what the canary and, after promotion, production showed.',
    }),
    watch: Type.Optional(PromotionWatch),
    promotionTag: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'The tag hyperagent/<agent>/<revision> on the promoted commit, once pushed: git says what ran.',
      }),
    ),
    conditions: Type.Optional(Conditions),
  },
  { description: 'Progress and outcome of the cycle.' },
);

export type HyperAgentSpec = Static<typeof HyperAgentSpec>;
export type HyperAgentStatus = Static<typeof HyperAgentStatus>;
export type ImprovementCycleSpec = Static<typeof ImprovementCycleSpec>;
export type ImprovementCycleStatus = Static<typeof ImprovementCycleStatus>;
export type Condition = Static<typeof Condition>;
export type Candidate = Static<typeof Candidate>;
export type HistoryEntry = Static<typeof HistoryEntry>;
export type ArchiveRecord = Static<typeof ArchiveRecord>;
export type GainLedger = Static<typeof GainLedger>;
export type ProposalRecord = Static<typeof ProposalRecord>;
export type InvariantCheck = Static<typeof InvariantCheck>;
export type BaselineMeasurement = Static<typeof BaselineMeasurement>;
export type CanaryStatus = Static<typeof CanaryStatus>;
export type PromotionWatch = Static<typeof PromotionWatch>;
export type HealingStatus = Static<typeof HealingStatus>;
export type TriggerState = Static<typeof TriggerState>;
export type IncidentEvidence = Static<typeof IncidentEvidence>;
export type IncidentTrigger = Static<typeof IncidentTrigger>;
export type CanaryMeasurementRecord = Static<typeof CanaryMeasurementRecord>;
export type CanaryMetricCounts = Static<typeof CanaryMetricCounts>;
export type CounterReading = Static<typeof CounterReading>;
