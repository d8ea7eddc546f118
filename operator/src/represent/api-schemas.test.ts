import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findApiSchemas } from './api-schemas.js';

const openapi = `openapi: 3.0.3
info:
  title: Quote API
  version: 1.2.0
paths:
  /quote:
    get:
      operationId: getQuote
    post:
      summary: no operation id
  /quote/{id}:
    parameters:
      - name: id
        in: path
    delete:
      operationId: deleteQuote
`;

const swagger = JSON.stringify({
  swagger: '2.0',
  info: { title: 'Legacy', version: 2 },
  paths: { '/health': { get: { operationId: 'health' } } },
});

test('OpenAPI 3 YAML and Swagger 2 JSON are found with their operations; look-alikes are not', () => {
  const schemas = findApiSchemas(
    new Map([
      ['api/openapi.yaml', openapi],
      ['api/swagger.json', swagger],
      ['deploy/manifests.yaml', 'kind: ConfigMap\n---\nkind: Service\n'],
      ['docs/notes.yaml', 'summary: mentions openapi: in passing\n'],
      ['package.json', '{ "name": "svc", "scripts": { "openapi": "gen" } }'],
      ['broken.yaml', 'openapi: [unclosed\n'],
      ['src/openapi.ts', "export const openapi = '3.0.0';\n"],
    ]),
  );
  assert.deepEqual(schemas, [
    {
      path: 'api/openapi.yaml',
      title: 'Quote API',
      version: '1.2.0',
      operations: [
        { method: 'GET', path: '/quote', operationId: 'getQuote' },
        { method: 'POST', path: '/quote' },
        { method: 'DELETE', path: '/quote/{id}', operationId: 'deleteQuote' },
      ],
    },
    {
      path: 'api/swagger.json',
      title: 'Legacy',
      version: '2',
      operations: [{ method: 'GET', path: '/health', operationId: 'health' }],
    },
  ]);
});
