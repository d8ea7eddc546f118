// The LLM proposer against the local OpenAI-compatible server, through the real `openai` client:
// what it sends, how it retries and gives up, what it spends, and that the key never leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { pino } from 'pino';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { ProposalRequest, ProposalResult } from './candidate.js';
import { OpenAIProposer, type OpenAIProposerOptions } from './openai.js';
import { buildPrompt, estimateMessageTokens } from './prompt.js';
import { proposalRequest, sampleDiff } from '../../../test/support/proposal-request.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
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
} from '../../../test/support/llm-server.js';

const API_KEY = 'sk-hyperagent-TEST-KEY-7f3a9c2e51b84d06';

const GOOD = JSON.stringify({
  candidates: [
    {
      kind: 'config',
      parameters: [{ name: 'cache-size', value: 384 }],
      summary: 'a slightly larger cache',
      rationale: '512 passed, 1024 ran out of memory; 384 should keep most of the gain',
    },
    { kind: 'code', diff: sampleDiff(), summary: 'type the cache', rationale: 'fewer deopts' },
  ],
});

interface Harness {
  server: LlmServer;
  proposer: OpenAIProposer;
  metrics: OperatorMetrics;
  logs: string[];
  sleeps: number[];
}

/** A fresh server and proposer, with short timeouts and backoffs, captured logs and fresh metrics. */
async function withProposer(
  options: Partial<OpenAIProposerOptions>,
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const server = await startLlmServer({ apiKey: API_KEY });
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const logs: string[] = [];
  const sleeps: number[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const proposer = new OpenAIProposer({
    apiKey: API_KEY,
    baseURL: server.baseURL,
    model: 'test-model',
    requestTimeoutMs: 2000,
    backoff: { initialMs: 10, maxMs: 40, maxRetryAfterMs: 1000 },
    metrics,
    log,
    clientLogLevel: 'debug',
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      await new Promise((resolve) => setTimeout(resolve, ms));
      signal?.throwIfAborted();
    },
    ...options,
  });
  try {
    await body({ server, proposer, metrics, logs, sleeps });
  } finally {
    await server.close();
  }
}

function outcomes(result: ProposalResult): string[] {
  return result.attempts.map((a) => a.outcome);
}

function sent(server: LlmServer, i: number): ChatCompletionCreateParamsNonStreaming {
  return server.requests[i]?.body as ChatCompletionCreateParamsNonStreaming;
}

async function metricValue(metrics: OperatorMetrics, name: string, labels: Record<string, string>) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

test('a good answer becomes candidates; the request carries the prompt, the schema and a token cap', async () => {
  await withProposer(
    { pricing: { 'test-model': { inputPerMillion: 2, outputPerMillion: 8 } } },
    async ({ server, proposer, metrics }) => {
      server.script(reply(GOOD));
      const request = proposalRequest();
      const result = await proposer.propose(request);

      assert.deepEqual(outcomes(result), ['ok']);
      assert.deepEqual(
        result.candidates.map((c) => [c.kind, c.summary]),
        [
          ['config', 'a slightly larger cache'],
          ['code', 'type the cache'],
        ],
      );
      const body = sent(server, 0);
      assert.equal(body.model, 'test-model');
      assert.deepEqual(body.messages, buildPrompt(request).messages);
      assert.equal(body.max_completion_tokens, 8192);
      assert.equal(body.response_format?.type, 'json_schema');
      assert.equal(
        body.response_format?.type === 'json_schema' && body.response_format.json_schema.strict,
        true,
      );

      // usage as the server reported it (it counts words), priced by the table
      const promptTokens = body.messages.reduce((n, m) => n + countTokens(String(m.content)), 0);
      const completionTokens = countTokens(GOOD);
      assert.equal(result.usage.promptTokens, promptTokens);
      assert.equal(result.usage.completionTokens, completionTokens);
      assert.ok(Math.abs(result.usage.costUSD - (promptTokens * 2 + completionTokens * 8) / 1e6) < 1e-12);
      assert.match(
        result.attempts[0]?.message ?? '',
        /^2 candidate\(s\) \(\d+ prompt \+ \d+ completion tokens, \$0\.\d+\)$/,
      );

      const agent = { agent: 'shop/quote' };
      assert.equal(
        await metricValue(metrics, 'hyperagent_llm_requests_total', { ...agent, outcome: 'ok' }),
        1,
      );
      assert.equal(
        await metricValue(metrics, 'hyperagent_llm_tokens_total', { ...agent, kind: 'prompt' }),
        promptTokens,
      );
      assert.equal(
        await metricValue(metrics, 'hyperagent_llm_tokens_total', { ...agent, kind: 'completion' }),
        completionTokens,
      );
      assert.ok(
        Math.abs(
          (await metricValue(metrics, 'hyperagent_llm_cost_usd_total', agent)) - result.usage.costUSD,
        ) < 1e-12,
      );
      const histogram = (await metrics.registry.getMetricsAsJSON()).find(
        (m) => m.name === 'hyperagent_llm_request_duration_seconds',
      );
      const count = (histogram?.values as { metricName?: string; value: number }[]).find(
        (v) => v.metricName === 'hyperagent_llm_request_duration_seconds_count',
      );
      assert.equal(count?.value, 1);
    },
  );
});

