// What the operator tells the sandbox's judge, and what the judge answers: version 3.
//
// A sandbox pod has two trust domains. The judge (the project's runner image, its own uid) never
// runs candidate code; the candidate container runs the candidate's commands in the service's own
// toolchain image, through the executor an init container copies in. The manifest reaches only
// the judge (`/hyperagent/input/<key>`, a volume the candidate container does not mount); the
// result leaves by the judge's own termination message (at most 4096 bytes, so it is compact),
// carrying the per-pod nonce of the manifest, while the full log goes to stdout. Both sides import
// this file, so the protocol has one definition. The judge checks the manifest with these schemas
// before doing anything; the operator checks the result, and its nonce, before trusting it.
import { Type, type Static } from '@sinclair/typebox';
import { WORKLOAD_FIGURES } from './schema.js';

export const PROTOCOL_VERSION = 3;

/** Where the pod's volumes are mounted (fixed, so manifests stay small). */
export const SANDBOX_PATHS = {
  /** ConfigMap with the manifest and the patches (read-only; the judge's only). */
  input: '/hyperagent/input',
  /**
   * emptyDir: the init container copies the source to `<workspace>/src`. The candidate container
   * mounts it read-write, the judge read-only.
   */
  workspace: '/hyperagent/workspace',
  /** emptyDir for HOME and temporary files of each container (the root filesystems are read-only). */
  scratch: '/tmp',
  /** The candidate container's scratch, mounted read-only in the judge (benchmark output files). */
  candidateScratch: '/hyperagent/candidate-tmp',
  /** emptyDir the judge writes (its socket, the parameters file) and the candidate only reads. */
  control: '/hyperagent/control',
  /** emptyDir holding the executor, copied in by an init container; read-only for the candidate. */
  tools: '/hyperagent/tools',
  /** The kubelet reads the result from here. */
  terminationLog: '/dev/termination-log',
} as const;

/** The judge listens here; the executor connects. */
export const EXECUTOR_SOCKET = `${SANDBOX_PATHS.control}/executor.sock`;
/** The executor's path in the candidate container. */
export const EXECUTOR_PATH = `${SANDBOX_PATHS.tools}/executor`;

/** Names the runner gives the commands it runs, in this order. */
export const COMMAND_NAMES = ['typecheck', 'test', 'benchmark'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

const IsolationProbe = Type.Object({
  /** What the address stands for, shown in the result: `api-server`, `cluster-dns`, `pod`, `outside`. */
  name: Type.String({ minLength: 1, maxLength: 63 }),
  /** tcp: a connection that completes is a breach. dns: any answer to a UDP query is a breach. */
  kind: Type.Union([Type.Literal('tcp'), Type.Literal('dns')]),
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /**
   * Why the operator could not turn this target into an address (a host name nobody resolves):
   * isolation from it cannot be proven, so the judge refuses to evaluate.
   */
  unresolved: Type.Optional(Type.String({ maxLength: 300 })),
});
export type IsolationProbe = Static<typeof IsolationProbe>;

/** A per-pod secret the judge echoes in its result: only a judge that read the manifest knows it. */
const Nonce = Type.String({ pattern: '^[0-9a-f]{32,64}$' });

/** Figures the judge measures itself, run by run; objectives name them with `workload`. */
export { WORKLOAD_FIGURES };
export type WorkloadFigure = (typeof WORKLOAD_FIGURES)[number];

const Environment = Type.Record(Type.String({ maxLength: 253 }), Type.String({ maxLength: 4096 }));

export const WorkloadRequest = Type.Object({
  method: Type.String({ pattern: '^[A-Z]{1,16}$' }),
  /** Path and query, sent to 127.0.0.1:<port>. */
  path: Type.String({ pattern: '^/', maxLength: 2048 }),
  headers: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 4096 }))),
  body: Type.Optional(Type.String({ maxLength: 65536 })),
});
export type WorkloadRequest = Static<typeof WorkloadRequest>;

