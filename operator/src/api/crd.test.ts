import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { CRD_DIRECTORIES, buildCrds, renderCrdYaml, toStructural } from './crd.js';

test('the checked-in CRDs are exactly what the schema generates (run `npm run generate`)', () => {
  for (const dir of CRD_DIRECTORIES) {
    for (const { fileName, crd } of buildCrds()) {
      const onDisk = readFileSync(join(dir, fileName), 'utf8');
      assert.equal(
        onDisk,
        renderCrdYaml(crd),
        `${join(dir, fileName)} drifted from operator/src/api/schema.ts`,
      );
    }
  }
});

test('the converter refuses what Kubernetes would refuse, and missing descriptions', () => {
  assert.throws(
    () => toStructural(Type.Union([Type.String(), Type.Number()], { description: 'x' })),
    /keyword 'anyOf' is not allowed/,
  );
  assert.throws(
    () => toStructural(Type.Object({ a: Type.String() }, { description: 'outer' })),
    /\$\.a: every field needs a description/,
  );
});

test('defaulted fields are optional in the CRD, and object defaults carry their nested defaults', () => {
  const schema = toStructural(
    Type.Object(
      {
        must: Type.String({ description: 'm' }),
        inner: Type.Object(
          { size: Type.Integer({ default: 3, description: 's' }) },
          { default: {}, description: 'i' },
        ),
      },
      { description: 'o' },
    ),
  );
  assert.deepEqual(schema.required, ['must']);
  assert.deepEqual((schema.properties as Record<string, { default: unknown }>).inner?.default, { size: 3 });
});

test('numeric exclusive bounds become OpenAPI v3.0 booleans', () => {
  const schema = toStructural(Type.Number({ exclusiveMinimum: 0, description: 'n' }));
  assert.deepEqual([schema.minimum, schema.exclusiveMinimum], [0, true]);
});