test('a model without a price costs 0, its tokens still counted, and the message says so', async () => {
  await withProposer(
    { pricing: { 'other-model': { inputPerMillion: 1, outputPerMillion: 1 } } },
    async ({ server, proposer }) => {
      server.script(reply(GOOD));
      const result = await proposer.propose(proposalRequest());
      assert.equal(result.usage.costUSD, 0);
      assert.ok(result.usage.promptTokens > 0);
      assert.match(result.attempts[0]?.message ?? '', /cost counted as 0: no price for model 'test-model'/);
    },
  );
});

test('a malformed answer is an attempt; one repair request says what was wrong, then succeeds', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    server.script(malformed('Sure! I would increase the cache.'), reply(GOOD));
    const result = await proposer.propose(proposalRequest());

    assert.deepEqual(outcomes(result), ['malformed', 'ok']);
    assert.match(result.attempts[0]?.message ?? '', /^not JSON: /);
    assert.equal(result.candidates.length, 2);
    const repair = sent(server, 1).messages;
    assert.deepEqual(repair.at(-2), { role: 'assistant', content: 'Sure! I would increase the cache.' });
    assert.match(String(repair.at(-1)?.content), /^That answer could not be used: not JSON/);
    // usage of both requests is counted
    assert.ok(
      result.usage.completionTokens >= countTokens('Sure! I would increase the cache.') + countTokens(GOOD),
    );
  });
});

test('only one repair: a second malformed answer ends the round', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    server.script(malformed('{"mood":"happy"}'), malformed('{"candidates":"none"}'), reply(GOOD));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['malformed', 'malformed']);
    assert.match(result.attempts[0]?.message ?? '', /Unexpected property|"candidates" must be a list/);
    assert.deepEqual(result.candidates, []);
    assert.equal(server.pending(), 1);
  });
});

test('schema-valid but semantically bad candidates are dropped with reasons; the rest are kept', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    const answer = {
      candidates: [
        {
          kind: 'config',
          parameters: [{ name: 'cache-size', value: 9999 }],
          summary: 'huge',
          rationale: 'r',
        },
        { kind: 'config', parameters: [{ name: 'threads', value: 8 }], summary: 'threads', rationale: 'r' },
        {
          kind: 'config',
          parameters: [{ name: 'cache-size', value: 1024 }],
          summary: 'again',
          rationale: 'r',
        },
        {
          kind: 'config',
          parameters: [{ name: 'eviction', value: 'fifo' }],
          summary: 'fifo',
          rationale: 'r',
        },
      ],
    };
    server.script(reply(JSON.stringify(answer)));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['ok']);
    assert.deepEqual(
      result.candidates.map((c) => c.summary),
      ['fifo'],
    );
    const message = result.attempts[0]?.message ?? '';
    assert.match(message, /candidate 1: config: parameter 'cache-size' = 9999 is above max 4096/);
    assert.match(message, /candidate 2: config: parameter "threads" is not declared/);
    assert.match(message, /candidate 3: config: repeats archived attempt quote-c5\/1 \(Failed\)/);
  });
});

