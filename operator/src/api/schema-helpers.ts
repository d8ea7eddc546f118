// Small builders over TypeBox that keep the schema source readable and Kubernetes-shaped.
//
// Every field in the CRDs carries a description (kubectl explain teaches the API), so each helper
// takes one. Fields that the API server defaults are *required* in the TypeScript types (objects
// read from the API always have them) and are dropped from `required` when the CRD is generated.
import {
  FormatRegistry,
  Kind,
  Type,
  TypeRegistry,
  type TSchema,
  type SchemaOptions,
} from '@sinclair/typebox';

export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath-like field the error is reported on, relative to the schema the rule sits on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Options every field builder accepts: a mandatory description plus CEL rules. */
export interface FieldOptions extends SchemaOptions {
  description: string;
  rules?: CelRule[];
}

/** Moves `rules` into the CRD's `x-kubernetes-validations` keyword. */
export function withRules<T extends FieldOptions>(options: T): SchemaOptions {
  const { rules, ...rest } = options;
  return rules && rules.length > 0 ? { ...rest, 'x-kubernetes-validations': rules } : rest;
}

// TypeBox's own checker (used by the offline tools) must know the custom kinds and formats the
// schema uses; the API server knows them already.
const STRING_ENUM_KIND = 'HyperAgentStringEnum';
if (!TypeRegistry.Has(STRING_ENUM_KIND)) {
  TypeRegistry.Set<{ enum: string[] }>(
    STRING_ENUM_KIND,
    (schema, value) => typeof value === 'string' && schema.enum.includes(value),
  );
}
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)));
}

const MAP_KIND = 'HyperAgentMap';
if (!TypeRegistry.Has(MAP_KIND)) {
  TypeRegistry.Set<{ additionalProperties: { type: string; maxLength?: number }; maxProperties?: number }>(
    MAP_KIND,
    (schema, value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const entries = Object.values(value);
      if (schema.maxProperties !== undefined && entries.length > schema.maxProperties) return false;
      const { type, maxLength } = schema.additionalProperties;
      return entries.every(
        (entry) =>
          typeof entry === type && (maxLength === undefined || (entry as string).length <= maxLength),
      );
    },
  );
}

/** An object of free keys whose values are all strings (or all numbers): a Kubernetes map. */
export function MapOf<V extends 'string' | 'number'>(
  valueType: V,
  options: FieldOptions & { maxLength?: number; maxProperties?: number },
) {
  const { maxLength, ...rest } = options;
  return Type.Unsafe<Record<string, V extends 'string' ? string : number>>({
    [Kind]: MAP_KIND,
    type: 'object',
    additionalProperties: { type: valueType, ...(maxLength !== undefined ? { maxLength } : {}) },
    ...withRules(rest),
  });
}

/** A string limited to the given values, as a plain `enum` (TypeBox unions are not structural). */
export function StringEnum<const T extends readonly string[]>(values: T, options: FieldOptions) {
  return Type.Unsafe<T[number]>({
    [Kind]: STRING_ENUM_KIND,
    type: 'string',
    enum: [...values],
    ...withRules(options),
  });
}

/** A Go-style duration such as `30s`, `5m` or `1h30m`, as Kubernetes CEL's duration() parses it. */
export function Duration(options: FieldOptions) {
  return Type.String({
    pattern: DURATION_PATTERN,
    maxLength: 32,
    ...withRules(options),
  });
}

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/**
 * A CEL rule comparing a duration field with a bound. It is guarded by the field's pattern, so a
 * malformed value gets the pattern's message only, not a second CEL conversion error.
 */
export function minDurationRule(bound: string, message: string): CelRule {
  return {
    rule: `!self.matches('${DURATION_PATTERN.replaceAll('\\', '\\\\')}') || duration(self) >= duration('${bound}')`,
    message,
  };
}

/** A Kubernetes resource quantity such as `500m` or `1Gi`. */
export function Quantity(options: FieldOptions) {
  const rules: CelRule[] = [
    {
      rule: "isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",
      message: 'must be a positive Kubernetes quantity such as 500m, 2 or 1Gi',
    },
    ...(options.rules ?? []),
  ];
  return Type.String({ maxLength: 32, ...withRules({ ...options, rules }) });
}

/** A lower-case DNS-1123 name of at most 63 characters (Deployments, containers, Services, Secrets). */
export function DnsLabel(options: FieldOptions) {
  return Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    ...withRules(options),
  });
}

/** A path inside the repository: relative, and never stepping out of the tree. */
export function RepoPath(options: FieldOptions) {
  const rules: CelRule[] = [
    {
      rule: "!self.startsWith('/')",
      message: 'must be a path relative to the repository root, not absolute',
    },
    {
      rule: "!self.matches('(^|/)[.][.](/|$)')",
      message: "must not contain '..': paths stay inside the repository",
    },
    {
      // Kept in step with specPathProblem (policy/repo-path.ts), which the CLI applies.
      // One regular expression: a list of contains() calls costs more than the CRD budget allows.
      rule: "!self.matches('[*?{}!\\\\[\\\\]]')",
      message:
        "is a repository path, not a glob pattern (*, ?, [, ], {, } and ! are not allowed): name the directory, which covers everything under it ('src/safety', not 'src/safety/**'), or the file",
    },
    ...(options.rules ?? []),
  ];
  return Type.String({ minLength: 1, maxLength: 512, ...withRules({ ...options, rules }) });
}

/** An RFC 3339 timestamp written by the operator. */
export function Timestamp(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** Marks a schema as a Kubernetes list-map keyed by `keys` (unique keys, merged by key in SSA). */
export function listMap<T extends TSchema>(schema: T, keys: string[]): T {
  return { ...schema, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys };
}
