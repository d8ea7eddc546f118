// The LLM stand-in, driven by the real `openai` client the operator uses: what the client sends,
// how it parses answers, and how it retries, times out and fails against each scripted behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import {
  countTokens,
  hangUp,
  huge,
  malformed,
  reply,
  slow,
  stall,
  startLlmServer,
  status,
  type LlmServer,
  type LlmServerOptions,
} from '../support/llm-server.js';

const API_KEY = 'sk-test-5f1c9a';

const verdictSchema = {
  type: 'object',
  properties: { verdict: { type: 'string', enum: ['keep', 'revert'] }, reason: { type: 'string' } },
  required: ['verdict', 'reason'],
  additionalProperties: false,
};

function verdictRequest(prompt = 'p99 went from 120 ms to 95 ms'): ChatCompletionCreateParamsNonStreaming {
  return {
    model: 'test-model',
    messages: [
      { role: 'system', content: 'You judge code changes.' },
      { role: 'user', content: prompt },
    ],
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'verdict', strict: true, schema: verdictSchema },
    },
  };
}

/** Runs `body` against a fresh server and a client with small timeouts and no retries unless asked. */
async function withServer(
  options: LlmServerOptions,
  clientOptions: { maxRetries?: number; timeout?: number },
  body: (server: LlmServer, client: OpenAI) => Promise<void>,
): Promise<void> {
  const server = await startLlmServer({ apiKey: API_KEY, ...options });
  const client = new OpenAI({
    apiKey: API_KEY,
    baseURL: server.baseURL,
    maxRetries: clientOptions.maxRetries ?? 0,
    timeout: clientOptions.timeout ?? 2000,
  });
  try {
    await body(server, client);
  } finally {
    await server.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

test('a structured-output call returns the parsed content and word-counted usage', async () => {
  await withServer({}, {}, async (server, client) => {
    server.script(
      reply((request) => {
        const format = request.body.response_format;
        assert.equal(format?.type, 'json_schema');
        return JSON.stringify({ verdict: 'keep', reason: `call ${request.call} of ${request.body.model}` });
      }),
    );
    const completion = await client.chat.completions.parse(verdictRequest());

    const choice = completion.choices[0];
    assert.deepEqual(choice?.message.parsed, { verdict: 'keep', reason: 'call 0 of test-model' });
    assert.equal(choice?.message.role, 'assistant');
    assert.equal(choice?.finish_reason, 'stop');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'test-model');
    assert.equal(completion._request_id, 'req_1');
    const promptTokens =
      countTokens('You judge code changes.') + countTokens('p99 went from 120 ms to 95 ms');
    const completionTokens = countTokens(choice?.message.content ?? '');
    assert.deepEqual(completion.usage, {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
    assert.equal(completion.usage?.prompt_tokens, 4 + 8);

    // the client sent the schema as given, to the documented path
    const [sent] = server.requests;
    assert.equal(sent?.method, 'POST');
    assert.equal(sent?.url, '/v1/chat/completions');
    assert.match(String(sent?.headers['content-type']), /^application\/json/);
    assert.deepEqual((sent?.body as ChatCompletionCreateParamsNonStreaming).response_format, {
      type: 'json_schema',
      json_schema: { name: 'verdict', strict: true, schema: verdictSchema },
    });
    assert.equal(server.pending(), 0);

    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((model) => model.id),
      ['test-model'],
    );
  });
});

test('a 429 with retry-after is retried after the advised delay, then succeeds', async () => {
  await withServer({}, { maxRetries: 2 }, async (server, client) => {
    server.script(
      status(429, undefined, { 'retry-after': '0.05' }),
      reply('{"verdict":"keep","reason":"ok"}'),
    );
    const started = Date.now();
    const completion = await client.chat.completions.create(verdictRequest());
    const elapsed = Date.now() - started;

    assert.equal(completion.choices[0]?.message.content, '{"verdict":"keep","reason":"ok"}');
    assert.deepEqual(
      server.requests.map((request) => request.headers['x-stainless-retry-count']),
      ['0', '1'],
    );
    // 50 ms as advised, well below the client's own back-off of at least 375 ms
    assert.ok(elapsed >= 45 && elapsed < 350, `retried after ${elapsed} ms`);
  });
});

test('a 500 surfaces as APIError with its status once retries are exhausted', async () => {
  const failing = status(500, undefined, { 'retry-after-ms': '0' });
  await withServer({ defaultBehaviour: failing }, { maxRetries: 1 }, async (server, client) => {
    const error = await rejection(client.chat.completions.create(verdictRequest()));

    assert.ok(error instanceof APIError, String(error));
    assert.ok(error instanceof OpenAI.InternalServerError);
    assert.equal(error.status, 500);
    assert.equal(error.type, 'server_error');
    assert.equal(error.requestID, 'req_2');
    assert.equal(server.requests.length, 2);
  });
});

test('statuses the client does not retry fail at once with their OpenAI error body', async () => {
  await withServer({}, { maxRetries: 2 }, async (server, client) => {
    server.script(status(401), status(503, 'upstream down', { 'x-should-retry': 'false' }));

    const unauthorized = await rejection(client.chat.completions.create(verdictRequest()));
    assert.ok(unauthorized instanceof OpenAI.AuthenticationError, String(unauthorized));
    assert.equal(unauthorized.code, 'invalid_api_key');

    const unavailable = await rejection(client.chat.completions.create(verdictRequest()));
    assert.ok(unavailable instanceof APIError, String(unavailable));
    assert.equal(unavailable.status, 503);
    assert.match(unavailable.message, /upstream down/);
    assert.equal(server.requests.length, 2);
  });
});

test('an answer slower than the client timeout raises APIConnectionTimeoutError', async () => {
  await withServer({}, { timeout: 100 }, async (server, client) => {
    server.script(slow(1000, reply('{}')), slow(20, reply('{"late":"but in time"}')));
    const started = Date.now();
    const error = await rejection(client.chat.completions.create(verdictRequest()));

    assert.ok(error instanceof APIConnectionTimeoutError, String(error));
    assert.ok(Date.now() - started < 600);
    const completion = await client.chat.completions.create(verdictRequest());
    assert.equal(completion.choices[0]?.message.content, '{"late":"but in time"}');
  });
});

test('a body that stalls after the headers outlives the timeout; only a signal ends the call', async () => {
  await withServer({}, { timeout: 100 }, async (server, client) => {
    server.script(stall());
    const started = Date.now();
    const error = await rejection(
      client.chat.completions.create(verdictRequest(), { signal: AbortSignal.timeout(300) }),
    );

    // not an OpenAI error: the abort comes from reading the body, after the client's own handling
    assert.ok(!(error instanceof APIError), String(error));
    assert.equal((error as Error).name, 'AbortError');
    assert.ok(Date.now() - started >= 250, 'the 100 ms timeout should not have ended the call');
  });
});

test('malformed content is returned as is; only parse() reads it, as JSON without the schema', async () => {
  await withServer({}, {}, async (server, client) => {
    server.script(
      malformed('Sure! Here is the verdict: keep'),
      malformed('not json'),
      malformed('{"mood":"happy"}'),
    );

    const raw = await client.chat.completions.create(verdictRequest());
    assert.equal(raw.choices[0]?.message.content, 'Sure! Here is the verdict: keep');
    assert.equal(raw.usage?.completion_tokens, 6);

    // parse() JSON.parses the content of a json_schema answer, but does not check it against the schema
    await assert.rejects(client.chat.completions.parse(verdictRequest()), SyntaxError);
    const offSchema = await client.chat.completions.parse(verdictRequest());
    assert.deepEqual(offSchema.choices[0]?.message.parsed, { mood: 'happy' });
  });
});

test('a huge answer arrives whole, as valid JSON of the requested size', async () => {
  await withServer({}, {}, async (server, client) => {
    server.script(huge(2_000_000));
    const completion = await client.chat.completions.create(verdictRequest());
    const content = completion.choices[0]?.message.content ?? '';

    assert.equal(content.length, 2_000_000);
    assert.equal((JSON.parse(content) as { padding: string }).padding.length, 2_000_000 - 14);
  });
});

test('a hang-up raises APIConnectionError, and is retried like any connection failure', async () => {
  await withServer({}, {}, async (server, client) => {
    server.script(hangUp());
    const error = await rejection(client.chat.completions.create(verdictRequest()));
    assert.ok(error instanceof APIConnectionError, String(error));
    assert.ok(!(error instanceof APIConnectionTimeoutError));

    // the client resends the same POST on its own: the prompt is paid for twice
    server.script(hangUp(), reply('{"verdict":"revert","reason":"slower"}'));
    const completion = await client.chat.completions.create(verdictRequest(), { maxRetries: 1 });
    assert.equal(completion.choices[0]?.message.content, '{"verdict":"revert","reason":"slower"}');
    assert.equal(server.requests.length, 3);
  });
});

test('the API key travels only as a Bearer token in the Authorization header', async () => {
  await withServer({}, {}, async (server, client) => {
    server.script(reply('{"verdict":"keep","reason":"ok"}'));
    await client.chat.completions.create(verdictRequest());
    await client.models.list();

    assert.equal(server.requests.length, 2);
    for (const request of server.requests) {
      assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
      const { authorization: _authorization, ...otherHeaders } = request.headers;
      const elsewhere = JSON.stringify({ url: request.url, otherHeaders, body: request.rawBody });
      assert.ok(!elsewhere.includes(API_KEY), `API key leaked outside Authorization: ${elsewhere}`);
    }
  });
});

test('requests are validated like the real API, with OpenAI error bodies', async () => {
  await withServer({}, {}, async (server) => {
    const url = `${server.baseURL}/chat/completions`;
    const post = (body: string, headers: Record<string, string>) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const bearer = { authorization: `Bearer ${API_KEY}` };
    const valid = JSON.stringify(verdictRequest());

    const cases: { name: string; response: Promise<Response>; status: number; param?: string | null }[] = [
      { name: 'no Authorization', response: post(valid, {}), status: 401 },
      { name: 'key in a header', response: post(valid, { 'api-key': API_KEY }), status: 401 },
      { name: 'wrong key', response: post(valid, { authorization: 'Bearer sk-other' }), status: 401 },
      {
        name: 'no model',
        response: post('{"messages":[{"role":"user","content":"hi"}]}', bearer),
        status: 400,
        param: 'model',
      },
      {
        name: 'no messages',
        response: post('{"model":"test-model"}', bearer),
        status: 400,
        param: 'messages',
      },
      { name: 'not JSON', response: post('{model', bearer), status: 400, param: null },
      {
        name: 'streaming',
        response: post(JSON.stringify({ ...verdictRequest(), stream: true }), bearer),
        status: 400,
        param: 'stream',
      },
      {
        name: 'unknown path',
        response: fetch(`${server.baseURL}/completions`, { method: 'POST', headers: bearer }),
        status: 404,
      },
    ];
    for (const { name, response, status: wanted, param } of cases) {
      const res = await response;
      assert.equal(res.status, wanted, name);
      const body = (await res.json()) as {
        error: { message: string; type: string; code: unknown; param: unknown };
      };
      assert.equal(typeof body.error.message, 'string', name);
      assert.equal(body.error.type, 'invalid_request_error', name);
      assert.ok('code' in body.error, name);
      if (param !== undefined) assert.equal(body.error.param, param, name);
    }
    assert.equal(server.requests.length, cases.length);
  });
});

test('a call beyond the script fails loudly and is not retried', async () => {
  await withServer({}, { maxRetries: 2 }, async (server, client) => {
    const error = await rejection(client.chat.completions.create(verdictRequest()));

    assert.ok(error instanceof APIError, String(error));
    assert.equal(error.code, 'unscripted');
    assert.match(error.message, /nothing scripted for chat completion #0/);
    assert.equal(server.requests.length, 1);
  });
});