test('an answer whose every candidate is bad is malformed and earns the repair', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    const bad = {
      candidates: [{ kind: 'config', parameters: [{ name: 'x', value: 1 }], summary: 's', rationale: 'r' }],
    };
    server.script(reply(JSON.stringify(bad)), reply(GOOD));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['malformed', 'ok']);
    assert.match(
      result.attempts[0]?.message ?? '',
      /no usable candidate: candidate 1: config: parameter "x" is not declared/,
    );
    assert.match(String(sent(server, 1).messages.at(-1)?.content), /parameter "x" is not declared/);
  });
});

test('an answer cut off at the token limit is malformed', async () => {
  await withProposer({ repair: false }, async ({ server, proposer }) => {
    server.script(reply('{"candidates":[{"kind":"config","param', { finishReason: 'length' }));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['malformed']);
    assert.match(result.attempts[0]?.message ?? '', /cut off at the limit of 8192 completion tokens/);
  });
});

test('a 429 with retry-after is retried after the advised delay, then succeeds', async () => {
  await withProposer({}, async ({ server, proposer, sleeps, metrics }) => {
    server.script(status(429, undefined, { 'retry-after': '0.05' }), reply(GOOD));
    const started = Date.now();
    const result = await proposer.propose(proposalRequest());

    assert.deepEqual(outcomes(result), ['rate-limited', 'ok']);
    assert.match(result.attempts[0]?.message ?? '', /^HTTP 429 \[request req_1\]: Rate limit reached/);
    assert.deepEqual(sleeps, [50]);
    assert.ok(Date.now() - started >= 45);
    // no retries of its own: one request per attempt
    assert.deepEqual(
      server.requests.map((r) => r.headers['x-stainless-retry-count']),
      ['0', '0'],
    );
    assert.equal(await metricValue(metrics, 'hyperagent_llm_requests_total', { outcome: 'rate-limited' }), 1);
  });
});

test('a huge retry-after is capped; retry-after-ms is read too', async () => {
  await withProposer(
    { backoff: { initialMs: 10, maxMs: 40, maxRetryAfterMs: 80 } },
    async ({ server, proposer, sleeps }) => {
      server.script(
        status(429, undefined, { 'retry-after': '3600' }),
        status(503, undefined, { 'retry-after-ms': '20' }),
        reply(GOOD),
      );
      const started = Date.now();
      const result = await proposer.propose(proposalRequest());
      assert.deepEqual(outcomes(result), ['rate-limited', 'server-error', 'ok']);
      assert.deepEqual(sleeps, [80, 20]);
      assert.ok(Date.now() - started < 1000);
    },
  );
});

test('a retry-after beyond the deadline is not waited for', async () => {
  await withProposer(
    { backoff: { initialMs: 10, maxMs: 40, maxRetryAfterMs: 60_000 } },
    async ({ server, proposer, sleeps }) => {
      server.script(status(429, undefined, { 'retry-after': '30' }), reply(GOOD));
      const deadline = new Date(Date.now() + 2000);
      const result = await proposer.propose(
        proposalRequest({ budget: { maxTokens: 200_000, maxCostUSD: 5, deadline } }),
      );
      assert.deepEqual(outcomes(result), ['rate-limited', 'budget']);
      assert.match(result.attempts[1]?.message ?? '', /no retry: waiting 30000 ms would pass the deadline/);
      assert.deepEqual(sleeps, []);
    },
  );
});

