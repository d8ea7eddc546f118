import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { defaultedMinimalSpec } from '../../../test/support/agents.js';
import type { KubeClients } from '../controller/kube.js';
import type { CycleContext } from '../cycle/work.js';
import {
  DEFAULT_KANIKO_RESOURCES,
  KANIKO_CAPABILITIES,
  KanikoBuilder,
  kanikoContext,
  kanikoJob,
  kanikoJobName,
  kanikoResult,
  type KanikoJobInput,
} from './kaniko-builder.js';

const COMMIT = 'c'.repeat(40);
const DIGEST = `sha256:${'d'.repeat(64)}`;

const input: KanikoJobInput = {
  name: 'quote-1-kaniko',
  namespace: 'shop',
  cycle: { name: 'quote-1', uid: 'uid-1' },
  agent: 'quote',
  image: 'gcr.io/kaniko-project/executor:v1.23.2',
  context: `git://git.example.com/shop/quote.git#refs/heads/hyperagent/quote/quote-1#${COMMIT}`,
  pullMethod: 'https',
  destination: 'registry.example.com/shop/quote:quote-1',
  dockerfile: 'Dockerfile',
  gitSecret: 'quote-git',
  pushSecret: 'quote-push',
  deadlineSeconds: 900,
  resources: DEFAULT_KANIKO_RESOURCES,
};

test('the git context is the commit on the cycle branch, over http(s) only', () => {
  assert.deepEqual(kanikoContext('https://git.example.com/shop/quote.git', 'hyperagent/quote/q-1', COMMIT), {
    context: `git://git.example.com/shop/quote.git#refs/heads/hyperagent/quote/q-1#${COMMIT}`,
    pullMethod: 'https',
  });
  assert.equal(
    (kanikoContext('http://192.0.2.2:8080/remote.git', 'b', COMMIT) as { pullMethod: string }).pullMethod,
    'http',
  );
  for (const repo of ['git@github.com:shop/quote.git', 'ssh://git@host/quote.git', 'file:///srv/quote.git']) {
    assert.match((kanikoContext(repo, 'b', COMMIT) as { error: string }).error, /http\(s\) only/, repo);
  }
  assert.match((kanikoContext('https://h/r.git', 'b', 'main') as { error: string }).error, /full commit/);
});

test('Job names fit a label value and stay distinct', () => {
  assert.equal(kanikoJobName('quote-1'), 'quote-1-kaniko');
  const long = kanikoJobName(`quote-${'x'.repeat(80)}`);
  assert.ok(long.length <= 63, long);
  assert.notEqual(long, kanikoJobName(`quote-${'x'.repeat(79)}y`));
});

test('the Job: one try, a deadline, owned by the cycle, no API token', () => {
  const job = kanikoJob(input);
  assert.equal(job.spec?.backoffLimit, 0);
  assert.equal(job.spec?.activeDeadlineSeconds, 900);
  assert.ok((job.spec?.ttlSecondsAfterFinished ?? 0) > 0);
  assert.deepEqual(job.metadata?.ownerReferences?.[0], {
    apiVersion: 'hyperagents.io/v1alpha1',
    kind: 'ImprovementCycle',
    name: 'quote-1',
    uid: 'uid-1',
    controller: true,
  });
  const pod = job.spec!.template.spec!;
  assert.equal(pod.restartPolicy, 'Never');
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.serviceAccountName, undefined);
  assert.equal(pod.enableServiceLinks, false);
  assert.equal(pod.hostNetwork, undefined);
});

test('the container is as restricted as kaniko allows: root, but no escalation, few capabilities, seccomp', () => {
  const container = kanikoJob(input).spec!.template.spec!.containers[0]!;
  const sc = container.securityContext!;
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.runAsUser, 0);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: KANIKO_CAPABILITIES });
  assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
  // every added capability is one Pod Security baseline allows
  const baseline = new Set([
    'AUDIT_WRITE',
    'CHOWN',
    'DAC_OVERRIDE',
    'FOWNER',
    'FSETID',
    'KILL',
    'MKNOD',
    'NET_BIND_SERVICE',
    'SETFCAP',
    'SETGID',
    'SETPCAP',
    'SETUID',
    'SYS_CHROOT',
  ]);
  assert.ok(KANIKO_CAPABILITIES.every((c) => baseline.has(c)));
  assert.ok(!KANIKO_CAPABILITIES.includes('NET_RAW'));
  assert.deepEqual(container.resources?.limits, {
    cpu: '1',
    memory: '2Gi',
    'ephemeral-storage': '10Gi',
  });
  assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
});

