// Writes a standalone JSON schema per API kind of the running cluster, for kubeconform, from the
// API server's own OpenAPI v3 documents (`kubectl get --raw /openapi/v3/...`): no download, and
// exactly the kinds and fields this cluster serves.
//
//   node --import tsx test/support/openapi-schemas.ts <out-dir>
//
// Layout: <out-dir>/<group>/<version>/<kind, lower case>.json, the core group under "v1/v1/",
// which is what kubeconform's template
//   -schema-location '<out-dir>/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json'
// resolves to ({{ .Group }} is the part of apiVersion before the slash, so "v1" for the core group).
//
// Each file is a draft-4 schema: the kind's schema at the root and, under "definitions", every
// schema it reaches, with "#/components/schemas/X" references rewritten to "#/definitions/X".
// The schemas are strict: an object schema that lists its properties and says nothing about others
// (and does not preserve unknown fields) refuses any other property, so a misspelt or misplaced
// field fails. OpenAPI's `nullable: true` becomes a "null" type.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const run = promisify(execFile);
const COMPONENT_REF = '#/components/schemas/';

async function getRaw(path: string): Promise<Schema> {
  const { stdout } = await run('kubectl', ['get', '--raw', path], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as Schema;
}

function isObject(value: Json | undefined): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One schema converted (recursively, through its subschemas); `refs` collects the components it names. */
function convert(schema: Schema, refs: Set<string>): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description' || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string') {
      if (!value.startsWith(COMPONENT_REF)) throw new Error(`unexpected reference ${value}`);
      const name = value.slice(COMPONENT_REF.length);
      refs.add(name);
      out.$ref = `#/definitions/${name}`;
    } else if ((key === 'properties' || key === 'patternProperties') && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, isObject(sub) ? convert(sub, refs) : sub]),
      );
    } else if ((key === 'additionalProperties' || key === 'items' || key === 'not') && isObject(value)) {
      out[key] = convert(value, refs);
    } else if (
      (key === 'allOf' || key === 'anyOf' || key === 'oneOf' || key === 'items') &&
      Array.isArray(value)
    ) {
      out[key] = value.map((sub) => (isObject(sub) ? convert(sub, refs) : sub));
    } else {
      out[key] = value;
    }
  }
  const strict =
    isObject(out.properties) &&
    out.additionalProperties === undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true;
  if (strict) out.additionalProperties = false;
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.type === undefined) return { anyOf: [{ type: 'null' }, out] };
  }
  return out;
}

/** The group-version documents the server lists: [path, group, version]. */
async function groupVersions(): Promise<[string, string, string][]> {
  const index = await getRaw('/openapi/v3');
  const paths = Object.keys(isObject(index.paths) ? index.paths : {});
  const out: [string, string, string][] = [];
  for (const path of paths) {
    if (path === 'api/v1') out.push([path, '', 'v1']);
    const match = /^apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (match) out.push([path, match[1]!, match[2]!]);
  }
  return out;
}

async function main(): Promise<void> {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: openapi-schemas.ts <out-dir>');
  const documents = await Promise.all(
    (await groupVersions()).map(async ([path, group, version]) => ({
      group,
      version,
      document: await getRaw(`/openapi/v3/${path}`),
    })),
  );
  let kinds = 0;
  for (const { group, version, document } of documents) {
    const components = (document.components as Schema | undefined)?.schemas;
    if (!isObject(components)) continue;
    const converted = new Map<string, { schema: Schema; refs: Set<string> }>();
    const convertedComponent = (name: string) => {
      let entry = converted.get(name);
      if (!entry) {
        const component = components[name];
        if (!isObject(component)) throw new Error(`${group}/${version}: no schema ${name}`);
        const refs = new Set<string>();
        entry = { schema: convert(component, refs), refs };
        converted.set(name, entry);
      }
      return entry;
    };
    for (const [name, component] of Object.entries(components)) {
      if (!isObject(component)) continue;
      const gvks = (component['x-kubernetes-group-version-kind'] ?? []) as unknown as Gvk[];
      const own = gvks.filter((gvk) => gvk.group === group && gvk.version === version);
      if (own.length === 0) continue;
      // every component the kind reaches, for "definitions"
      const definitions: Schema = {};
      const pending = [...convertedComponent(name).refs];
      while (pending.length > 0) {
        const next = pending.pop()!;
        if (next in definitions) continue;
        const entry = convertedComponent(next);
        definitions[next] = entry.schema;
        pending.push(...entry.refs);
      }
      for (const gvk of own) {
        const dir = join(outDir, group || version, version);
        mkdirSync(dir, { recursive: true });
        const file: Schema = {
          $schema: 'http://json-schema.org/draft-04/schema#',
          ...convertedComponent(name).schema,
          definitions,
        };
        writeFileSync(join(dir, `${gvk.kind.toLowerCase()}.json`), JSON.stringify(file));
        kinds++;
      }
    }
  }
  if (kinds === 0) throw new Error('the API server described no kinds');
  console.log(`openapi-schemas: ${kinds} kinds from ${documents.length} group-versions in ${outDir}`);
}

main().catch((error: unknown) => {
  console.error(`openapi-schemas: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