/** A process the executor starts and the judge waits for: the service, or a dependency stand-in. */
const StartedProcess = Type.Object({
  run: Type.String({ minLength: 1, maxLength: 4096 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** HTTP path that answers 2xx once the process serves. */
  readinessPath: Type.String({ pattern: '^/', maxLength: 512 }),
  env: Environment,
});

/**
 * The judge's own measurement: it starts the service (from the unchanged tree before any
 * candidate code runs, then from the candidate's), drives the requests over loopback, and computes
 * the figures itself; dependency stand-ins run in a container of their own from the source image.
 */
export const Workload = Type.Object({
  service: StartedProcess,
  /** How long a service may take to become ready. */
  readySeconds: Type.Integer({ minimum: 1, maximum: 600 }),
  /** The environment of the unchanged side: the baseline's parameter values. */
  baselineEnv: Environment,
  /** Measure the unchanged tree too (in the baseline's own pod there is only one side). */
  measureBaseline: Type.Boolean(),
  dependencies: Type.Array(
    Type.Intersect([StartedProcess, Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) })]),
    {
      maxItems: 4,
    },
  ),
  requests: Type.Array(WorkloadRequest, { maxItems: 1000 }),
  /** A JSON array of requests in the source tree, read before the candidate's changes apply. */
  requestsFile: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  rps: Type.Number({ exclusiveMinimum: 0, maximum: 5000 }),
  durationSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 600 }),
  warmupSeconds: Type.Number({ minimum: 0, maximum: 600 }),
  runs: Type.Integer({ minimum: 1, maximum: 10 }),
  requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000 }),
  /** Compare answers request by request (status and body). */
  compareBehaviour: Type.Boolean(),
  /** JSON fields (dotted paths, `*` for any key) left out of the comparison. */
  ignoreFields: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 32 }),
});
export type Workload = Static<typeof Workload>;

/** The judge listens here for the stand-ins container's executor. */
export const STAND_INS_SOCKET = `${SANDBOX_PATHS.control}/stand-ins.sock`;

export const SandboxManifest = Type.Object({
  version: Type.Literal(PROTOCOL_VERSION),
  nonce: Nonce,
  /** How long the judge waits for the candidate container's executor to connect. */
  executorConnectSeconds: Type.Integer({ minimum: 1, maximum: 600 }),
  cycle: Type.String({ minLength: 1, maxLength: 253 }),
  /** Candidate id in the cycle, or `baseline` for the unmodified source. */
  candidate: Type.String({ minLength: 1, maxLength: 63 }),
  /**
   * Input file of the candidate's changed-files bundle: the files of the tree git made of the
   * parent's tree and the candidate's diff, as the commit and the image will hold them. Absent for
   * the baseline and config candidates. The judge writes them over the unchanged source; it never
   * applies a diff.
   */
  changes: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  /** Environment of every command: env-carried parameter values, as strings. */
  env: Type.Record(Type.String(), Type.String()),
  /**
   * Values of configKey parameters by dotted key; written as JSON to a file whose path the
   * commands find in HYPERAGENT_PARAMETERS_FILE.
   */
  config: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  commands: Type.Array(
    Type.Object({
      name: Type.Union(COMMAND_NAMES.map((name) => Type.Literal(name))),
      /** Run by `sh -c` in the source directory. */
      run: Type.String({ minLength: 1, maxLength: 4096 }),
      timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400 }),
    }),
    { maxItems: 3 },
  ),
  /** Benchmark figures to report (the objectives' keys); others are dropped to keep the result small. */
  benchmarkKeys: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 }),
  /** How many times the benchmark runs; every run's figures are reported. */
  benchmarkRuns: Type.Integer({ minimum: 1, maximum: 20 }),
  /**
   * Repository paths of OpenAPI files; when empty, the interface is the exported declarations of
   * the script files the patches touch.
   */
  interfaceFiles: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 16 }),
  workload: Type.Optional(Workload),
  isolation: Type.Object({
    probes: Type.Array(IsolationProbe, { minItems: 1, maxItems: 32 }),
    /** How long one probe may wait for an answer. */
    timeoutMs: Type.Integer({ minimum: 100, maximum: 30000 }),
    /**
     * A freshly created pod may run before the network policy reaches its node; the runner
     * probes again until isolation holds or this much time has passed, and only then refuses.
     */
    settleSeconds: Type.Integer({ minimum: 0, maximum: 300 }),
  }),
});
export type SandboxManifest = Static<typeof SandboxManifest>;

export const TEST_REPORT_FORMATS = ['tap', 'junit', 'node-spec', 'pytest', 'none'] as const;

export const CommandReport = Type.Object({
  name: Type.Union(COMMAND_NAMES.map((name) => Type.Literal(name))),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  /** Signal that ended it (SIGKILL after a timeout, say), when one did. */
  signal: Type.Optional(Type.String({ maxLength: 16 })),
  timedOut: Type.Boolean(),
  durationMs: Type.Integer({ minimum: 0 }),
  /**
   * Candidate processes still running when the command's own process ended (a detached daemon,
   * a setsid child); the executor killed them before the judge went on.
   */
  lingering: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * Set, to the limit, when the candidate ran more processes at once than the executor allows (a
   * fork bomb): the executor killed them all, whatever the node's own pid limit.
   */
  processLimit: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type CommandReport = Static<typeof CommandReport>;

/** Changed interface lines the result lists, each side; the rest are only counted. */
export const MAX_SURFACE_LINES = 5;
/** Longest interface line the result keeps. */
export const MAX_SURFACE_LINE_CHARS = 200;

/** One side of the interface comparison: a sha256 over the sorted surface lines, and their number. */
const InterfaceSurface = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  items: Type.Integer({ minimum: 0 }),
});

