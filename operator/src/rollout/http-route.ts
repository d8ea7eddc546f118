// An HTTPRoute (Gateway API, gateway.networking.k8s.io/v1) as the Gateway API router edits it,
// as plain values: nothing here talks to the API server.
//
// The user's route has rules whose only backend is the stable Service. During a canary each of
// those rules sends to the stable Service and the canary Service with weights that add up to 100,
// so a weight is exact whatever the replica counts. With a smoke-test header, each such rule gets
// a twin whose matches also require the header and whose only backend is the canary: Gateway API
// precedence prefers the match with more header matches, so those requests reach the canary alone.
// Restoring removes the canary's backends and twins and puts the stable weights back as they were
// (recorded in STABLE_WEIGHTS_ANNOTATION by the first change, in the same write).
import type { V1Condition, V1ObjectMeta } from '@kubernetes/client-node';

export const HTTP_ROUTE = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  kind: 'HTTPRoute',
} as const;

/** On the HTTPRoute during a canary: each changed rule's stable weight before (null: unset). */
export const STABLE_WEIGHTS_ANNOTATION = 'hyperagents.io/stable-weights';

/** The most rules an HTTPRoute may have (the Gateway API's own limit). */
export const MAX_ROUTE_RULES = 16;

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: unknown[];
}

export interface HeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export interface RouteMatch {
  path?: { type?: string; value?: string };
  headers?: HeaderMatch[];
  queryParams?: unknown[];
  method?: string;
}

export interface RouteRule {
  name?: string;
  matches?: RouteMatch[];
  filters?: unknown[];
  backendRefs?: BackendRef[];
  timeouts?: unknown;
  [field: string]: unknown;
}

export interface RouteParentStatus {
  parentRef?: { name?: string; namespace?: string };
  controllerName?: string;
  conditions?: V1Condition[];
}

export interface HttpRoute {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: { parentRefs?: unknown[]; hostnames?: string[]; rules?: RouteRule[]; [field: string]: unknown };
  status?: { parents?: RouteParentStatus[] };
}

/** The Services a canary's route edits name: the stable one and the canary's. */
export interface RouteBackends {
  service: string;
  canaryService: string;
}

export interface SmokeHeader {
  name: string;
  value: string;
}

