// OpenAPI 3 and Swagger 2 documents of the repository: the HTTP surface a proposer must keep.
import { load } from 'js-yaml';
import type { ApiSchemaNode } from './graph.js';
import { languageOf } from './language.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Cheap test before parsing: a top-level `openapi`/`swagger` key in YAML, or the key anywhere in JSON. */
const YAML_MARKER = /^["']?(openapi|swagger)["']?\s*:/m;
const JSON_MARKER = /"(openapi|swagger)"\s*:/;

/** The API schema documents among `texts` (path → text), in path order; other files are ignored. */
export function findApiSchemas(texts: ReadonlyMap<string, string>): ApiSchemaNode[] {
  const schemas: ApiSchemaNode[] = [];
  for (const [path, text] of texts) {
    const document = parseCandidate(path, text);
    if (document) schemas.push(describeSchema(path, document));
  }
  return schemas.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function parseCandidate(path: string, text: string): Record<string, unknown> | undefined {
  const language = languageOf(path);
  const marker = language === 'json' ? JSON_MARKER : language === 'yaml' ? YAML_MARKER : undefined;
  if (!marker?.test(text)) return undefined;
  let document: unknown;
  try {
    document = language === 'json' ? JSON.parse(text) : load(text);
  } catch {
    // Multi-document YAML, templates and broken files are simply not API schemas.
    return undefined;
  }
  if (!isRecord(document)) return undefined;
  return 'openapi' in document || 'swagger' in document ? document : undefined;
}

function describeSchema(path: string, document: Record<string, unknown>): ApiSchemaNode {
  const info = isRecord(document.info) ? document.info : {};
  const node: ApiSchemaNode = { path, operations: [] };
  if (typeof info.title === 'string') node.title = info.title;
  if (typeof info.version === 'string' || typeof info.version === 'number')
    node.version = String(info.version);
  const paths = isRecord(document.paths) ? document.paths : {};
  for (const [route, item] of Object.entries(paths)) {
    if (!isRecord(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!isRecord(operation)) continue;
      node.operations.push({
        method: method.toUpperCase(),
        path: route,
        ...(typeof operation.operationId === 'string' ? { operationId: operation.operationId } : {}),
      });
    }
  }
  return node;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