test('500s until maxAttempts: no candidates, every request an attempt, exponential backoff', async () => {
  await withProposer({ maxAttempts: 3, random: () => 1 }, async ({ server, proposer, sleeps, metrics }) => {
    server.script(status(500), status(502), status(500), reply(GOOD));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['server-error', 'server-error', 'server-error']);
    assert.deepEqual(result.candidates, []);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(sleeps, [10, 20]);
    assert.equal(await metricValue(metrics, 'hyperagent_llm_requests_total', { outcome: 'server-error' }), 3);
  });
  await withProposer({ maxAttempts: 5, random: () => 0 }, async ({ server, proposer, sleeps }) => {
    server.script(status(500), status(500), status(500), status(500), status(500));
    await proposer.propose(proposalRequest());
    // the delay is drawn from the upper half of a ceiling that doubles up to maxMs
    assert.deepEqual(sleeps, [5, 10, 20, 20]);
  });
});

test('no retry on 400, 401, 403, 404, on a server that says not to, or on an exhausted quota', async () => {
  const cases: [ReturnType<typeof status>, string, RegExp][] = [
    [status(400), 'error', /^HTTP 400/],
    [status(401), 'refused', /^HTTP 401 .*Incorrect API key/],
    [status(403), 'refused', /^HTTP 403/],
    [status(404), 'error', /^HTTP 404/],
    [status(503, undefined, { 'x-should-retry': 'false' }), 'server-error', /the server asked not to retry/],
    [
      status(429, {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      }),
      'refused',
      /exceeded your current quota/,
    ],
  ];
  for (const [behaviour, outcome, message] of cases) {
    await withProposer({}, async ({ server, proposer }) => {
      server.script(behaviour, reply(GOOD));
      const result = await proposer.propose(proposalRequest());
      assert.deepEqual(outcomes(result), [outcome], JSON.stringify(behaviour));
      assert.match(result.attempts[0]?.message ?? '', message);
      assert.equal(server.requests.length, 1);
    });
  }
});

test('a wrong key is refused by the endpoint, and the refusal does not quote either key', async () => {
  await withProposer({ apiKey: 'sk-wrong-key-0123456789abcdef' }, async ({ server, proposer }) => {
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['refused']);
    assert.equal(server.requests.length, 1);
    assert.ok(!JSON.stringify(result).includes('sk-wrong-key-0123456789abcdef'));
  });
});

test('a body that stalls after the headers ends in a timeout at the request deadline, then a retry', async () => {
  await withProposer({ requestTimeoutMs: 300 }, async ({ server, proposer }) => {
    server.script(stall(), reply(GOOD));
    const started = Date.now();
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['timeout', 'ok']);
    const first = result.attempts[0];
    assert.match(
      first?.message ?? '',
      /^no complete answer within 300 ms; ~\d+ prompt tokens counted as spent/,
    );
    assert.ok((first?.durationMs ?? 0) >= 280 && (first?.durationMs ?? 0) < 1000, `${first?.durationMs} ms`);
    assert.ok(Date.now() - started < 2000);
  });
});

test('a slow answer beyond the budget deadline times out at the deadline, and no retry follows', async () => {
  await withProposer({ requestTimeoutMs: 10_000 }, async ({ server, proposer }) => {
    server.script(slow(3000, reply(GOOD)), reply(GOOD));
    const started = Date.now();
    const deadline = new Date(Date.now() + 400);
    const result = await proposer.propose(
      proposalRequest({ budget: { maxTokens: 200_000, maxCostUSD: 5, deadline } }),
    );
    const elapsed = Date.now() - started;
    assert.deepEqual(outcomes(result), ['timeout', 'budget']);
    assert.match(result.attempts[1]?.message ?? '', /deadline/);
    assert.ok(elapsed >= 350 && elapsed < 1500, `${elapsed} ms`);
    assert.equal(server.requests.length, 1);
  });
});