/** True when `ref` names the Service `name` in the route's own namespace. */
function refersTo(ref: BackendRef, name: string, routeNamespace: string | undefined): boolean {
  const core = (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';
  return core && ref.name === name && (ref.namespace === undefined || ref.namespace === routeNamespace);
}

function isStable(ref: BackendRef, route: HttpRoute, backends: RouteBackends): boolean {
  return refersTo(ref, backends.service, route.metadata.namespace);
}

function isCanary(ref: BackendRef, route: HttpRoute, backends: RouteBackends): boolean {
  return refersTo(ref, backends.canaryService, route.metadata.namespace);
}

/** A smoke-test twin this router added: every backend is the canary. */
function isTwin(rule: RouteRule, route: HttpRoute, backends: RouteBackends): boolean {
  const refs = rule.backendRefs ?? [];
  return refs.length > 0 && refs.every((ref) => isCanary(ref, route, backends));
}

/** The user's rules (the twins left out), with their index among all rules. */
function userRules(route: HttpRoute, backends: RouteBackends): { rule: RouteRule; index: number }[] {
  return (route.spec.rules ?? [])
    .map((rule, index) => ({ rule, index }))
    .filter(({ rule }) => !isTwin(rule, route, backends));
}

/** The user's rules that send to the stable Service: the ones a canary changes. */
function stableRules(route: HttpRoute, backends: RouteBackends): { rule: RouteRule; index: number }[] {
  return userRules(route, backends).filter(({ rule }) =>
    (rule.backendRefs ?? []).some((ref) => isStable(ref, route, backends)),
  );
}

/** Why a canary cannot run through `route`; empty when it can. */
export function routeProblems(route: HttpRoute, backends: RouteBackends, header?: SmokeHeader): string[] {
  const name = `the HTTPRoute ${route.metadata.name ?? '?'}`;
  const rules = stableRules(route, backends);
  if (rules.length === 0) {
    return [`${name} has no rule that sends to the Service ${backends.service}`];
  }
  const problems: string[] = [];
  for (const { rule, index } of rules) {
    const others = (rule.backendRefs ?? []).filter(
      (ref) => !isStable(ref, route, backends) && !isCanary(ref, route, backends),
    );
    if (others.length > 0) {
      problems.push(
        `rule ${index} of ${name} sends to ${backends.service} and also to ${others.map((r) => r.name).join(', ')}; the canary needs ${backends.service} to be that rule's only backend`,
      );
    }
    const stable = (rule.backendRefs ?? []).filter((ref) => isStable(ref, route, backends));
    if (stable.length > 1) problems.push(`rule ${index} of ${name} names ${backends.service} more than once`);
    if (stable.some((ref) => ref.weight === 0)) {
      problems.push(
        `rule ${index} of ${name} gives ${backends.service} weight 0: it sends it nothing to share`,
      );
    }
  }
  const total = userRules(route, backends).length + (header ? rules.length : 0);
  if (total > MAX_ROUTE_RULES) {
    problems.push(
      `${name} would need ${total} rules with the smoke-test header's twins, more than the Gateway API's ${MAX_ROUTE_RULES}`,
    );
  }
  return problems;
}

/** Where the route stands: the canary's weight (undefined while rules disagree), whether twins exist. */
export interface RouteTraffic {
  /** 0 when no rule sends to the canary by weight; undefined when the rules are not all at one weight. */
  weight?: number;
  /** Whether the smoke-test twins are in place. */
  smoke: boolean;
  /** Nothing of a canary is left in the route (weights as recorded, no twin, no canary backend). */
  clean: boolean;
}

export function routeTraffic(route: HttpRoute, backends: RouteBackends): RouteTraffic {
  const smoke = (route.spec.rules ?? []).some((rule) => isTwin(rule, route, backends));
  const weights = new Set<number>();
  let canaryRefs = 0;
  for (const { rule } of stableRules(route, backends)) {
    const refs = rule.backendRefs ?? [];
    const canary = refs.find((ref) => isCanary(ref, route, backends));
    const stable = refs.find((ref) => isStable(ref, route, backends));
    if (!canary) {
      weights.add(0);
      continue;
    }
    canaryRefs += 1;
    const c = canary.weight ?? 1;
    const s = stable?.weight ?? 1;
    // a share the router did not write (weights not adding to 100) is not a weight it can name
    weights.add(c + s === 100 ? c : Number.NaN);
  }
  const clean =
    !smoke && canaryRefs === 0 && route.metadata.annotations?.[STABLE_WEIGHTS_ANNOTATION] === undefined;
  const only = weights.size === 1 ? [...weights][0] : undefined;
  return { ...(only !== undefined && !Number.isNaN(only) ? { weight: only } : {}), smoke, clean };
}

type RecordedWeights = Record<string, number | null>;

function recordedWeights(route: HttpRoute): RecordedWeights | undefined {
  const text = route.metadata.annotations?.[STABLE_WEIGHTS_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as RecordedWeights) : undefined;
  } catch {
    return undefined;
  }
}

/** A backend reference to the canary Service: the stable one's port and filters under the canary's name. */
function canaryRef(stable: BackendRef, backends: RouteBackends, weight: number): BackendRef {
  const { namespace: _namespace, weight: _weight, ...rest } = stable;
  return { ...rest, name: backends.canaryService, weight };
}

/** The smoke-test twin of `rule`: its matches with the header required, the canary alone behind it. */
function twinOf(
  rule: RouteRule,
  stable: BackendRef,
  backends: RouteBackends,
  header: SmokeHeader,
): RouteRule {
  const lower = header.name.toLowerCase();
  const matches = (rule.matches && rule.matches.length > 0 ? rule.matches : [{}]).map((match) => ({
    ...match,
    headers: [
      ...(match.headers ?? []).filter((h) => h.name.toLowerCase() !== lower),
      { type: 'Exact' as const, name: header.name, value: header.value },
    ],
  }));
  const { name: _name, backendRefs: _refs, ...rest } = rule;
  return { ...rest, matches, backendRefs: [canaryRef(stable, backends, 1)] };
}

