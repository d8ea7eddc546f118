// An in-memory stand-in for the API server, for unit tests of the reconcilers and the engine's
// works: the few calls of `KubeClients` they make, each behaving as the API server does for what
// it covers, and an informer over the same store.
//
// What it models: one store with a global resourceVersion that grows on every write (a write
// that changes nothing keeps the version, as the API server skips it); custom resources with a
// status subresource (create and updates of the object ignore `status`, a status update ignores
// everything else); updates conditional on `metadata.resourceVersion` (409 Conflict when stale);
// JSON patches (RFC 6902, `test` included: a failed test is 422 Invalid, as the API server
// answers it); deletion held by finalizers (deletionTimestamp set, the object goes when its last
// finalizer is removed). Errors are client-node's `ApiException` with a Status body, so
// `statusCodeOf` and `describeError` read them as they read the real ones.
//
// Deployments (apps/v1) are modelled as far as a rollback of the stable Deployment needs them:
// create (status dropped: it is a subresource), read, and a strategic-merge patch (the
// Content-Type the caller sets through client-node's header middleware; any other patch type
// throws). The merge follows the API server for what it covers: maps merge key by key, `null`
// deletes a key, `containers`, `initContainers` and `env` merge their items by `name` (an item
// merges into the one of that name, a new one is appended); a patch carrying any other list or a
// `$` directive throws, not modelled. A `metadata.resourceVersion` in the patch is a precondition
// (409 when stale); status is kept; the generation grows when the spec changes.
//
// Failures can be injected per method: `failNext` makes calls throw before they do anything (a
// lost connection, a crash), `beforeNext` lets another client act just before a call (a
// concurrent write, which makes a conditional call conflict as it would on the API server).
// A method the fake does not implement throws saying so, rather than pretending.
//
// Test-only: nothing in the operator imports this file.
import { ApiException, type KubernetesObject, type V1ObjectMeta } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { ResourceInfo } from '../../operator/src/api/resources.js';
import type { Informer } from '../../operator/src/controller/informer.js';
import type { KubeClients } from '../../operator/src/kube/clients.js';

/** A stored object: always named and namespaced here. */
export type StoredObject = KubernetesObject & {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  status?: unknown;
  spec?: unknown;
};

/** Where objects of one kind live in the store: `<group>/<plural>` for custom resources, or a core plural. */
export type Kind = string;

export const CONFIGMAPS: Kind = 'configmaps';
export const EVENTS: Kind = 'events';
/** apps/v1 Deployments. */
export const DEPLOYMENTS: Kind = 'apps/deployments';

/** The store's name for a custom resource. */
export function customKind(resource: Pick<ResourceInfo, 'group' | 'plural'>): Kind {
  return `${resource.group}/${resource.plural}`;
}

/** One API call as the fake saw it: the method, the object's name, and how it ended. */
export interface CallRecord {
  method: string;
  namespace?: string;
  name?: string;
  /** 'ok', or the HTTP code of the error it answered, or 'thrown' for an injected non-API error. */
  outcome: 'ok' | 'thrown' | number;
}

interface CustomRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

interface JsonPatchOperation {
  op: string;
  path: string;
  value?: unknown;
}

/** An error as client-node throws it for an API answer with `code`. */
export function apiError(code: number, reason: string, message: string): ApiException<string> {
  const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return new ApiException<string>(code, 'Unknown API Status Code!', JSON.stringify(status), {});
}

