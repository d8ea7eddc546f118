import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap, V1Container, V1Pod } from '@kubernetes/client-node';
import {
  AGENT_LABEL,
  AGENT_NAMESPACE_LABEL,
  CANDIDATE_LABEL,
  CYCLE_LABEL,
  CYCLE_UID_LABEL,
  CANDIDATE_CONTAINER,
  EXECUTOR_CONTAINER,
  EXECUTOR_IN_IMAGE,
  JUDGE_CONTAINER,
  JUDGE_UID,
  SANDBOX_FOR_LABEL,
  SANDBOX_UID,
  STAND_INS_CONTAINER,
  STAND_INS_UID,
  splitResources,
  SOURCE_CONTAINER,
  SOURCE_DIR,
  dnsLabel,
  labelValue,
  sandboxInputConfigMap,
  sandboxLimitRange,
  sandboxNamespace,
  sandboxNamespaceName,
  sandboxNetworkPolicies,
  sandboxPod,
  sandboxPodName,
  sandboxQuota,
  type CycleRef,
  type SandboxPodInput,
  type SandboxSpec,
} from './manifests.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../api/resources.js';
import { SANDBOX_PATHS } from '../api/sandbox-protocol.js';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const sandbox: SandboxSpec = {
  sourcePath: '/app',
  resources: { cpu: '500m', memory: '768Mi' },
  quota: { pods: 3, cpu: '2', memory: '4Gi' },
  timeoutSeconds: 600,
};

const cycle: CycleRef = {
  namespace: 'shop',
  name: 'checkout-29448000',
  uid: '3f2a9c1e-5b7d-4e0a-9c1f-2d3e4f5a6b7c',
};

const sandboxNs = sandboxNamespaceName('shop');

/** The ConfigMap as the API server returns it: with a uid. */
function storedConfigMap(files: Record<string, string> = defaultFiles): V1ConfigMap {
  const configMap = sandboxInputConfigMap({ namespace: sandboxNs, cycle, agent: 'checkout', files });
  return { ...configMap, metadata: { ...configMap.metadata, uid: 'b1c2d3e4-0000-4000-8000-000000000001' } };
}

const defaultFiles = {
  'c1.manifest.json': '{"version":1}',
  'c2.manifest.json': '{"version":1}',
  'c1.patch': 'diff --git a/x b/x\n',
  'c2.patch': 'diff --git a/y b/y\n',
  'variant-7.patch': 'diff --git a/z b/z\n',
};

function podInput(overrides: Partial<SandboxPodInput> = {}): SandboxPodInput {
  return {
    namespace: sandboxNs,
    configMap: storedConfigMap(),
    cycle,
    candidate: 'c1',
    manifestKey: 'c1.manifest.json',
    changeKeys: ['variant-7.patch', 'c1.patch'],
    sandbox,
    image: 'ghcr.io/example/hyperagent-sandbox:0.1.0',
    sourceImage: 'registry.example/shop/checkout:1.4.2',
    toolchainImage: 'registry.example/shop/checkout-toolchain:1.4.2',
    ...overrides,
  };
}