/**
 * `route` sending `weight` percent of each stable rule's requests to the canary (the rest to the
 * stable Service), with the smoke-test twins when `header` is given. The first change records
 * the stable weights it replaces. The twins go last: precedence, not order, decides between rules.
 */
export function withCanary(
  route: HttpRoute,
  backends: RouteBackends,
  weight: number,
  header?: SmokeHeader,
): HttpRoute {
  const before = recordedWeights(route);
  const firstChange = before === undefined;
  const recorded = { ...before };
  const rules = route.spec.rules ?? [];
  const changed: RouteRule[] = [];
  const twins: RouteRule[] = [];
  let position = 0;
  for (const rule of rules) {
    if (isTwin(rule, route, backends)) continue;
    const refs = rule.backendRefs ?? [];
    const stable = refs.find((ref) => isStable(ref, route, backends));
    if (!stable) {
      changed.push(rule);
      position += 1;
      continue;
    }
    if (firstChange) recorded[String(position)] = stable.weight ?? null;
    changed.push({
      ...rule,
      backendRefs: [{ ...stable, weight: 100 - weight }, canaryRef(stable, backends, weight)],
    });
    if (header) twins.push(twinOf(rule, stable, backends, header));
    position += 1;
  }
  return {
    ...route,
    metadata: {
      ...route.metadata,
      annotations: {
        ...(route.metadata.annotations ?? {}),
        [STABLE_WEIGHTS_ANNOTATION]: JSON.stringify(recorded),
      },
    },
    spec: { ...route.spec, rules: [...changed, ...twins] },
  };
}

/** `route` as it was before the canary: no canary backend, no twin, the stable weights recorded. */
export function withoutCanary(route: HttpRoute, backends: RouteBackends): HttpRoute {
  const recorded = recordedWeights(route) ?? {};
  const rules: RouteRule[] = [];
  for (const rule of route.spec.rules ?? []) {
    if (isTwin(rule, route, backends)) continue;
    const position = String(rules.length);
    const refs = rule.backendRefs ?? [];
    if (!refs.some((ref) => isCanary(ref, route, backends))) {
      rules.push(rule);
      continue;
    }
    const kept = refs
      .filter((ref) => !isCanary(ref, route, backends))
      .map((ref) => {
        if (!isStable(ref, route, backends) || !Object.hasOwn(recorded, position)) return ref;
        const { weight: _weight, ...rest } = ref;
        const before = recorded[position];
        return before === null || before === undefined ? rest : { ...rest, weight: before };
      });
    rules.push({ ...rule, backendRefs: kept });
  }
  const { [STABLE_WEIGHTS_ANNOTATION]: _recorded, ...annotations } = route.metadata.annotations ?? {};
  return {
    ...route,
    metadata: { ...route.metadata, annotations },
    spec: { ...route.spec, rules },
  };
}

/**
 * Whether the gateway has taken the route as it is now: every parent's status accepts it and
 * resolved its backends at the current generation. The reason when it has not.
 */
export function gatewayTook(route: HttpRoute): { took: true } | { took: false; why: string } {
  const generation = route.metadata.generation ?? 0;
  const parents = route.status?.parents ?? [];
  if (parents.length === 0) return { took: false, why: 'no gateway has reported on the route yet' };
  for (const parent of parents) {
    const who = parent.parentRef?.name ?? parent.controllerName ?? 'a gateway';
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const condition = parent.conditions?.find((c) => c.type === type);
      if (!condition || (condition.observedGeneration ?? 0) < generation) {
        return { took: false, why: `${who} has not yet reported on generation ${generation} of the route` };
      }
      if (condition.status !== 'True') {
        return {
          took: false,
          why: `${who} reports ${type} ${condition.status}: ${condition.message ?? condition.reason}`,
        };
      }
    }
  }
  return { took: true };
}