export const SandboxResult = Type.Object({
  version: Type.Literal(PROTOCOL_VERSION),
  /** The manifest's nonce: the operator trusts no result without it. */
  nonce: Nonce,
  candidate: Type.String({ maxLength: 63 }),
  /**
   * evaluated: every command ran (pass or fail is in the figures);
   * isolation-breached: a probe got through, nothing of the candidate ran;
   * patch-failed: the changes could not be read or written; invalid-manifest; error: the judge failed, or lost the
   * executor of the candidate container (the message says which).
   */
  outcome: Type.Union([
    Type.Literal('evaluated'),
    Type.Literal('isolation-breached'),
    Type.Literal('patch-failed'),
    Type.Literal('invalid-manifest'),
    Type.Literal('error'),
  ]),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
  /** Names of probes that reached their address (empty when isolated). */
  breached: Type.Array(Type.String({ maxLength: 63 })),
  commands: Type.Array(CommandReport),
  /** Counted from the test command's output; absent when no known reporter format was found. */
  tests: Type.Optional(
    Type.Object({
      format: Type.Union(TEST_REPORT_FORMATS.map((format) => Type.Literal(format))),
      passed: Type.Integer({ minimum: 0 }),
      failed: Type.Integer({ minimum: 0 }),
      skipped: Type.Integer({ minimum: 0 }),
    }),
  ),
  /** Every benchmark run's figures by key: `{ "p99_ms": [41.2, 40.8, 41.0] }`. */
  benchmark: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Array(Type.Number()))),
  /**
   * The interface before and after the changes: the OpenAPI operations of `interfaceFiles`, or
   * the exported declarations of the script files the changes touch (no file touched, nothing
   * compared). Absent when it could not be read; the message says why.
   */
  interface: Type.Optional(
    Type.Object({
      source: Type.Union([Type.Literal('exports'), Type.Literal('openapi')]),
      /** Files whose surface was compared. */
      files: Type.Integer({ minimum: 0 }),
      before: InterfaceSurface,
      after: InterfaceSurface,
      /** Surface lines the candidate removed, `path:name:kind:signature` or an operation; the first few. */
      removed: Type.Array(Type.String({ maxLength: MAX_SURFACE_LINE_CHARS }), {
        maxItems: MAX_SURFACE_LINES,
      }),
      /** Surface lines the candidate added; the first few. */
      added: Type.Array(Type.String({ maxLength: MAX_SURFACE_LINE_CHARS }), { maxItems: MAX_SURFACE_LINES }),
      /** Changed lines left out of `removed` and `added` to keep the result small. */
      more: Type.Integer({ minimum: 0 }),
    }),
  ),
  /**
   * What the judge measured itself: the figures of each side, run by run, and the behaviour
   * comparison. `problem` says why a side could not be measured.
   */
  workload: Type.Optional(
    Type.Object({
      baseline: Type.Optional(Type.Record(Type.String({ maxLength: 16 }), Type.Array(Type.Number()))),
      candidate: Type.Optional(Type.Record(Type.String({ maxLength: 16 }), Type.Array(Type.Number()))),
      requests: Type.Integer({ minimum: 0 }),
      behaviour: Type.Optional(
        Type.Object({
          compared: Type.Integer({ minimum: 0 }),
          differing: Type.Integer({ minimum: 0 }),
          first: Type.Optional(
            Type.Object({
              request: Type.String({ maxLength: 300 }),
              baseline: Type.String({ maxLength: 300 }),
              candidate: Type.String({ maxLength: 300 }),
            }),
          ),
        }),
      ),
      problem: Type.Optional(Type.String({ maxLength: 600 })),
    }),
  ),
  /** Peak memory of the evaluation (its cgroup's high-water mark), bytes, when readable. */
  peakMemoryBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Processes the kernel's OOM killer stopped in the evaluation's cgroup, when readable. */
  oomKills: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Time spent in the commands themselves, so overhead = pod time − this. */
  commandMs: Type.Integer({ minimum: 0 }),
  /** Time the isolation proof took. */
  isolationMs: Type.Integer({ minimum: 0 }),
});
export type SandboxResult = Static<typeof SandboxResult>;

/** The termination message limit of the kubelet. */
export const MAX_RESULT_BYTES = 4096;