function containersOf(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

const ALLOWED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

/** What Pod Security admission at `restricted` (and this project) would object to. */
function restrictedViolations(pod: V1Pod): string[] {
  const spec = pod.spec ?? { containers: [] };
  const podSecurity = spec.securityContext ?? {};
  const problems: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push('host namespaces');
  for (const volume of spec.volumes ?? []) {
    const types = Object.keys(volume).filter((key) => key !== 'name');
    if (!types.every((type) => ALLOWED_VOLUMES.includes(type)))
      problems.push(`volume ${volume.name}: ${types}`);
  }
  if (podSecurity.runAsUser === 0) problems.push('pod runs as root');
  for (const container of containersOf(pod)) {
    const sc = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities not dropped`);
    if ((sc.capabilities?.add ?? []).some((cap) => cap !== 'NET_BIND_SERVICE'))
      problems.push(`${where}: adds capabilities`);
    if ((sc.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true) problems.push(`${where}: may run as root`);
    if (sc.runAsUser === 0) problems.push(`${where}: runs as root`);
    const seccomp = sc.seccompProfile?.type ?? podSecurity.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${where}: no seccomp profile`);
    if ((container.ports ?? []).some((port) => port.hostPort)) problems.push(`${where}: host port`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: writable root filesystem`);
    if (container.imagePullPolicy !== 'IfNotPresent') problems.push(`${where}: pull policy`);
  }
  return problems;
}

test('the sandbox namespace is named after the agent namespace and enforces restricted Pod Security', () => {
  const ns = sandboxNamespace('shop');
  assert.equal(ns.metadata?.name, 'hyperagent-sandbox-shop');
  assert.deepEqual(ns.metadata?.labels, {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/audit-version': 'latest',
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [SANDBOX_FOR_LABEL]: 'shop',
  });
});

test('a long agent namespace gives a sandbox namespace of 63 characters at most, kept apart by a hash', () => {
  const a = sandboxNamespaceName(`${'a'.repeat(50)}-one`);
  const b = sandboxNamespaceName(`${'a'.repeat(50)}-two`);
  for (const name of [a, b]) {
    assert.ok(name.length <= 63, name);
    assert.match(name, DNS_LABEL);
    assert.ok(name.startsWith('hyperagent-sandbox-aaa'), name);
  }
  assert.notEqual(a, b);
  assert.equal(sandboxNamespaceName(`${'a'.repeat(50)}-one`), a, 'deterministic');
});

test('the quota caps pods, requested CPU, and requests and limits of memory', () => {
  const quota = sandboxQuota(sandboxNs, sandbox);
  assert.equal(quota.metadata?.name, 'hyperagent-sandbox');
  assert.equal(quota.metadata?.namespace, sandboxNs);
  assert.deepEqual(quota.spec?.hard, {
    pods: '3',
    'limits.memory': '4Gi',
    'requests.cpu': '2',
    'requests.memory': '4Gi',
  });
});

test('the limit range gives containers without limits the sandbox memory limit and requests, and caps memory', () => {
  const limits = sandboxLimitRange(sandboxNs, sandbox).spec?.limits;
  assert.equal(limits?.length, 1);
  const [item] = limits ?? [];
  assert.equal(item?.type, 'Container');
  assert.deepEqual(item?._default, { memory: '768Mi' });
  assert.deepEqual(item?.defaultRequest, { cpu: '500m', memory: '768Mi' });
  assert.deepEqual(item?.max, { memory: '768Mi' });
});

test('two network policies deny all ingress and all egress of every pod, with no exceptions', () => {
  const policies = sandboxNetworkPolicies(sandboxNs);
  assert.deepEqual(
    policies.map((p) => [p.metadata?.name, p.metadata?.namespace, p.spec?.policyTypes]),
    [
      ['default-deny-ingress', sandboxNs, ['Ingress']],
      ['default-deny-egress', sandboxNs, ['Egress']],
    ],
  );
  for (const policy of policies) {
    assert.deepEqual(policy.spec?.podSelector, {});
    assert.equal(policy.spec?.ingress, undefined);
    assert.equal(policy.spec?.egress, undefined);
  }
});

test('the input ConfigMap is one per cycle, immutable, labelled for the cycle and carries the files', () => {
  const configMap = sandboxInputConfigMap({
    namespace: sandboxNs,
    cycle,
    agent: 'checkout',
    files: defaultFiles,
  });
  assert.equal(configMap.metadata?.name, `cycle-${cycle.uid}`);
  assert.equal(configMap.metadata?.namespace, sandboxNs);
  assert.equal(configMap.immutable, true);
  assert.deepEqual(configMap.data, defaultFiles);
  assert.deepEqual(configMap.metadata?.labels, {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [CYCLE_UID_LABEL]: cycle.uid,
    [CYCLE_LABEL]: 'checkout-29448000',
    [AGENT_LABEL]: 'checkout',
    [AGENT_NAMESPACE_LABEL]: 'shop',
  });
  const again = sandboxInputConfigMap({ namespace: sandboxNs, cycle, agent: 'checkout', files: {} });
  assert.equal(again.metadata?.name, configMap.metadata?.name, 'deterministic per cycle');
});

test('the input ConfigMap refuses keys Kubernetes would refuse, and data over 1 MiB', () => {
  for (const key of ['../escape', 'a/b', '', '.', 'x'.repeat(254), 'with space']) {
    assert.throws(
      () => sandboxInputConfigMap({ namespace: sandboxNs, cycle, agent: 'a', files: { [key]: 'x' } }),
      /not a valid ConfigMap key/,
      key,
    );
  }
  assert.throws(
    () =>
      sandboxInputConfigMap({
        namespace: sandboxNs,
        cycle,
        agent: 'a',
        files: { big: 'x'.repeat(1024 * 1024) },
      }),
    /1 MiB/,
  );
});

test('the pod is restricted-compliant in every container, with no service account token or links', () => {
  const pod = sandboxPod(podInput());
  assert.deepEqual(restrictedViolations(pod), []);
  const spec = pod.spec!;
  assert.equal(spec.automountServiceAccountToken, false);
  assert.equal(spec.enableServiceLinks, false);
  assert.equal(spec.hostNetwork, undefined);
  assert.equal(spec.hostPID, undefined);
  assert.equal(spec.hostIPC, undefined);
  assert.deepEqual(spec.securityContext, {
    runAsNonRoot: true,
    fsGroup: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  for (const container of containersOf(pod)) {
    const judgeSide = container.name === JUDGE_CONTAINER || container.name === EXECUTOR_CONTAINER;
    const uid = judgeSide ? JUDGE_UID : SANDBOX_UID;
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
    });
  }
});

test('two trust domains: the judge and the candidate differ in user and share no processes', () => {
  const pod = sandboxPod(podInput());
  assert.notEqual(JUDGE_UID, SANDBOX_UID);
  assert.equal(pod.spec!.shareProcessNamespace, false);
  assert.deepEqual(
    pod.spec!.containers.map((container) => [container.name, container.securityContext?.runAsUser]),
    [
      [JUDGE_CONTAINER, JUDGE_UID],
      [CANDIDATE_CONTAINER, SANDBOX_UID],
    ],
  );
});

test('the restricted check itself catches what the pod must not have', () => {
  const pod = sandboxPod(podInput());
  const judge = pod.spec!.containers[0]!;
  judge.securityContext = { ...judge.securityContext, allowPrivilegeEscalation: true };
  pod.spec!.volumes!.push({ name: 'host', hostPath: { path: '/' } });
  assert.deepEqual(restrictedViolations(pod), [
    'volume host: hostPath',
    'container judge: privilege escalation',
  ]);
});

test('the pod stops at its deadline, never restarts, and ends quickly', () => {
  const spec = sandboxPod(podInput()).spec!;
  assert.equal(spec.activeDeadlineSeconds, 600);
  assert.equal(spec.restartPolicy, 'Never');
  assert.equal(spec.terminationGracePeriodSeconds, 5);
});

test("the candidate is limited to what the judge's share leaves; the judge's CPU is requested, never throttled", () => {
  const pod = sandboxPod(podInput());
  const candidate = { cpu: '400m', memory: '608Mi', 'ephemeral-storage': '256Mi' };
  const judge = {
    requests: { cpu: '100m', memory: '160Mi', 'ephemeral-storage': '256Mi' },
    limits: { memory: '160Mi', 'ephemeral-storage': '256Mi' },
  };
  const expected: Record<string, unknown> = {
    [SOURCE_CONTAINER]: { limits: candidate, requests: candidate },
    [EXECUTOR_CONTAINER]: judge,
    [JUDGE_CONTAINER]: judge,
    [CANDIDATE_CONTAINER]: { limits: candidate, requests: candidate },
  };
  for (const container of containersOf(pod)) {
    assert.deepEqual(container.resources, expected[container.name], container.name);
  }
  assert.deepEqual(splitResources({ cpu: '1', memory: '1Gi' }).candidate, { cpu: '900m', memory: '864Mi' });
  assert.throws(() => splitResources({ cpu: '100m', memory: '1Gi' }), /leave nothing for the candidate/);
});

test('the init containers copy the source and the executor without a shell', () => {
  const [source, executor] = sandboxPod(podInput({ sandbox: { ...sandbox, sourcePath: '/srv/my app/' } }))
    .spec!.initContainers!;
  assert.equal(source?.name, SOURCE_CONTAINER);
  assert.equal(source?.image, 'registry.example/shop/checkout:1.4.2');
  assert.deepEqual(source?.command, ['cp', '-R', '/srv/my app/.', SOURCE_DIR]);
  assert.equal(SOURCE_DIR, `${SANDBOX_PATHS.workspace}/src`);
  assert.deepEqual(source?.volumeMounts, [{ name: 'workspace', mountPath: SANDBOX_PATHS.workspace }]);
  const root = sandboxPod(podInput({ sandbox: { ...sandbox, sourcePath: '/' } })).spec!.initContainers![0]!;
  assert.equal(root.command?.[2], '/.');
  assert.equal(executor?.name, EXECUTOR_CONTAINER);
  assert.equal(executor?.image, 'ghcr.io/example/hyperagent-sandbox:0.1.0');
  assert.deepEqual(executor?.command, ['cp', EXECUTOR_IN_IMAGE, '/hyperagent/tools/executor']);
  assert.deepEqual(executor?.volumeMounts, [{ name: 'tools', mountPath: '/hyperagent/tools' }]);
});

test('the judge reads its manifest, sees the candidate side read-only, and reports by its termination file', () => {
  const [judge] = sandboxPod(podInput()).spec!.containers;
  assert.equal(judge?.name, JUDGE_CONTAINER);
  assert.equal(judge?.image, 'ghcr.io/example/hyperagent-sandbox:0.1.0');
  assert.deepEqual(judge?.args, ['/hyperagent/input/c1.manifest.json']);
  assert.deepEqual(judge?.env, [
    { name: 'HOME', value: '/tmp' },
    { name: 'TMPDIR', value: '/tmp' },
  ]);
  assert.equal(judge?.terminationMessagePath, '/dev/termination-log');
  assert.equal(judge?.terminationMessagePolicy, 'File');
  assert.deepEqual(judge?.volumeMounts, [
    { name: 'input', mountPath: '/hyperagent/input', readOnly: true },
    { name: 'workspace', mountPath: '/hyperagent/workspace', readOnly: true },
    { name: 'candidate-tmp', mountPath: '/hyperagent/candidate-tmp', readOnly: true },
    { name: 'control', mountPath: '/hyperagent/control' },
    { name: 'judge-tmp', mountPath: '/tmp' },
  ]);
});

test('the candidate runs the executor in its toolchain image and cannot reach the manifest or the judge', () => {
  const candidate = sandboxPod(podInput()).spec!.containers[1]!;
  assert.equal(candidate.name, CANDIDATE_CONTAINER);
  assert.equal(candidate.image, 'registry.example/shop/checkout-toolchain:1.4.2');
  assert.deepEqual(candidate.command, ['/hyperagent/tools/executor']);
  assert.deepEqual(candidate.args, ['--socket', '/hyperagent/control/executor.sock', '--source', SOURCE_DIR]);
  assert.deepEqual(candidate.volumeMounts, [
    { name: 'workspace', mountPath: '/hyperagent/workspace' },
    { name: 'candidate-tmp', mountPath: '/tmp' },
    { name: 'control', mountPath: '/hyperagent/control', readOnly: true },
    { name: 'tools', mountPath: '/hyperagent/tools', readOnly: true },
  ]);
  assert.ok(!candidate.volumeMounts?.some((mount) => mount.name === 'input' || mount.name === 'judge-tmp'));
});

test('the pod mounts only its own inputs, read-only, and bounded scratch space', () => {
  const volumes = sandboxPod(podInput()).spec!.volumes!;
  const configMapName = storedConfigMap().metadata!.name;
  assert.deepEqual(volumes, [
    {
      name: 'input',
      configMap: {
        name: configMapName,
        defaultMode: 0o444,
        items: [
          { key: 'c1.manifest.json', path: 'c1.manifest.json', mode: 0o444 },
          { key: 'variant-7.patch', path: 'variant-7.patch', mode: 0o444 },
          { key: 'c1.patch', path: 'c1.patch', mode: 0o444 },
        ],
      },
    },
    { name: 'workspace', emptyDir: { sizeLimit: '1Gi' } },
    { name: 'candidate-tmp', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'judge-tmp', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'control', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'tools', emptyDir: { sizeLimit: '16Mi' } },
  ]);
  const bigger = sandboxPod(podInput({ workspaceSizeLimit: '4Gi' })).spec!.volumes!;
  assert.deepEqual(bigger[1], { name: 'workspace', emptyDir: { sizeLimit: '4Gi' } });
});

test('the pod is owned by the input ConfigMap and labelled like it, plus the candidate', () => {
  const configMap = storedConfigMap();
  const pod = sandboxPod(
    podInput({ candidate: 'baseline', manifestKey: 'c2.manifest.json', changeKeys: [] }),
  );
  assert.deepEqual(pod.metadata?.ownerReferences, [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: configMap.metadata!.name,
      uid: configMap.metadata!.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(pod.metadata?.namespace, sandboxNs);
  assert.deepEqual(pod.metadata?.labels, { ...configMap.metadata!.labels, [CANDIDATE_LABEL]: 'baseline' });
  assert.equal(pod.metadata?.name, 'checkout-29448000-3f2a9c1e-baseline');
});

test('a pod that could never start is refused before it is created', () => {
  const unsaved = sandboxInputConfigMap({ namespace: sandboxNs, cycle, agent: 'a', files: defaultFiles });
  assert.throws(() => sandboxPod(podInput({ configMap: unsaved })), /created before its pods/);
  assert.throws(
    () => sandboxPod(podInput({ namespace: 'elsewhere' })),
    /not the sandbox namespace elsewhere/,
  );
  assert.throws(() => sandboxPod(podInput({ changeKeys: ['c9.patch'] })), /has no c9\.patch/);
});

test('pod names are deterministic, differ by candidate and by cycle uid', () => {
  assert.equal(sandboxPodName(cycle, 'c1'), sandboxPodName(cycle, 'c1'));
  assert.notEqual(sandboxPodName(cycle, 'c1'), sandboxPodName(cycle, 'c2'));
  const recreated = { ...cycle, uid: '9e8d7c6b-0000-4000-8000-000000000000' };
  assert.notEqual(sandboxPodName(cycle, 'c1'), sandboxPodName(recreated, 'c1'));
});

test('dnsLabel keeps valid labels and hashes the rest', () => {
  assert.equal(dnsLabel('c1'), 'c1');
  assert.match(dnsLabel('C1'), /^c1-[0-9a-f]{10}$/);
  assert.notEqual(dnsLabel('a.b'), dnsLabel('a_b'));
  assert.match(dnsLabel('...'), /^[0-9a-f]{10}$/);
  assert.throws(() => dnsLabel('x', 11), /no room/);
});

test('labelValue keeps valid values and hashes the rest', () => {
  assert.equal(labelValue('Check_out.v2'), 'Check_out.v2');
  assert.match(labelValue('-x-'), /^x-[0-9a-f]{10}$/);
  assert.equal(labelValue('a'.repeat(70)).length, 63);
});

/** A small deterministic generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomString(next: () => number, alphabet: string, max: number): string {
  const length = 1 + Math.floor(next() * max);
  let text = '';
  for (let i = 0; i < length; i += 1) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

test('property: names and label values stay valid and distinct for inputs of any length', () => {
  const next = random(20260101);
  const wild = 'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._ /é';
  const dns = 'abcdefghijklmnopqrstuvwxyz0123456789-';
  const podNames = new Map<string, string>();
  const namespaces = new Map<string, string>();
  for (let i = 0; i < 500; i += 1) {
    const agentNs = randomString(next, dns, 63).replace(/^-+|-+$/g, '') || 'ns';
    const loop: CycleRef = {
      namespace: agentNs,
      name: randomString(next, wild, 253),
      uid: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
    };
    const candidate = randomString(next, wild, 63);
    const agent = randomString(next, wild, 253);

    const nsName = sandboxNamespaceName(agentNs);
    assert.ok(nsName.length <= 63 && DNS_LABEL.test(nsName), nsName);
    assert.equal(namespaces.get(nsName) ?? agentNs, agentNs, `namespace collision: ${nsName}`);
    namespaces.set(nsName, agentNs);

    const configMap = sandboxInputConfigMap({
      namespace: nsName,
      cycle: loop,
      agent,
      files: { 'm.json': '{}' },
    });
    const stored = { ...configMap, metadata: { ...configMap.metadata, uid: `uid-${i}` } };
    assert.match(configMap.metadata!.name!, DNS_LABEL);
    const pod = sandboxPod({
      ...podInput(),
      namespace: nsName,
      configMap: stored,
      cycle: loop,
      candidate,
      manifestKey: 'm.json',
      changeKeys: [],
    });
    const name = pod.metadata!.name!;
    assert.ok(
      name.length <= 63 && DNS_LABEL.test(name),
      `${JSON.stringify([loop.name, candidate])} → ${name}`,
    );
    const key = `${loop.uid}/${candidate}`;
    assert.equal(podNames.get(name) ?? key, key, `pod name collision: ${name}`);
    podNames.set(name, key);
    for (const value of Object.values(pod.metadata!.labels!)) {
      assert.ok(value.length <= 63 && LABEL_VALUE.test(value), value);
    }
    assert.deepEqual(restrictedViolations(pod), []);
  }
});

test('dependency stand-ins get a container of their own: the source image, a third user, their own share', () => {
  const pod = sandboxPod(podInput({ standIns: true }));
  const standIns = pod.spec!.containers.find((container) => container.name === STAND_INS_CONTAINER)!;
  assert.equal(standIns.image, 'registry.example/shop/checkout:1.4.2', 'the unchanged source image');
  assert.equal(standIns.securityContext?.runAsUser, STAND_INS_UID);
  assert.notEqual(STAND_INS_UID, SANDBOX_UID);
  assert.notEqual(STAND_INS_UID, JUDGE_UID);
  assert.deepEqual(standIns.args, ['--socket', '/hyperagent/control/stand-ins.sock', '--source', '/app']);
  assert.ok(
    !standIns.volumeMounts?.some((mount) => mount.name === 'workspace'),
    "never the candidate's tree",
  );
  assert.deepEqual(standIns.resources, {
    requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '256Mi' },
    limits: { memory: '128Mi', 'ephemeral-storage': '256Mi' },
  });
  const candidate = pod.spec!.containers.find((container) => container.name === CANDIDATE_CONTAINER)!;
  assert.deepEqual(candidate.resources?.limits, {
    cpu: '300m',
    memory: '480Mi',
    'ephemeral-storage': '256Mi',
  });
  assert.equal(sandboxPod(podInput()).spec!.containers.length, 2, 'no stand-ins without dependencies');
});