test('a hang-up is a connection error, retried', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    server.script(hangUp(), reply(GOOD));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['error', 'ok']);
    assert.match(result.attempts[0]?.message ?? '', /^connection failed: /);
  });
});

test('a huge answer is malformed: too long to read as candidates, or cut off while reading', async () => {
  await withProposer({ repair: false }, async ({ server, proposer }) => {
    server.script(huge(2_000_000));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['malformed']);
    assert.match(
      result.attempts[0]?.message ?? '',
      /the answer has 2000000 characters, more than the 1048576 read/,
    );
  });
  await withProposer({ maxResponseBytes: 100_000 }, async ({ server, proposer }) => {
    server.script(huge(2_000_000), reply(GOOD));
    const result = await proposer.propose(proposalRequest());
    assert.deepEqual(outcomes(result), ['malformed', 'ok']);
    assert.match(
      result.attempts[0]?.message ?? '',
      /the response body exceeded 100000 bytes; reading stopped/,
    );
    assert.match(String(sent(server, 1).messages.at(-1)?.content), /far too long/);
  });
});

test('budget: a request that would exceed the tokens or the cost, or start after the deadline, is not sent', async () => {
  const request = proposalRequest();
  const estimate = estimateMessageTokens(buildPrompt(request).messages);
  const cases: [Partial<OpenAIProposerOptions>, ProposalRequest['budget'], RegExp][] = [
    [
      {},
      { maxTokens: 300, maxCostUSD: 5, deadline: request.budget.deadline },
      /exceed the token budget \(300 of 300 left\)/,
    ],
    [
      { pricing: { 'test-model': { inputPerMillion: 10_000, outputPerMillion: 30_000 } } },
      { maxTokens: 200_000, maxCostUSD: 1, deadline: request.budget.deadline },
      /exceed the cost budget \(\$1\.0000 of \$1\.0000 left\)/,
    ],
    [
      {},
      { maxTokens: 200_000, maxCostUSD: 5, deadline: new Date(Date.now() - 1000) },
      /the deadline .* has passed/,
    ],
  ];
  for (const [options, budget, message] of cases) {
    await withProposer(options, async ({ server, proposer, metrics }) => {
      server.script(reply(GOOD));
      const result = await proposer.propose({ ...request, budget });
      assert.deepEqual(outcomes(result), ['budget']);
      assert.match(result.attempts[0]?.message ?? '', /^not sent: /);
      assert.match(result.attempts[0]?.message ?? '', message);
      assert.equal(server.requests.length, 0);
      assert.deepEqual(result.usage, { promptTokens: 0, completionTokens: 0, costUSD: 0 });
      assert.equal(await metricValue(metrics, 'hyperagent_llm_requests_total', {}), 0);
    });
  }
  assert.ok(estimate > 300, 'the prompt alone is over the small token budget');
});

test('budget: the completion is capped by what remains, and spent tokens refuse the next request', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    const base = proposalRequest();
    const estimate = estimateMessageTokens(buildPrompt(base).messages);
    const maxTokens = estimate + 3000;
    // the first answer is not JSON and long: its 2,500 completion tokens leave too little for a repair
    server.script(malformed('word '.repeat(2500)), reply(GOOD));
    const result = await proposer.propose({ ...base, budget: { ...base.budget, maxTokens } });
    assert.equal(sent(server, 0).max_completion_tokens, 3000);
    assert.deepEqual(outcomes(result), ['malformed', 'budget']);
    assert.match(result.attempts[1]?.message ?? '', /exceed the token budget/);
    assert.equal(server.requests.length, 1);
  });
  await withProposer(
    { tokenLimitField: 'max_tokens', maxCompletionTokens: 500 },
    async ({ server, proposer }) => {
      server.script(reply(GOOD));
      await proposer.propose(proposalRequest());
      assert.equal(sent(server, 0).max_tokens, 500);
      assert.equal(sent(server, 0).max_completion_tokens, undefined);
    },
  );
});

