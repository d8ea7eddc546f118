// The Evaluating phase on a cluster: one sandbox pod per candidate, plus one for the unmodified
// source (the baseline every candidate is compared with), in the agent namespace's sandbox
// namespace. Each visit is idempotent: it re-asserts the isolation (namespace labels, quota, limit
// range, default-deny policies) before it starts pods, starts the pods that do not exist yet as
// far as the quota allows (the rest wait their turn), reads the finished ones, and, when all are
// done, judges every candidate against the baseline. `release` removes what a cycle left behind.
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { KubernetesObject, V1ConfigMap, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import type { Logger } from 'pino';
import type { BaselineMeasurement, Candidate, HyperAgentSpec } from '../api/schema.js';
import { readTarget } from '../kube/target.js';
import { describeError, serverSideApply, statusCodeOf, type KubeClients } from '../kube/clients.js';
import { failedOutcome, type CycleContext, type EvaluatePort, type WorkOutcome } from '../cycle/ports.js';
import { BASELINE, cycleInputsName, inputKeys } from '../kube/cycle-inputs.js';
import { ChangedFilesError, parseChangedFiles } from '../git/changed-files.js';
import { judgeBaseline, judgeCycle } from '../policy/invariants.js';
import {
  CYCLE_UID_LABEL,
  inputConfigMapName,
  sandboxInputConfigMap,
  sandboxLimitRange,
  sandboxNamespace,
  sandboxNamespaceName,
  sandboxNetworkPolicies,
  sandboxPod,
  sandboxQuota,
  splitResources,
} from './manifests.js';
import { readSandboxPod, type SandboxPodState } from './pod-outcome.js';
import { policyDrift } from './policy-guard.js';
import {
  isLoopback,
  nodeInternalAddresses,
  onePerFamily,
  probeName,
  registryTarget,
  serviceAddresses,
  serviceOf,
  urlTarget,
  type ProbeTarget,
} from './probe-targets.js';
import {
  PROTOCOL_VERSION,
  type IsolationProbe,
  type SandboxManifest,
  type SandboxResult,
} from '../api/sandbox-protocol.js';

export interface KubeSandboxOptions {
  clients: KubeClients;
  /** The evaluation runner image, used when the agent does not name one; '' = none. */
  runnerImage: string;
  /** An address outside the cluster the sandbox must not reach (host:port). */
  outsideProbe: { host: string; port: number };
  log: Logger;
  /** How long one isolation probe waits (ms). */
  probeTimeoutMs?: number;
  /** How long the runner waits for a new policy to take effect before it refuses (s). */
  settleSeconds?: number;
  /** Benchmark repetitions per candidate, for the noise estimate. */
  benchmarkRuns?: number;
  /**
   * How soon to look again while pods run. The manager's pod watch wakes the cycle as soon as a
   * pod changes; this is only the safety net for a missed event.
   */
  pollMs?: number;
  /**
   * The sandbox namespace exists already, made with its labels by whoever installed the operator
   * (the chart, when it watches one namespace and may not touch cluster-scoped objects): the
   * operator applies what lives in it, not the namespace itself.
   */
  sandboxNamespaceProvided?: boolean;
  /**
   * The node's address, for the isolation proof's kubelet probe when the operator may not list
   * nodes (namespaced RBAC); the chart passes the pod's status.hostIP.
   */
  nodeIP?: string;
}

const MANIFEST_SUFFIX = '.manifest.json';
/** The protocol's bound on isolation probes (the judge adds the pod's nameservers). */
const MAX_PROBES = 28;
const DEFAULT_POLL_MS = 30_000;
const QUOTA_RETRY_MS = 2000;

/** A candidate (or the baseline) to evaluate, with what its pod needs. */
interface Unit {
  id: string;
  files: Record<string, string>;
  manifestKey: string;
  changeKeys: string[];
}

export class KubeSandbox implements EvaluatePort {
  constructor(private readonly options: KubeSandboxOptions) {}

  async evaluate(cycle: CycleContext): Promise<WorkOutcome> {
    const spec = cycle.spec.agentSpec;
    const namespace = sandboxNamespaceName(cycle.namespace);
    const pending = (cycle.status.candidates ?? []).filter((candidate) => candidate.verdict === 'Pending');
    if (pending.length === 0) {
      return { state: 'succeeded', message: 'No candidate passed the patch policy: nothing to evaluate.' };
    }

    try {
      splitResources(spec.sandbox.resources, (spec.verification.workload?.dependencies.length ?? 0) > 0);
    } catch (error) {
      return failedOutcome('SandboxTooSmall', `${describeError(error)}: raise spec.sandbox.resources`);
    }
    const runnerImage = spec.sandbox.image ?? this.options.runnerImage;
    if (!runnerImage) {
      return failedOutcome(
        'SandboxImageUnset',
        'No evaluation runner image: set spec.sandbox.image, or the chart value sandbox.image.',
      );
    }
    const inputs = await this.readInputs(cycle);
    if ('failed' in inputs) return inputs.failed;
    const units = await this.unitsOf(cycle, pending, inputs.data);
    if ('failed' in units) return units.failed;

    const existing = await this.cyclePods(namespace, cycle.uid);
    // The policies are part of what each judge proved: checked before they are applied again,
    // which would hide a deletion, whenever an evaluation is in flight.
    const inFlight = [...existing.values()].filter((pod) => !isDone(readSandboxPod(pod, undefined)));
    if (inFlight.length > 0) {
      const drift = await this.policyDrift(namespace);
      if (drift) return this.stopOnDrift(namespace, cycle, [...existing.values()], drift);
    }
    const missing = units.units.filter((unit) => !existing.has(unit.id));
    if (missing.length > 0) {
      await this.assertIsolation(namespace, spec.sandbox, cycle.namespace);
      const configMap = await this.ensureInputConfigMap(namespace, cycle, units.units);
      const sourceImage = await this.sourceImageOf(cycle);
      if ('failed' in sourceImage) return sourceImage.failed;
      // The candidate's commands run in the service's own toolchain, which the source image is
      // unless the agent names another.
      const toolchainImage = spec.sandbox.toolchainImage ?? sourceImage.image;
      let free = await this.freePodSlots(namespace, spec.sandbox.quota.pods);
      for (const unit of missing) {
        if (free <= 0) break;
        const pod = sandboxPod({
          namespace,
          configMap,
          cycle: { namespace: cycle.namespace, name: cycle.name, uid: cycle.uid },
          candidate: unit.id,
          manifestKey: unit.manifestKey,
          changeKeys: unit.changeKeys,
          sandbox: spec.sandbox,
          image: runnerImage,
          sourceImage: sourceImage.image,
          toolchainImage,
          standIns: (spec.verification.workload?.dependencies.length ?? 0) > 0,
        });
        const created = await this.createPod(pod);
        if (!created) break;
        existing.set(unit.id, created);
        free -= 1;
      }
    }

    const nonces = await this.storedNonces(namespace, cycle);
    const states = new Map<string, { pod: V1Pod; state: SandboxPodState }>();
    for (const [id, pod] of existing) states.set(id, { pod, state: readSandboxPod(pod, nonces.get(id)) });
    const done = units.units.filter((unit) => isDone(states.get(unit.id)?.state));
    if (done.length < units.units.length) {
      const running = [...states.values()].filter((entry) => !isDone(entry.state)).length;
      const waiting = units.units.length - done.length - running;
      return {
        state: 'running',
        message: `Evaluating in ${namespace}: ${done.length} of ${units.units.length} sandboxes done, ${running} running${waiting > 0 ? `, ${waiting} waiting for quota` : ''}`,
        // A pod ending wakes the cycle through the watch, but the quota's usage is recounted a
        // little later: candidates waiting for quota look again soon.
        retryAfterMs: waiting > 0 ? QUOTA_RETRY_MS : (this.options.pollMs ?? DEFAULT_POLL_MS),
      };
    }
    return this.judge(cycle, states);
  }

  /** How the namespace's NetworkPolicies differ from the sandbox's default-deny ones, if they do. */
  private async policyDrift(namespace: string): Promise<string | undefined> {
    const list = await this.options.clients.objects.list<V1NetworkPolicy>(
      'networking.k8s.io/v1',
      'NetworkPolicy',
      namespace,
    );
    return policyDrift(sandboxNetworkPolicies(namespace), list.items);
  }

  /** Stops every pod of the cycle at once and fails the evaluation: its isolation proof is void. */
  private async stopOnDrift(
    namespace: string,
    cycle: CycleContext,
    pods: V1Pod[],
    drift: string,
  ): Promise<WorkOutcome> {
    for (const pod of pods) {
      await this.options.clients.core
        .deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 })
        .catch((error: unknown) => {
          if (statusCodeOf(error) !== 404) throw error;
        });
    }
    this.options.log.warn({ cycle: cycle.name, namespace, drift }, 'sandbox policies changed mid-evaluation');
    return failedOutcome(
      'SandboxPolicyChanged',
      `${drift} in ${namespace} while candidates were evaluated: the isolation every judge proved no longer holds, so the sandbox pods were stopped and no candidate of this cycle is trusted`,
    );
  }

  /** Deletes the cycle's sandbox inputs; the garbage collector removes its pods with them. */
  async release(cycle: Pick<CycleContext, 'namespace' | 'uid'>): Promise<void> {
    const namespace = sandboxNamespaceName(cycle.namespace);
    const core = this.options.clients.core;
    const list = await core
      .listNamespacedConfigMap({ namespace, labelSelector: `${CYCLE_UID_LABEL}=${cycle.uid}` })
      .catch((error: unknown) => {
        if (statusCodeOf(error) === 404) return { items: [] };
        throw error;
      });
    for (const configMap of list.items) {
      await core
        .deleteNamespacedConfigMap({
          name: configMap.metadata!.name!,
          namespace,
          propagationPolicy: 'Background',
        })
        .catch((error: unknown) => {
          if (statusCodeOf(error) !== 404) throw error;
        });
    }
  }

  private judge(
    cycle: CycleContext,
    states: Map<string, { pod: V1Pod; state: SandboxPodState }>,
  ): WorkOutcome {
    const spec = cycle.spec.agentSpec;
    const results = new Map<string, SandboxResult | { failure: string }>();
    for (const [id, { state }] of states) {
      if (id === BASELINE) continue;
      results.set(id, state.state === 'finished' ? state.result : { failure: failureText(state) });
    }
    const baselineState = states.get(BASELINE)?.state;
    const baselineResult = baselineState?.state === 'finished' ? baselineState.result : undefined;
    // What the candidate's commands may use: the pod's memory minus the judge's share.
    const memoryLimitBytes = Number(
      quantityToScalar(splitResources(spec.sandbox.resources).candidate.memory),
    );
    const verdicts = judgeCycle({
      spec,
      ...(cycle.spec.incident ? { remedy: true } : {}),
      ...(baselineState ? { baseline: baselineResult ?? { failure: failureText(baselineState) } } : {}),
      candidates: results,
      memoryLimitBytes,
    });
    const candidates: Candidate[] = (cycle.status.candidates ?? []).map((candidate) => {
      const verdict = verdicts.get(candidate.id);
      if (!verdict) return candidate;
      const { score: _previous, ...rest } = candidate;
      return {
        ...rest,
        sandboxPod: states.get(candidate.id)?.pod.metadata?.name,
        verdict: verdict.passed ? 'Passed' : 'Failed',
        ...(verdict.goal
          ? {
              goal: {
                ...verdict.goal,
                baseline: round(verdict.goal.baseline),
                candidate: round(verdict.goal.candidate),
              },
            }
          : {}),
        ...(verdict.score !== undefined && Number.isFinite(verdict.score)
          ? { score: round(verdict.score) }
          : {}),
        reasons: verdict.reasons.slice(0, 32).map((reason) => reason.slice(0, 4096)),
        checks: verdict.checks
          .slice(0, 8)
          .map((check) => ({ ...check, message: check.message.slice(0, 1024) })),
      };
    });
    const passed = candidates.filter((candidate) => candidate.verdict === 'Passed').length;
    const evaluated = verdicts.size;
    return {
      state: 'succeeded',
      message: `Evaluated ${evaluated} candidates against the baseline: ${passed} passed, ${evaluated - passed} failed`,
      status: { candidates, baseline: baselineOf(spec, states.get(BASELINE), baselineResult) },
    };
  }

  private async readInputs(
    cycle: CycleContext,
  ): Promise<{ data: Record<string, string> } | { failed: WorkOutcome }> {
    try {
      const configMap = await this.options.clients.core.readNamespacedConfigMap({
        name: cycleInputsName(cycle.name),
        namespace: cycle.namespace,
      });
      return { data: configMap.data ?? {} };
    } catch (error) {
      return {
        failed: failedOutcome(
          'InputsMissing',
          `cannot read the cycle's inputs ConfigMap ${cycle.namespace}/${cycleInputsName(cycle.name)}: ${describeError(error)}`,
        ),
      };
    }
  }

  /** The baseline and every pending candidate, each with its manifest and patches. */
  private async unitsOf(
    cycle: CycleContext,
    pending: readonly Candidate[],
    data: Record<string, string>,
  ): Promise<{ units: Unit[] } | { failed: WorkOutcome }> {
    const probes = await this.probes(cycle.spec.agentSpec);
    const units: Unit[] = [];
    for (const id of [BASELINE, ...pending.map((candidate) => candidate.id)]) {
      const candidate = pending.find((item) => item.id === id);
      // The candidate's tree as git made it once (the propose step): its changed files go to the
      // judge, which writes them over the unchanged source. No diff is applied in the sandbox, so
      // what is evaluated is byte for byte the tree the commit and the image hold.
      const changes: Record<string, string> = {};
      if (candidate) {
        const bundle = data[inputKeys.files(id)];
        const needsTree = candidate.kind === 'code' || data[inputKeys.parentDiff(id)] !== undefined;
        const problem =
          bundle === undefined
            ? needsTree
              ? 'its changed files are missing from the cycle inputs'
              : undefined
            : bundleProblem(bundle, candidate.tree, cycle.status.baseCommit);
        if (problem) {
          return {
            failed: failedOutcome(
              'InputsTampered',
              `candidate ${id}: ${problem}; nothing of this cycle is evaluated`,
            ),
          };
        }
        if (bundle !== undefined) changes[`${id}.files.json`] = bundle;
      }
      const baselineValues = JSON.parse(data[inputKeys.parameters(BASELINE)] ?? '{}') as Record<
        string,
        string | number | boolean
      >;
      const values = JSON.parse(data[inputKeys.parameters(id)] ?? '{}') as Record<
        string,
        string | number | boolean
      >;
      const manifest = manifestFor(
        cycle,
        id,
        values,
        baselineValues,
        Object.keys(changes)[0],
        probes,
        this.options,
      );
      const manifestKey = `${id}${MANIFEST_SUFFIX}`;
      units.push({
        id,
        manifestKey,
        changeKeys: Object.keys(changes),
        files: { [manifestKey]: `${JSON.stringify(manifest)}\n`, ...changes },
      });
    }
    return { units };
  }

  /**
   * The nonce each candidate's judge must echo, from the input ConfigMap the pods read (created
   * once per cycle, so later visits see the nonces the pods got). Empty when it is gone.
   */
  private async storedNonces(namespace: string, cycle: CycleContext): Promise<Map<string, string>> {
    const nonces = new Map<string, string>();
    const stored = await this.options.clients.core
      .readNamespacedConfigMap({
        name: inputConfigMapName({ namespace: cycle.namespace, name: cycle.name, uid: cycle.uid }),
        namespace,
      })
      .catch((error: unknown) => {
        if (statusCodeOf(error) === 404) return undefined;
        throw error;
      });
    for (const [key, text] of Object.entries(stored?.data ?? {})) {
      if (!key.endsWith(MANIFEST_SUFFIX)) continue;
      try {
        const manifest = JSON.parse(text) as Partial<SandboxManifest>;
        if (typeof manifest.nonce === 'string')
          nonces.set(key.slice(0, -MANIFEST_SUFFIX.length), manifest.nonce);
      } catch {
        // Not a manifest of ours: its pod's result then fails the nonce check.
      }
    }
    return nonces;
  }

  /** Addresses the runner must fail to reach: the API server, cluster DNS, a pod, the outside. */
  private async probes(spec: HyperAgentSpec): Promise<IsolationProbe[]> {
    const core = this.options.clients.core;
    const probes: IsolationProbe[] = [];
    const api = await core
      .readNamespacedService({ name: 'kubernetes', namespace: 'default' })
      .catch(() => undefined);
    const apiPort = api?.spec?.ports?.find((port) => port.name === 'https')?.port ?? 443;
    // Every family the cluster gives an address in (a dual-stack cluster: IPv4 and IPv6).
    for (const host of serviceAddresses(api?.spec))
      probes.push({ name: probeName('api-server', host), kind: 'tcp', host, port: apiPort });
    const dns = await core
      .readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' })
      .catch(() => undefined);
    for (const host of serviceAddresses(dns?.spec))
      probes.push({ name: probeName('cluster-dns', host), kind: 'dns', host, port: 53 });
    // Another pod: a DNS server pod, which every cluster runs and which answers on TCP 53.
    const dnsPods = await core
      .listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })
      .catch(() => ({ items: [] as V1Pod[] }));
    const dnsPod = dnsPods.items.find((pod) => pod.status?.podIP && pod.status.phase === 'Running');
    const podIPs = dnsPod?.status?.podIPs?.map((each) => each.ip) ?? [dnsPod?.status?.podIP ?? ''];
    for (const host of onePerFamily(podIPs.filter((ip) => ip !== '')))
      probes.push({ name: probeName('pod', host), kind: 'tcp', host, port: 53 });
    probes.push({ name: 'outside', kind: 'tcp', ...this.options.outsideProbe });
    probes.push(...(await this.nodeProbes()), ...(await this.agentProbes(spec)));
    return probes.slice(0, MAX_PROBES);
  }

  /** The nodes' own addresses (kubelet and API server ports) and the API server's real endpoint. */
  private async nodeProbes(): Promise<IsolationProbe[]> {
    const probes: IsolationProbe[] = [];
    const nodes = await this.nodeAddresses();
    const ordinals = new Map<string, number>();
    for (const node of nodes) {
      // node-kubelet, node-kubelet-ipv6, node-kubelet-2, …: one per node and family
      const base = probeName('node-kubelet', node.ip);
      const ordinal = (ordinals.get(base) ?? 0) + 1;
      ordinals.set(base, ordinal);
      const name = ordinal === 1 ? base : `${base}-${ordinal}`;
      probes.push({ name, kind: 'tcp', host: node.ip, port: node.kubeletPort });
    }
    const endpoints = await this.options.clients.core
      .readNamespacedEndpoints({ name: 'kubernetes', namespace: 'default' })
      .catch(() => undefined);
    const subset = endpoints?.subsets?.[0];
    const port = subset?.ports?.find((each) => each.name === 'https')?.port ?? subset?.ports?.[0]?.port;
    for (const host of onePerFamily((subset?.addresses ?? []).map((each) => each.ip)))
      if (port) probes.push({ name: probeName('api-server-endpoint', host), kind: 'tcp', host, port });
    return probes;
  }

  /**
   * Up to two nodes' internal addresses (one per family), with their kubelet ports; the
   * operator's own node (`nodeIP`, kubelet's default port) when it may not list nodes.
   */
  private async nodeAddresses(): Promise<{ ip: string; kubeletPort: number }[]> {
    const nodes = await this.options.clients.core.listNode({ limit: 2 }).catch(() => ({ items: [] }));
    const listed = nodes.items.flatMap((node) => {
      const kubeletPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
      return nodeInternalAddresses(node.status?.addresses).map((ip) => ({ ip, kubeletPort }));
    });
    const own = this.options.nodeIP;
    return listed.length > 0 || !own ? listed : [{ ip: own, kubeletPort: 10250 }];
  }

  /**
   * The agent's own endpoints: its git host, its Prometheus and the registries of its images. A
   * host nobody resolves becomes an `unresolved` probe, which fails the proof: a target is never
   * silently dropped.
   */
  private async agentProbes(spec: HyperAgentSpec): Promise<IsolationProbe[]> {
    const images = [
      spec.sandbox.image ?? this.options.runnerImage,
      spec.sandbox.sourceImage,
      spec.sandbox.toolchainImage,
    ];
    const targets = [
      urlTarget('git-host', spec.source.repo),
      spec.rollout.analysis.prometheus?.address
        ? urlTarget('prometheus', spec.rollout.analysis.prometheus.address)
        : undefined,
      ...images.map((image) => (image ? registryTarget('registry', image) : undefined)),
    ].filter((target): target is ProbeTarget => target !== undefined);
    const seen = new Set<string>();
    const probes: IsolationProbe[] = [];
    for (const target of targets) {
      for (const host of await this.addressesOf(target.host)) {
        const key = `${host.address ?? target.host}:${target.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        probes.push(
          host.address
            ? {
                name: probeName(target.name, host.address),
                kind: 'tcp',
                host: host.address,
                port: target.port,
              }
            : {
                name: target.name,
                kind: 'tcp',
                host: target.host.slice(0, 253),
                port: target.port,
                unresolved: host.problem,
              },
        );
      }
    }
    return probes;
  }

  /** Where a host is, seen from a pod: the nodes for loopback, a Service's cluster IP, or DNS. */
  private async addressesOf(host: string): Promise<{ address?: string; problem?: string }[]> {
    if (isIP(host)) return [{ address: host }];
    if (isLoopback(host)) {
      const nodes = await this.nodeAddresses();
      return nodes.length > 0
        ? nodes.map((node) => ({ address: node.ip }))
        : [{ problem: `no node address for ${host}` }];
    }
    const service = serviceOf(host);
    if (service) {
      const found = await this.options.clients.core.readNamespacedService(service).catch(() => undefined);
      const addresses = serviceAddresses(found?.spec);
      if (addresses.length > 0) return addresses.map((address) => ({ address }));
    }
    try {
      const found = await lookup(host, { all: true });
      return onePerFamily(found.map((each) => each.address)).map((address) => ({ address }));
    } catch (error) {
      return [
        { problem: `${host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})` },
      ];
    }
  }

  private async cyclePods(namespace: string, uid: string): Promise<Map<string, V1Pod>> {
    const list = await this.options.clients.core
      .listNamespacedPod({ namespace, labelSelector: `${CYCLE_UID_LABEL}=${uid}` })
      .catch((error: unknown) => {
        if (statusCodeOf(error) === 404) return { items: [] as V1Pod[] };
        throw error;
      });
    const pods = new Map<string, V1Pod>();
    for (const pod of list.items) {
      const id = pod.metadata?.labels?.['hyperagents.io/candidate'];
      if (id && !pod.metadata?.deletionTimestamp) pods.set(id, pod);
    }
    return pods;
  }

  /** Applies the namespace, its quota, limit range and default-deny policies (server-side apply). */
  private async assertIsolation(
    namespace: string,
    sandbox: HyperAgentSpec['sandbox'],
    agentNamespace: string,
  ) {
    const objects: KubernetesObject[] = [
      ...(this.options.sandboxNamespaceProvided ? [] : [sandboxNamespace(agentNamespace)]),
      ...sandboxNetworkPolicies(namespace),
      sandboxQuota(namespace, sandbox),
      sandboxLimitRange(namespace, sandbox),
    ];
    for (const object of objects) {
      await serverSideApply(this.options.clients.objects, object);
    }
  }

  private async ensureInputConfigMap(
    namespace: string,
    cycle: CycleContext,
    units: Unit[],
  ): Promise<V1ConfigMap> {
    const files = Object.assign({}, ...units.map((unit) => unit.files)) as Record<string, string>;
    const body = sandboxInputConfigMap({
      namespace,
      cycle: { namespace: cycle.namespace, name: cycle.name, uid: cycle.uid },
      agent: cycle.spec.agent,
      files,
    });
    const core = this.options.clients.core;
    try {
      return await core.createNamespacedConfigMap({ namespace, body });
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
      return core.readNamespacedConfigMap({ name: body.metadata!.name!, namespace });
    }
  }

  private async sourceImageOf(cycle: CycleContext): Promise<{ image: string } | { failed: WorkOutcome }> {
    const spec = cycle.spec.agentSpec;
    if (spec.sandbox.sourceImage) return { image: spec.sandbox.sourceImage };
    const target = await readTarget(this.options.clients.apps, cycle.namespace, spec.target);
    return 'failed' in target ? target : { image: target.image };
  }

  /** Pods the quota still allows: its limit minus the namespace's pods that have not ended. */
  private async freePodSlots(namespace: string, quotaPods: number): Promise<number> {
    const list = await this.options.clients.core.listNamespacedPod({ namespace });
    const active = list.items.filter(
      (pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed',
    ).length;
    return quotaPods - active;
  }

  /** Creates a pod; undefined when the quota refused it (it waits for the next visit). */
  private async createPod(pod: V1Pod): Promise<V1Pod | undefined> {
    try {
      return await this.options.clients.core.createNamespacedPod({
        namespace: pod.metadata!.namespace!,
        body: pod,
      });
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 409) {
        return this.options.clients.core.readNamespacedPod({
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
        });
      }
      if (code === 403 && /exceeded quota/i.test(describeError(error))) {
        this.options.log.debug({ pod: pod.metadata?.name }, 'sandbox quota full; the candidate waits');
        return undefined;
      }
      throw error;
    }
  }
}

/** Parameter values split as the sandbox passes them: env-carried, and configKey-carried. */
function parameterSettings(
  spec: HyperAgentSpec,
  values: Record<string, string | number | boolean>,
): { env: Record<string, string>; config: Record<string, string | number | boolean> } {
  const env: Record<string, string> = {};
  const config: Record<string, string | number | boolean> = {};
  for (const parameter of spec.improvement.parameters) {
    const value = values[parameter.name];
    if (value === undefined) continue;
    if (parameter.env) env[parameter.env] = String(value);
    else if (parameter.configKey) config[parameter.configKey] = value;
  }
  return { env, config };
}

/** The judge's workload of the agent, for one pod; undefined when the agent declares none. */
function workloadFor(
  spec: HyperAgentSpec,
  id: string,
  baselineValues: Record<string, string | number | boolean>,
): SandboxManifest['workload'] {
  const declared = spec.verification.workload;
  if (!declared) return undefined;
  const baseline = parameterSettings(spec, baselineValues);
  return {
    service: {
      run: declared.service.command,
      port: declared.service.port,
      readinessPath: declared.service.readinessPath,
      env: declared.service.env,
    },
    readySeconds: declared.readySeconds,
    baselineEnv: baseline.env,
    // In the baseline's own pod there is one side: the unchanged tree with the baseline's values.
    measureBaseline: id !== BASELINE,
    dependencies: declared.dependencies.map((dependency) => ({
      name: dependency.name,
      run: dependency.command,
      port: dependency.port,
      readinessPath: dependency.readinessPath,
      env: dependency.env,
    })),
    requests: declared.requests,
    ...(declared.requestsFile ? { requestsFile: declared.requestsFile } : {}),
    rps: declared.rate,
    durationSeconds: declared.durationSeconds,
    warmupSeconds: declared.warmupSeconds,
    runs: declared.runs,
    requestTimeoutMs: declared.requestTimeoutMs,
    compareBehaviour: spec.verification.invariants.includes('BehaviourPreserved'),
    ignoreFields: declared.ignoreFields,
  };
}

function manifestFor(
  cycle: CycleContext,
  id: string,
  values: Record<string, string | number | boolean>,
  baselineValues: Record<string, string | number | boolean>,
  changes: string | undefined,
  probes: IsolationProbe[],
  options: KubeSandboxOptions,
): SandboxManifest {
  const spec = cycle.spec.agentSpec;
  const { env, config } = parameterSettings(spec, values);
  const workload = workloadFor(spec, id, baselineValues);
  // Each command may use most of the pod's deadline; the deadline bounds them all together.
  const timeoutSeconds = Math.max(5, spec.sandbox.timeoutSeconds - 10);
  const verification = spec.verification;
  const commands: SandboxManifest['commands'] = [];
  if (verification.typecheck)
    commands.push({ name: 'typecheck', run: verification.typecheck, timeoutSeconds });
  if (verification.test) commands.push({ name: 'test', run: verification.test, timeoutSeconds });
  if (verification.benchmark)
    commands.push({ name: 'benchmark', run: verification.benchmark, timeoutSeconds });
  return {
    version: PROTOCOL_VERSION,
    // Fresh for every manifest: only this pod's judge reads it, so only it can echo it.
    nonce: randomBytes(16).toString('hex'),
    // The candidate container starts beside the judge; its image may still be pulled.
    executorConnectSeconds: Math.min(600, Math.max(30, Math.floor(spec.sandbox.timeoutSeconds / 2))),
    cycle: cycle.name,
    candidate: id,
    ...(changes ? { changes } : {}),
    env,
    config,
    commands,
    benchmarkKeys: spec.objectives.flatMap((objective) => (objective.benchmark ? [objective.benchmark] : [])),
    benchmarkRuns: options.benchmarkRuns ?? 5,
    interfaceFiles: [],
    ...(workload ? { workload } : {}),
    isolation: {
      probes,
      timeoutMs: options.probeTimeoutMs ?? 1000,
      settleSeconds: options.settleSeconds ?? 20,
    },
  };
}

/** Why a bundle cannot be evaluated (malformed, or not the tree recorded in status); undefined when it can. */
function bundleProblem(text: string, tree: string | undefined, base: string | undefined): string | undefined {
  try {
    // Status is what the operator trusts: the ConfigMap could have been edited since.
    parseChangedFiles(text, { ...(tree ? { tree } : {}), ...(base ? { base } : {}) });
    return undefined;
  } catch (error) {
    if (error instanceof ChangedFilesError) return `its changed files are unusable (${error.message})`;
    throw error;
  }
}

function isDone(state: SandboxPodState | undefined): boolean {
  return state?.state === 'finished' || state?.state === 'failed';
}

function failureText(state: SandboxPodState): string {
  if (state.state === 'failed') return `${state.reason}: ${state.message}`;
  return 'the sandbox pod ended without a result';
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function baselineOf(
  spec: HyperAgentSpec,
  entry: { pod: V1Pod; state: SandboxPodState } | undefined,
  result: SandboxResult | undefined,
): BaselineMeasurement {
  const sandboxPod = entry?.pod.metadata?.name;
  const judged = result
    ? judgeBaseline(result, spec)
    : { usable: false, reason: entry ? failureText(entry.state) : 'never evaluated' };
  const figures: Record<string, number> = {};
  // The baseline pod's own side of the judge's measurement, then the benchmark's figures.
  for (const [key, runs] of [
    ...Object.entries(result?.workload?.candidate ?? {}),
    ...Object.entries(result?.benchmark ?? {}),
  ]) {
    const sorted = [...runs].sort((a, b) => a - b);
    if (sorted.length > 0) figures[key] = round(sorted[Math.floor((sorted.length - 1) / 2)]!);
  }
  return {
    ...(sandboxPod ? { sandboxPod } : {}),
    usable: judged.usable,
    message: (judged.usable
      ? `tests ${result?.tests ? `${result.tests.passed} passed` : 'passed'}; ${
          Object.entries(figures)
            .map(([key, value]) => `${key} ${value}`)
            .join(', ') || 'no benchmark figures'
        }`
      : (judged.reason ?? 'the unmodified source could not be measured')
    ).slice(0, 1024),
    ...(result?.tests ? { testsPassed: result.tests.passed } : {}),
    ...(Object.keys(figures).length > 0 ? { figures } : {}),
  };
}