test('arguments: context, destination, digest to the termination message; credentials from Secrets, never inline', () => {
  const job = kanikoJob({ ...input, insecureRegistry: 'localhost:5001', contextSubPath: 'services/quote' });
  const container = job.spec!.template.spec!.containers[0]!;
  assert.deepEqual(container.args, [
    `--context=${input.context}`,
    '--dockerfile=Dockerfile',
    '--destination=registry.example.com/shop/quote:quote-1',
    '--digest-file=/dev/termination-log',
    '--reproducible',
    '--ignore-var-run',
    '--context-sub-path=services/quote',
    '--insecure-registry=localhost:5001',
  ]);
  const env = Object.fromEntries(
    (container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]),
  );
  assert.deepEqual(env, {
    DOCKER_CONFIG: '/kaniko/.docker',
    GIT_PULL_METHOD: 'https',
    GIT_USERNAME: { name: 'quote-git', key: 'username' },
    GIT_PASSWORD: { name: 'quote-git', key: 'password' },
  });
  assert.deepEqual(container.volumeMounts, [
    { name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true },
  ]);
  assert.deepEqual(job.spec!.template.spec!.volumes, [
    {
      name: 'docker-config',
      secret: { secretName: 'quote-push', items: [{ key: '.dockerconfigjson', path: 'config.json' }] },
    },
  ]);
});

test('without Secrets there are no credentials; a service account only when asked, with its token', () => {
  const bare = kanikoJob({ ...input, gitSecret: undefined, pushSecret: undefined } as KanikoJobInput);
  const spec = bare.spec!.template.spec!;
  assert.equal(spec.volumes, undefined);
  assert.equal(spec.containers[0]!.volumeMounts, undefined);
  assert.ok(
    !(spec.containers[0]!.env ?? []).some((e) => e.name.startsWith('GIT_USER') || e.name === 'GIT_PASSWORD'),
  );
  const wi = kanikoJob({ ...input, serviceAccountName: 'ecr-pusher' }).spec!.template.spec!;
  assert.equal(wi.serviceAccountName, 'ecr-pusher');
  assert.equal(wi.automountServiceAccountToken, true);
});

function job(status: V1Job['status']): V1Job {
  return { metadata: { name: 'j' }, status };
}
function pod(message?: string): V1Pod {
  return {
    status: {
      containerStatuses: [
        {
          name: 'kaniko',
          image: 'k',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: message ? 0 : 1, ...(message ? { message } : {}) } },
        },
      ],
    },
  };
}

test('a finished Job gives the digest, or why it failed; a running one nothing', () => {
  assert.deepEqual(kanikoResult(job({ succeeded: 1 }), [pod(`${DIGEST}\n`)]), { digest: DIGEST });
  assert.match(
    (kanikoResult(job({ succeeded: 1 }), [pod('garbage')]) as { error: string }).error,
    /no digest/,
  );
  assert.match(
    (kanikoResult(job({ failed: 1 }), [pod('error building image: RUN npm ci: exit 1')]) as { error: string })
      .error,
    /RUN npm ci/,
  );
  assert.match(
    (
      kanikoResult(
        job({
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'DeadlineExceeded',
              message: 'Job was active longer than specified deadline',
            },
          ],
        }),
        [],
      ) as { error: string }
    ).error,
    /deadline/,
  );
  assert.equal(kanikoResult(job({ active: 1 }), []), undefined);
});

/** Clients that fail the test on any use: the builder must decide without the API. */
function untouchableClients(why: string): Pick<KubeClients, 'apps' | 'core' | 'objects'> {
  return new Proxy(
    {},
    {
      get() {
        throw new Error(why);
      },
    },
  ) as Pick<KubeClients, 'apps' | 'core' | 'objects'>;
}

/** A cycle in Building with code candidate c1 selected and committed. */
function buildingCycle(agentSpec = defaultedMinimalSpec()): CycleContext {
  return {
    namespace: 'shop',
    name: 'quote-1',
    uid: 'uid-1',
    spec: { agent: 'quote', slot: '2026-01-01T00:00:00Z', agentGeneration: 1, agentSpec },
    status: { selected: 'c1', candidates: [{ id: 'c1', kind: 'code', summary: 'x' }], commit: COMMIT },
  };
}

test('without an executor image the builder fails with a clear reason and touches nothing', async () => {
  const untouchable = untouchableClients('the builder must not call the API without an executor image');
  const outcome = await new KanikoBuilder({ clients: untouchable }).build(buildingCycle());
  assert.equal(outcome.state, 'failed');
  assert.equal(outcome.state === 'failed' && outcome.reason, 'KanikoNotConfigured');
  assert.match(outcome.state === 'failed' ? outcome.message : '', /docs\/builders\.md/);
});

test('an ssh repository is refused before any Job is made', async () => {
  const untouchable = untouchableClients('no API call expected');
  const cycle = buildingCycle(defaultedMinimalSpec({ source: { repo: 'git@github.com:shop/quote.git' } }));
  const outcome = await new KanikoBuilder({ clients: untouchable, image: input.image }).build(cycle);
  assert.equal(outcome.state === 'failed' && outcome.reason, 'UnsupportedSource');
});