/** JSON round trip: what the API server stores and answers (no undefined, dates as strings). */
function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class FakeKube {
  /** Every call made through `clients`, in order. */
  readonly calls: CallRecord[] = [];
  /** The API clients the code under test gets. */
  readonly clients: KubeClients;

  private readonly objects = new Map<string, StoredObject>();
  private readonly history = new Map<string, StoredObject[]>();
  private version = 0;
  private uids = 0;
  private readonly faults: Array<{ method: string; error: unknown }> = [];
  private readonly interference: Array<{ method: string; action: () => void | Promise<void> }> = [];

  constructor(private readonly now: () => Date = () => new Date()) {
    this.clients = {
      kubeConfig: unimplemented('kubeConfig'),
      custom: unimplemented('custom', {
        getNamespacedCustomObject: (ref: CustomRef) =>
          this.call('getNamespacedCustomObject', ref, () => this.read(customKind(ref), ref)),
        createNamespacedCustomObject: (args: Omit<CustomRef, 'name'> & { body: StoredObject }) =>
          this.call('createNamespacedCustomObject', { ...args, name: args.body.metadata?.name }, () =>
            this.create(customKind(args), args.namespace, args.body, { keepStatus: false }),
          ),
        patchNamespacedCustomObject: (args: CustomRef & { body: unknown }) =>
          this.call('patchNamespacedCustomObject', args, () =>
            this.jsonPatch(customKind(args), args, args.body),
          ),
        replaceNamespacedCustomObjectStatus: (args: CustomRef & { body: StoredObject }) =>
          this.call('replaceNamespacedCustomObjectStatus', args, () =>
            this.replaceStatus(customKind(args), args, args.body),
          ),
        deleteNamespacedCustomObject: (ref: CustomRef) =>
          this.call('deleteNamespacedCustomObject', ref, () => this.remove(customKind(ref), ref)),
      }),
      core: unimplemented('core', {
        readNamespacedConfigMap: (ref: { name: string; namespace: string }) =>
          this.call('readNamespacedConfigMap', ref, () => this.read(CONFIGMAPS, ref)),
        createNamespacedConfigMap: (args: { namespace: string; body: StoredObject }) =>
          this.call('createNamespacedConfigMap', { ...args, name: args.body.metadata?.name }, () =>
            this.create(CONFIGMAPS, args.namespace, args.body, { keepStatus: true }),
          ),
        createNamespacedEvent: (args: { namespace: string; body: StoredObject }) =>
          this.call('createNamespacedEvent', { ...args, name: args.body.metadata?.name }, () =>
            this.create(EVENTS, args.namespace, args.body, { keepStatus: true }),
          ),
      }),
      apps: unimplemented('apps', {
        createNamespacedDeployment: (args: { namespace: string; body: StoredObject }) =>
          this.call('createNamespacedDeployment', { ...args, name: args.body.metadata?.name }, () =>
            this.create(DEPLOYMENTS, args.namespace, args.body, { keepStatus: false }),
          ),
        readNamespacedDeployment: (ref: { name: string; namespace: string }) =>
          this.call('readNamespacedDeployment', ref, () => this.read(DEPLOYMENTS, ref)),
        patchNamespacedDeployment: (
          args: { name: string; namespace: string; body: unknown },
          options?: HeaderOptions,
        ) =>
          this.call('patchNamespacedDeployment', args, () =>
            this.strategicMergePatch(DEPLOYMENTS, args, args.body, contentTypeOf(options)),
          ),
      }),
      objects: unimplemented('objects'),
    } as unknown as KubeClients;
  }

  // -- Injection ----------------------------------------------------------------------------------

  /** The next `times` calls of `method` throw `error` and do nothing else. */
  failNext(method: string, error: unknown, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ method, error });
  }

  /** Another client runs `action` just before each of the next `times` calls of `method`. */
  beforeNext(method: string, action: () => void | Promise<void>, times = 1): void {
    for (let i = 0; i < times; i++) this.interference.push({ method, action });
  }

  /** How many calls of `method` were made (whatever their outcome). */
  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  // -- Looking at the store (not API calls) -------------------------------------------------------

  /** The object as stored now, or undefined. */
  peek<T extends StoredObject = StoredObject>(kind: Kind, namespace: string, name: string): T | undefined {
    const stored = this.objects.get(key(kind, namespace, name));
    return stored ? (json(stored) as T) : undefined;
  }

  /** Every version of the object the store held, oldest first (a deleted object's included). */
  versions<T extends StoredObject = StoredObject>(kind: Kind, namespace: string, name: string): T[] {
    return json(this.history.get(key(kind, namespace, name)) ?? []) as T[];
  }

  /** The objects of `kind` (in `namespace`, or in all), in the order they were created. */
  list<T extends StoredObject = StoredObject>(kind: Kind, namespace?: string): T[] {
    const prefix = namespace === undefined ? `${kind}|` : key(kind, namespace, '');
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, obj]) => json(obj) as T);
  }

  /** An informer over `kind`, as the reconcilers get one, indexed by `indexBy` when given. */
  informer<T extends StoredObject>(kind: Kind, indexBy?: (obj: T) => string | undefined): FakeInformer<T> {
    return new FakeInformer<T>(this, kind, indexBy);
  }

  // -- The API server -----------------------------------------------------------------------------

  private async call<T>(
    method: string,
    ref: { namespace?: string; name?: string | undefined },
    run: () => T,
  ): Promise<T> {
    const record: CallRecord = {
      method,
      ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
      ...(ref.name !== undefined ? { name: ref.name } : {}),
      outcome: 'ok',
    };
    const before = this.interference.findIndex((each) => each.method === method);
    if (before >= 0) await this.interference.splice(before, 1)[0]!.action();
    this.calls.push(record);
    const fault = this.faults.findIndex((each) => each.method === method);
    if (fault >= 0) {
      const { error } = this.faults.splice(fault, 1)[0]!;
      record.outcome = error instanceof ApiException ? error.code : 'thrown';
      throw error;
    }
    try {
      return run();
    } catch (error) {
      if (error instanceof ApiException) record.outcome = error.code;
      throw error;
    }
  }

  private read(kind: Kind, ref: { namespace: string; name: string }): StoredObject {
    const stored = this.objects.get(key(kind, ref.namespace, ref.name));
    if (!stored) throw notFound(kind, ref.name);
    return json(stored);
  }

  private create(
    kind: Kind,
    namespace: string,
    body: StoredObject,
    options: { keepStatus: boolean },
  ): StoredObject {
    const name = body.metadata?.name;
    if (!name) throw apiError(422, 'Invalid', `${kind}: metadata.name: Required value`);
    if (body.metadata.namespace && body.metadata.namespace !== namespace) {
      throw apiError(400, 'BadRequest', 'the namespace of the provided object does not match the request');
    }
    if (this.objects.has(key(kind, namespace, name))) {
      throw apiError(409, 'AlreadyExists', `${resourceName(kind)} "${name}" already exists`);
    }
    const obj = json(body);
    // A custom resource with a status subresource is created without status.
    if (!options.keepStatus) delete obj.status;
    obj.metadata = {
      ...obj.metadata,
      namespace,
      uid: `00000000-0000-4000-8000-${String(++this.uids).padStart(12, '0')}`,
      creationTimestamp: this.now().toISOString() as unknown as Date,
      generation: 1,
    };
    delete obj.metadata.deletionTimestamp;
    return this.store(kind, obj);
  }

  /** PUT .../status: only status changes; stale resourceVersion is a conflict. */
  private replaceStatus(kind: Kind, ref: CustomRef, body: StoredObject): StoredObject {
    const current = this.read(kind, ref);
    this.checkVersion(kind, current, body.metadata?.resourceVersion);
    const next = json({ ...current, status: body.status });
    return this.update(kind, current, next);
  }

  private jsonPatch(kind: Kind, ref: CustomRef, patch: unknown): StoredObject {
    if (!Array.isArray(patch)) {
      // client-node sends custom-object patches as application/json-patch+json unless told
      // otherwise; other patch types are not modelled here.
      throw new Error('fake-kube: patchNamespacedCustomObject supports JSON patches (an array) only');
    }
    const current = this.read(kind, ref);
    let doc: unknown = json(current);
    for (const operation of patch as JsonPatchOperation[]) doc = applyOperation(doc, operation);
    const next = doc as StoredObject;
    // The main resource ignores status (a status subresource); identity cannot change.
    if (current.status === undefined) delete next.status;
    else next.status = current.status;
    next.metadata = { ...next.metadata, name: current.metadata.name, namespace: current.metadata.namespace };
    next.metadata.uid = current.metadata.uid;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (current.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      const added = (next.metadata.finalizers ?? []).filter(
        (f) => !(current.metadata.finalizers ?? []).includes(f),
      );
      if (added.length > 0) {
        throw apiError(
          422,
          'Invalid',
          `${resourceName(kind)} "${ref.name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted`,
        );
      }
    } else {
      delete next.metadata.deletionTimestamp;
    }
    if (!isDeepStrictEqual(next.spec, current.spec)) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    return this.update(kind, current, next);
  }

  /** PATCH with application/strategic-merge-patch+json, as far as the header says it models. */
  private strategicMergePatch(
    kind: Kind,
    ref: { namespace: string; name: string },
    patch: unknown,
    contentType: string,
  ): StoredObject {
    if (contentType !== STRATEGIC_MERGE_PATCH) {
      throw new Error(
        `fake-kube: ${resourceName(kind)} patches are modelled as ${STRATEGIC_MERGE_PATCH} only, not ${contentType}`,
      );
    }
    if (!isRecord(patch)) throw invalidPatch('a strategic-merge patch is an object');
    const current = this.read(kind, ref);
    const precondition = isRecord(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (precondition !== undefined) this.checkVersion(kind, current, String(precondition));
    const next = strategicMerge(current, patch, '') as StoredObject;
    if (current.status === undefined) delete next.status;
    else next.status = current.status;
    next.metadata = {
      ...next.metadata,
      name: current.metadata.name,
      namespace: current.metadata.namespace,
      uid: current.metadata.uid,
      resourceVersion: current.metadata.resourceVersion,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: current.metadata.generation,
    };
    if (!isDeepStrictEqual(next.spec, current.spec)) {
      next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    return this.update(kind, current, next);
  }

  private remove(kind: Kind, ref: CustomRef): StoredObject {
    const current = this.read(kind, ref);
    if ((current.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(key(kind, ref.namespace, ref.name));
      return current;
    }
    if (current.metadata.deletionTimestamp) return current;
    const next = json(current);
    next.metadata.deletionTimestamp = this.now().toISOString() as unknown as Date;
    next.metadata.deletionGracePeriodSeconds = 0;
    return this.update(kind, current, next);
  }

  private checkVersion(kind: Kind, current: StoredObject, version: string | undefined): void {
    if (version !== undefined && version !== current.metadata.resourceVersion) {
      throw apiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resourceName(kind)} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
  }

  /** Stores `next` over `current`: a new version when it differs; gone when deletion has nothing left to wait for. */
  private update(kind: Kind, current: StoredObject, next: StoredObject): StoredObject {
    if (isDeepStrictEqual(json(next), current)) return current;
    const stored = this.store(kind, next);
    if (stored.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(key(kind, stored.metadata.namespace, stored.metadata.name));
    }
    return stored;
  }

  private store(kind: Kind, obj: StoredObject): StoredObject {
    obj.metadata.resourceVersion = String(++this.version);
    const k = key(kind, obj.metadata.namespace, obj.metadata.name);
    const stored = json(obj);
    this.objects.set(k, stored);
    this.history.set(k, [...(this.history.get(k) ?? []), stored]);
    return json(stored);
  }
}

/**
 * The reconcilers' view of the store: `get` and `list`, as the real informer's cache answers
 * them. `freeze()` makes the cache keep showing the objects as they are at that moment (a watch
 * that has not delivered the newer versions yet) until `catchUp()`.
 */
export class FakeInformer<T extends StoredObject> {
  private frozen: Map<string, T> | undefined;

  constructor(
    private readonly fake: FakeKube,
    private readonly kind: Kind,
    private readonly indexBy?: (obj: T) => string | undefined,
  ) {}

  get(name: string, namespace?: string): T | undefined {
    return this.list(namespace).find((obj) => obj.metadata.name === name);
  }

  list(namespace?: string): readonly T[] {
    const all = this.frozen ? json([...this.frozen.values()]) : this.current();
    return namespace === undefined ? all : all.filter((obj) => obj.metadata.namespace === namespace);
  }

  indexed(key: string): readonly T[] {
    if (!this.indexBy) throw new Error(`the fake informer of ${this.kind} has no index`);
    return this.list().filter((obj) => this.indexBy!(obj) === key);
  }

  /** The cache stops following the store. */
  freeze(): void {
    this.frozen = new Map(
      this.current().map((obj) => [`${obj.metadata.namespace}/${obj.metadata.name}`, obj]),
    );
  }

  /** The watch delivers what it held back: the cache shows the store again. */
  catchUp(): void {
    this.frozen = undefined;
  }

  /** Typed as the operator's Informer; only `get`, `list` and `indexed` exist. */
  asInformer(): Informer<T> {
    return this as unknown as Informer<T>;
  }

  private current(): T[] {
    return this.fake.list<T>(this.kind);
  }
}

function key(kind: Kind, namespace: string, name: string): string {
  return `${kind}|${namespace}|${name}`;
}

/** `improvementcycles.hyperagents.io` or `configmaps`, as the API server names them in messages. */
function resourceName(kind: Kind): string {
  const slash = kind.indexOf('/');
  return slash < 0 ? kind : `${kind.slice(slash + 1)}.${kind.slice(0, slash)}`;
}

function notFound(kind: Kind, name: string): ApiException<string> {
  return apiError(404, 'NotFound', `${resourceName(kind)} "${name}" not found`);
}

/** An object whose methods are `methods`; any other property throws naming what is missing. */
function unimplemented(what: string, methods: Record<string, unknown> = {}): unknown {
  return new Proxy(methods, {
    get(target, property) {
      if (typeof property === 'symbol' || property === 'then') return undefined;
      if (property in target) return target[property];
      throw new Error(`fake-kube does not implement ${what}.${property}`);
    },
  });
}

// -- Strategic-merge patch (the part a Deployment's container patch needs) -------------------------

const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
/** What client-node sends a patch as when the caller sets no Content-Type. */
const DEFAULT_PATCH_TYPE = 'application/json-patch+json';
/** The lists modelled, each merged by its patch merge key `name` as the API server merges them. */
const MERGED_BY_NAME = new Set(['containers', 'initContainers', 'env']);

/** client-node's per-call options, as `setHeaderOptions` makes them. */
interface HeaderOptions {
  middleware?: Array<{ pre?: (context: { setHeaderParam(key: string, value: string): void }) => unknown }>;
}

/** The Content-Type a call's header middleware sets (client-node's default when none does). */
function contentTypeOf(options: HeaderOptions | undefined): string {
  const headers = new Map<string, string>();
  for (const middleware of options?.middleware ?? []) {
    middleware.pre?.({ setHeaderParam: (key, value) => headers.set(key.toLowerCase(), value) });
  }
  return headers.get('content-type') ?? DEFAULT_PATCH_TYPE;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `original` with `patch` merged in; `field` is the name `patch` is the value of. */
function strategicMerge(original: unknown, patch: unknown, field: string): unknown {
  if (Array.isArray(patch)) {
    if (!MERGED_BY_NAME.has(field)) {
      throw new Error(`fake-kube: a strategic-merge patch of the list ${field} is not modelled`);
    }
    const merged = Array.isArray(original) ? json(original as unknown[]) : [];
    for (const item of patch as unknown[]) {
      if (!isRecord(item) || typeof item.name !== 'string') {
        throw invalidPatch(`${field}: each item of a strategic-merge patch needs its merge key name`);
      }
      const index = merged.findIndex((each) => isRecord(each) && each.name === item.name);
      if (index >= 0) merged[index] = strategicMerge(merged[index], item, '');
      else merged.push(strategicMerge({}, item, ''));
    }
    return merged;
  }
  if (!isRecord(patch)) return json(patch);
  const result: Record<string, unknown> = isRecord(original) ? json(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$'))
      throw new Error(`fake-kube: the strategic-merge directive ${key} is not modelled`);
    if (value === null) delete result[key];
    else result[key] = strategicMerge(result[key], value, key);
  }
  return result;
}

// -- JSON patch (RFC 6902: add, remove, replace, test) ---------------------------------------------

function invalidPatch(message: string): ApiException<string> {
  // The API server answers a patch that cannot be applied (a failed test included) with 422.
  return apiError(422, 'Invalid', message);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw invalidPatch(`JSON pointer ${path} does not start with /`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyOperation(doc: unknown, operation: JsonPatchOperation): unknown {
  const tokens = pointer(operation.path);
  if (operation.op === 'test') {
    const found = lookup(doc, tokens);
    if (!found.exists || !isDeepStrictEqual(found.value, operation.value)) {
      throw invalidPatch(`testing value ${operation.path} failed: test failed`);
    }
    return doc;
  }
  if (!['add', 'remove', 'replace'].includes(operation.op)) {
    throw new Error(`fake-kube: JSON patch operation ${operation.op} is not modelled`);
  }
  if (tokens.length === 0) {
    if (operation.op === 'remove') throw invalidPatch('cannot remove the whole document');
    return json(operation.value);
  }
  const parentTokens = tokens.slice(0, -1);
  const last = tokens[tokens.length - 1]!;
  const parent = lookup(doc, parentTokens);
  if (!parent.exists || typeof parent.value !== 'object' || parent.value === null) {
    throw invalidPatch(`${operation.op} operation does not apply: doc is missing path: ${operation.path}`);
  }
  if (Array.isArray(parent.value)) {
    const list = parent.value as unknown[];
    const index = last === '-' ? list.length : Number(last);
    const bound = operation.op === 'add' ? list.length : list.length - 1;
    if (!Number.isInteger(index) || index < 0 || index > bound) {
      throw invalidPatch(`${operation.op} operation does not apply: index out of range: ${operation.path}`);
    }
    if (operation.op === 'add') list.splice(index, 0, json(operation.value));
    else if (operation.op === 'remove') list.splice(index, 1);
    else list[index] = json(operation.value);
    return doc;
  }
  const record = parent.value as Record<string, unknown>;
  if (operation.op !== 'add' && !(last in record)) {
    throw invalidPatch(`${operation.op} operation does not apply: doc is missing key: ${operation.path}`);
  }
  if (operation.op === 'remove') delete record[last];
  else record[last] = json(operation.value);
  return doc;
}

function lookup(doc: unknown, tokens: string[]): { exists: boolean; value?: unknown } {
  let value = doc;
  for (const token of tokens) {
    if (typeof value !== 'object' || value === null || !(token in value)) return { exists: false };
    value = (value as Record<string, unknown>)[token];
  }
  return { exists: true, value };
}
