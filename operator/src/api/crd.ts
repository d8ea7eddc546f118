// Turns the TypeBox schemas of schema.ts into CustomResourceDefinitions.
//
// Kubernetes accepts only "structural" OpenAPI v3 schemas, a subset of JSON Schema. Rather than
// silently dropping what it does not know, the converter refuses unknown keywords, so a schema
// change that Kubernetes would reject (a TypeBox union, say) fails at generation time.
import { dump } from 'js-yaml';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  GROUP,
  HyperAgentSpec,
  HyperAgentStatus,
  ImprovementCycleSpec,
  ImprovementCycleStatus,
  VERSION,
} from './schema.js';

type JsonSchema = Record<string, unknown>;

const ALLOWED_KEYWORDS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'default',
  'enum',
  'format',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'nullable',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
]);

/**
 * Converts one TypeBox schema to a structural OpenAPI schema.
 * Throws when the schema uses a keyword Kubernetes does not accept or a field lacks a description.
 */
export function toStructural(schema: TSchema | JsonSchema, path = '$'): JsonSchema {
  const input = schema as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(input)) {
    if (!ALLOWED_KEYWORDS.has(key)) {
      throw new Error(`${path}: keyword '${key}' is not allowed in a structural CRD schema`);
    }
    out[key] = value;
  }
  if (typeof out.description !== 'string' || out.description.length === 0) {
    throw new Error(`${path}: every field needs a description (kubectl explain shows it)`);
  }
  // OpenAPI v3.0 (what CRDs use) has boolean exclusive bounds; JSON Schema has numeric ones.
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[exclusive] === 'number') {
      out[bound] = out[exclusive];
      out[exclusive] = true;
    }
  }
  // An object defaulted to {} is written with its nested defaults filled in: the API server checks
  // defaults against CEL rules as they are written, before nested defaulting would apply.
  if (input.properties && isPlainObject(out.default)) {
    out.default = Value.Default(schema as TSchema, structuredClone(out.default));
  }
  if (input.properties) {
    const properties: JsonSchema = {};
    for (const [name, child] of Object.entries(input.properties as Record<string, JsonSchema>)) {
      properties[name] = toStructural(child, `${path}.${name}`);
    }
    out.properties = properties;
    // A defaulted field is filled in by the API server before validation, so users may omit it.
    const required = ((input.required as string[] | undefined) ?? []).filter(
      (name) => (input.properties as Record<string, JsonSchema>)[name]?.default === undefined,
    );
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (input.items) out.items = toStructural(input.items as JsonSchema, `${path}[]`);
  if (input.additionalProperties && typeof input.additionalProperties === 'object') {
    out.additionalProperties = toStructural(
      { description: `${String(out.description)} (value)`, ...(input.additionalProperties as JsonSchema) },
      `${path}{}`,
    );
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One additionalPrinterColumns entry (`kubectl get` columns). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description: string;
  priority?: number;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  columns: PrinterColumn[];
  rootRules?: { rule: string; message: string }[];
}

const CATEGORY = 'hyper';

function buildCrd(input: CrdInput): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'hyperagent-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: input.description,
              required: ['spec'],
              properties: {
                apiVersion: {
                  type: 'string',
                  description: 'Versioned schema of this representation of an object.',
                },
                kind: { type: 'string', description: 'REST resource this object represents.' },
                metadata: { type: 'object' },
                spec: toStructural(input.spec, `${input.kind}.spec`),
                status: toStructural(input.status, `${input.kind}.status`),
              },
              ...(input.rootRules ? { 'x-kubernetes-validations': input.rootRules } : {}),
            },
          },
        },
      ],
    },
  };
}

/** The two CRDs of the API, in install order. */
export function buildCrds(): { fileName: string; crd: JsonSchema }[] {
  const hyperAgent = buildCrd({
    kind: 'HyperAgent',
    plural: 'hyperagents',
    singular: 'hyperagent',
    shortNames: ['ha'],
    description:
      'A HyperAgent improves one service towards a goal through improvement cycles, within immutable anchors.',
    spec: HyperAgentSpec,
    status: HyperAgentStatus,
    rootRules: [
      {
        rule: 'size(self.metadata.name) <= 52',
        message: 'HyperAgent names are at most 52 characters, since they name and label its cycles',
      },
    ],
    columns: [
      {
        name: 'Phase',
        type: 'string',
        jsonPath: '.status.phase',
        description: 'Idle, Suspended or cycle phase',
      },
      { name: 'Stable', type: 'string', jsonPath: '.status.stableRevision', description: 'Stable revision' },
      { name: 'Canary', type: 'string', jsonPath: '.status.canary.revision', description: 'Canary revision' },
      {
        name: 'Weight',
        type: 'integer',
        jsonPath: '.status.canary.weight',
        description: 'Canary weight (%)',
      },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' },
      {
        name: 'Last-Cycle',
        type: 'string',
        jsonPath: '.status.lastCycle.phase',
        description: 'Outcome of the last cycle',
        priority: 1,
      },
    ],
  });
  const cycle = buildCrd({
    kind: 'ImprovementCycle',
    plural: 'improvementcycles',
    singular: 'improvementcycle',
    shortNames: ['hacycle'],
    description: 'One run of a HyperAgent: represent, propose, evaluate, select, deliver.',
    spec: ImprovementCycleSpec,
    status: ImprovementCycleStatus,
    columns: [
      { name: 'Agent', type: 'string', jsonPath: '.spec.agent', description: 'Owning HyperAgent' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the cycle' },
      { name: 'Reason', type: 'string', jsonPath: '.status.reason', description: 'Reason for the phase' },
      { name: 'Selected', type: 'string', jsonPath: '.status.selected', description: 'Selected candidate' },
      {
        name: 'Weight',
        type: 'integer',
        jsonPath: '.status.canary.weight',
        description: 'Traffic share of the canary, percent',
      },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' },
    ],
  });
  return [
    { fileName: 'hyperagents.io_hyperagents.yaml', crd: hyperAgent },
    { fileName: 'hyperagents.io_improvementcycles.yaml', crd: cycle },
  ];
}

/** Where the generated CRDs are checked in: the plain manifests and the Helm chart's copy. */
export const CRD_DIRECTORIES = ['crds', 'charts/hyperagent-operator/crds'];

export const GENERATED_HEADER =
  '# Generated by `npm run generate` from operator/src/api/schema.ts. Do not edit.\n';

/** The YAML text of one CRD file exactly as it is checked in. */
export function renderCrdYaml(crd: JsonSchema): string {
  return GENERATED_HEADER + dump(crd, { lineWidth: 100, noRefs: true, sortKeys: false });
}
