// The sandbox namespace's NetworkPolicies are part of the isolation the judge proved at the start
// of each evaluation. A policy added (an allow rule), deleted or changed while candidates run
// voids that proof: the evaluation is stopped and fails. Pure: the I/O is kube-sandbox's.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';

/**
 * How the policies in the namespace differ from the default-deny ones the sandbox applies;
 * undefined when they match exactly (same names, same spec).
 */
export function policyDrift(
  expected: readonly V1NetworkPolicy[],
  actual: readonly V1NetworkPolicy[],
): string | undefined {
  const problems: string[] = [];
  const byName = new Map(actual.map((policy) => [policy.metadata?.name ?? '', policy]));
  for (const policy of expected) {
    const name = policy.metadata?.name ?? '';
    const found = byName.get(name);
    if (!found) problems.push(`${name} was deleted`);
    else if (!sameSpec(policy, found)) problems.push(`${name} was changed`);
    byName.delete(name);
  }
  for (const name of [...byName.keys()].sort()) problems.push(`${name} was added`);
  return problems.length > 0 ? `NetworkPolicy ${problems.join(', ')}` : undefined;
}

function sameSpec(expected: V1NetworkPolicy, actual: V1NetworkPolicy): boolean {
  const spec = actual.spec ?? { podSelector: {} };
  const normal = {
    podSelector: {
      matchLabels: spec.podSelector?.matchLabels ?? {},
      matchExpressions: spec.podSelector?.matchExpressions ?? [],
    },
    policyTypes: [...(spec.policyTypes ?? [])].sort(),
    ingress: spec.ingress ?? [],
    egress: spec.egress ?? [],
  };
  const want = expected.spec!;
  return isDeepStrictEqual(normal, {
    podSelector: { matchLabels: {}, matchExpressions: [] },
    policyTypes: [...(want.policyTypes ?? [])].sort(),
    ingress: [],
    egress: [],
  });
}
