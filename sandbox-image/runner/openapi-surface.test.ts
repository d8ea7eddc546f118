import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiOperations } from './openapi-surface.js';

const OPENAPI = {
  openapi: '3.0.3',
  info: { title: 'Orders', version: '1.0.0' },
  components: {
    parameters: { Limit: { name: 'limit', in: 'query', description: 'page size' } },
    requestBodies: { Order: { required: true, content: {} } },
  },
  paths: {
    '/orders/{id}': {
      parameters: [
        { name: 'id', in: 'path', required: true },
        { name: 'trace', in: 'header' },
      ],
      get: {
        description: 'one order',
        parameters: [{ name: 'trace', in: 'header', required: true }],
        responses: { '404': { description: 'no' }, '200': { description: 'yes' } },
      },
      delete: { responses: { '204': { description: 'gone' } } },
    },
    '/orders': {
      get: { parameters: [{ $ref: '#/components/parameters/Limit' }], responses: { '200': {} } },
      post: {
        requestBody: { $ref: '#/components/requestBodies/Order' },
        responses: { default: {}, '201': {} },
      },
    },
  },
};

test('one line per operation: method, path, parameters, body and response codes', () => {
  assert.deepEqual(openApiOperations(OPENAPI)?.sort(), [
    'DELETE /orders/{id} params(header:trace,path:id!) body(none) responses(204)',
    'GET /orders params(query:limit) body(none) responses(200)',
    'GET /orders/{id} params(header:trace!,path:id!) body(none) responses(200,404)',
    'POST /orders params() body(required) responses(201,default)',
  ]);
});

test('descriptions do not matter; a required flag, a parameter name or a response code does', () => {
  const base = openApiOperations(OPENAPI);
  const reworded = structuredClone(OPENAPI);
  reworded.paths['/orders/{id}'].get.description = 'fetches one order';
  reworded.components.parameters.Limit.description = 'how many';
  assert.deepEqual(openApiOperations(reworded), base);

  const renamed = structuredClone(OPENAPI);
  renamed.components.parameters.Limit.name = 'pageSize';
  assert.notDeepEqual(openApiOperations(renamed), base);
  const required = structuredClone(OPENAPI);
  (required.components.parameters.Limit as Record<string, unknown>).required = true;
  assert.notDeepEqual(openApiOperations(required), base);
  const codes = structuredClone(OPENAPI);
  delete (codes.paths['/orders/{id}'].get.responses as Record<string, unknown>)['404'];
  assert.notDeepEqual(openApiOperations(codes), base);
});

test('Swagger 2 body parameters, circular and external references', () => {
  const swagger = {
    swagger: '2.0',
    parameters: { Loop: { $ref: '#/parameters/Loop' } },
    paths: {
      '/pets': {
        post: {
          parameters: [
            { in: 'body', name: 'pet', required: true },
            { $ref: '#/parameters/Loop' },
            { $ref: 'common.yaml#/Id' },
          ],
          responses: { 200: {} },
        },
      },
    },
  };
  assert.deepEqual(openApiOperations(swagger), [
    'POST /pets params(body:pet!,ref:#/parameters/Loop,ref:common.yaml#/Id) body(none) responses(200)',
  ]);
});

test('documents that are not OpenAPI are told apart', () => {
  assert.equal(openApiOperations({ name: 'package' }), undefined);
  assert.equal(openApiOperations([1, 2]), undefined);
  assert.deepEqual(openApiOperations({ openapi: '3.1.0' }), []);
});