test('a small token budget shrinks the prompt before it refuses', async () => {
  await withProposer({}, async ({ server, proposer }) => {
    server.script(reply(GOOD));
    const base = proposalRequest({ sources: { 'src/cache.ts': 'x'.repeat(30_000) } });
    const full = estimateMessageTokens(buildPrompt(base).messages);
    const maxTokens = Math.floor(full / 2);
    const result = await proposer.propose({ ...base, budget: { ...base.budget, maxTokens } });
    assert.deepEqual(outcomes(result), ['ok']);
    const body = sent(server, 0);
    const sentTokens = estimateMessageTokens(
      body.messages.map((m) => ({ role: 'user' as const, content: String(m.content) })),
    );
    assert.ok(sentTokens + (body.max_completion_tokens ?? 0) <= maxTokens);
    assert.match(String(body.messages[1]?.content), /source excerpts left out to fit the prompt|truncated/);
  });
});

test('a caller abort ends the round at once, as an attempt', async () => {
  await withProposer({ requestTimeoutMs: 5000 }, async ({ server, proposer }) => {
    server.script(stall());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await proposer.propose(proposalRequest({ signal: controller.signal }));
    assert.deepEqual(outcomes(result), ['error']);
    assert.equal(result.attempts[0]?.message, 'cancelled by the caller');
    assert.ok(Date.now() - started < 1000);
  });
});

test('the API key never leaves: not in results, messages, logs or errors, though the server got it', async () => {
  const echo = (text: string) => ({
    error: { message: text, type: 'server_error', param: null, code: null },
  });
  await withProposer({}, async ({ server, proposer, logs }) => {
    server.script(
      status(500, echo(`upstream rejected Authorization: Bearer ${API_KEY}`)),
      status(429, echo(`slow down, ${API_KEY.slice(0, 20)}…`), { 'retry-after-ms': '1' }),
      status(503, `{"auth":"${API_KEY}"}`, { 'content-type': 'text/plain' }),
      malformed(`not json, but your key is ${API_KEY}`),
      reply(GOOD),
    );
    const result = await proposer.propose(proposalRequest({ maxCandidates: 2 }));
    assert.deepEqual(outcomes(result), ['server-error', 'rate-limited', 'server-error', 'malformed']);

    for (const request of server.requests) assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
    const everything = [
      JSON.stringify(result),
      inspect(result, { depth: 10 }),
      logs.join('\n'),
      inspect(proposer),
      JSON.stringify(proposer),
    ];
    for (const text of everything) {
      assert.ok(!text.includes(API_KEY), `key leaked: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(API_KEY.slice(3, 20)), 'part of the key leaked');
    }
    assert.match(JSON.stringify(result), /\[REDACTED\]/);
    assert.ok(
      logs.some((line) => /"client":"openai"/.test(line)),
      'the client logged through us',
    );
    assert.ok(logs.some((line) => /"outcome":"server-error"/.test(line)));
  });

  // thrown errors (programming errors only) never carry the key either
  const thrown: unknown[] = [];
  for (const make of [
    () => new OpenAIProposer({ apiKey: API_KEY, model: '' }),
    () => new OpenAIProposer({ apiKey: API_KEY, model: 'm', maxAttempts: 0 }),
  ]) {
    try {
      make();
    } catch (error) {
      thrown.push(error);
    }
  }
  const proposer = new OpenAIProposer({ apiKey: API_KEY, model: 'm', baseURL: 'http://127.0.0.1:9/v1' });
  await proposer.propose(proposalRequest({ maxCandidates: 0 })).catch((error: unknown) => thrown.push(error));
  assert.equal(thrown.length, 3);
  for (const error of thrown) {
    assert.ok(!inspect(error).includes(API_KEY));
    assert.ok(!String((error as Error).stack).includes(API_KEY));
  }
});
