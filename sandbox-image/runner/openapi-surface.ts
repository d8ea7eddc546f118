// The HTTP surface of an OpenAPI 3 or Swagger 2 document, one line per operation: method, path,
// parameter names with their location and whether they are required, the request body's presence,
// and the response codes. Descriptions, examples and schemas stay out, so rewording the document
// or reformatting it leaves the lines as they are.

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** How many `$ref` hops are followed before giving up (documents may be circular). */
const MAX_REF_HOPS = 8;

type Json = Record<string, unknown>;

/** The operation lines of `document`, unsorted; undefined when it is not an OpenAPI or Swagger document. */
export function openApiOperations(document: unknown): string[] | undefined {
  if (!isRecord(document) || !('openapi' in document || 'swagger' in document)) return undefined;
  const resolve = (value: unknown): unknown => resolveRef(document, value);
  const paths = resolve(document.paths);
  if (!isRecord(paths)) return [];
  const lines: string[] = [];
  for (const [route, rawItem] of Object.entries(paths)) {
    const item = resolve(rawItem);
    if (!isRecord(item)) continue;
    const shared = parameters(item.parameters, resolve);
    for (const method of METHODS) {
      const operation = resolve(item[method]);
      if (!isRecord(operation)) continue;
      // An operation's parameter replaces a path-level one of the same location and name.
      const merged = new Map([...shared, ...parameters(operation.parameters, resolve)]);
      const body = resolve(operation.requestBody);
      const bodyText = isRecord(body) ? (body.required === true ? 'required' : 'optional') : 'none';
      const responses = resolve(operation.responses);
      const codes = isRecord(responses) ? Object.keys(responses).sort() : [];
      const params = [...merged.values()].sort().join(',');
      lines.push(
        `${method.toUpperCase()} ${route} params(${params}) body(${bodyText}) responses(${codes.join(',')})`,
      );
    }
  }
  return lines;
}

/** `in:name` → `in:name` plus `!` when required; unresolvable references are kept by their target. */
function parameters(list: unknown, resolve: (value: unknown) => unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (!Array.isArray(list)) return found;
  for (const raw of list) {
    const parameter = resolve(raw);
    if (!isRecord(parameter)) continue;
    if (typeof parameter.$ref === 'string') {
      found.set(`ref:${parameter.$ref}`, `ref:${parameter.$ref}`);
      continue;
    }
    const key = `${String(parameter.in)}:${String(parameter.name)}`;
    found.set(key, `${key}${parameter.required === true || parameter.in === 'path' ? '!' : ''}`);
  }
  return found;
}

/** Follows local `#/…` references; anything else is returned unchanged. */
function resolveRef(document: Json, value: unknown): unknown {
  let current = value;
  for (let hop = 0; hop < MAX_REF_HOPS; hop++) {
    if (!isRecord(current) || typeof current.$ref !== 'string' || !current.$ref.startsWith('#/'))
      return current;
    let target: unknown = document;
    for (const token of current.$ref.slice(2).split('/')) {
      const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
      target = isRecord(target) && Object.hasOwn(target, key) ? target[key] : undefined;
    }
    if (target === undefined) return current;
    current = target;
  }
  return current;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
