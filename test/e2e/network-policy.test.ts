// NetworkPolicy is enforced: a default-deny egress policy stops a pod from reaching the API
// server, another pod and an address outside the cluster, and the same connections work before
// the policy exists and after it is removed (so this test fails on a cluster that ignores policy).
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { core, freshNamespace, kubectl } from '../support/cluster.js';
import {
  applyJson,
  deleteNamespace,
  deployEcho,
  probeFrom,
  startProbePod,
  waitForReachability,
  type ProbeResult,
} from '../support/workloads.js';

const OUTSIDE_URL = process.env.HYPERAGENT_OUTSIDE_URL ?? 'http://198.51.100.10/';

let namespace: string;
let targets: Record<string, string[]>;

before(async () => {
  namespace = await freshNamespace('e2e-netpol');
  await deployEcho(namespace, 'peer');
  await startProbePod(namespace, 'client');
  const peer = (await core.listNamespacedPod({ namespace, labelSelector: 'app=peer' })).items[0]!;
  const api = await core.readNamespacedService({ namespace: 'default', name: 'kubernetes' });
  targets = {
    'the API server': ['tcp', api.spec!.clusterIP!, '443'],
    'another pod': ['http', `http://${peer.status!.podIP}:8080/`],
    'an outside address': ['http', OUTSIDE_URL],
  };
});

after(async () => {
  await deleteNamespace(namespace);
});

const probe = (args: string[]) => (): Promise<ProbeResult> => probeFrom(namespace, 'client', args, 2000);

async function expectAll(t: TestContext, reachable: boolean): Promise<void> {
  for (const [what, args] of Object.entries(targets)) {
    const result = await waitForReachability(what, probe(args), reachable);
    assert.equal(result.ok, reachable, `${what}: ${result.output}`);
    // what the probe saw, in the test's output: the answer, or why the connection failed
    t.diagnostic(`${what} (${args.slice(1).join(' ')}): ${result.output.trim().split('\n')[0]}`);
  }
}

test('without a policy the pod reaches the API server, another pod and an outside address', async (t) => {
  await expectAll(t, true);
});

test('a default-deny egress policy blocks all three', async (t) => {
  await applyJson([
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-egress', namespace },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    },
  ]);
  await expectAll(t, false);
});

test('removing the policy restores the connections', async (t) => {
  await kubectl('-n', namespace, 'delete', 'networkpolicy', 'default-deny-egress');
  await expectAll(t, true);
});
