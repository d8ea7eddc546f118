// Candidates from an LLM at any OpenAI-compatible endpoint, through the official client.
//
// The client's own retries are off: this proposer retries itself, so that every request is an
// attempt the cycle can show, and every wait is bounded by the budget's deadline. Each request
// carries an AbortSignal with its own deadline, because the client's `timeout` stops waiting for
// the headers only; a body that stalls afterwards is ended by the signal alone.
//
// Budget: before each request the prompt is estimated conservatively (prompt.ts) and the request
// is refused ('budget') when it, plus a useful minimum of completion tokens, would exceed what is
// left of `budget.maxTokens` or `budget.maxCostUSD`; the completion is capped by what remains.
// After it, the endpoint's `usage` is counted (or, when absent, an estimate). `budget` is what
// this round may spend: the caller passes what the cycle has left.
//
// The API key lives only inside the client (in a private field): attempt messages and log lines
// are built from errors through `redactSecrets`, and no error object is ever passed on.
import { inspect } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  type ClientOptions,
} from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import type {
  ProposalAttempt,
  ProposalBudget,
  ProposalRequest,
  ProposalResult,
  ProposalUsage,
  ProposedCandidate,
} from './candidate.js';
import { candidateResponseFormat, readCandidateAnswer } from './candidate-schema.js';
import { NOP_PROPOSER_METRICS, type ProposerLog, type ProposerMetrics } from './observe.js';
import {
  buildPrompt,
  CHARS_PER_TOKEN,
  DEFAULT_PROMPT_CHARS,
  estimateMessageTokens,
  estimateTokens,
  type ChatMessage,
} from './prompt.js';
import type { Proposer } from './proposer.js';
import { redactSecrets } from './redact.js';
import { advisedDelay, DEFAULT_BACKOFF, retryDelay, type Backoff } from './retry.js';

/** Prices in US dollars per million tokens. */
export interface ModelPrice {
  inputPerMillion: number;
  outputPerMillion: number;
}

export interface OpenAIProposerOptions {
  apiKey: string;
  model: string;
  /** The endpoint, e.g. `http://llm.internal/v1`; the public OpenAI API when unset. */
  baseURL?: string;
  /** Prices by model name; a model missing here costs 0 (its tokens are still counted). */
  pricing?: Readonly<Record<string, ModelPrice>>;
  /** Most requests per round, repair and retries included (default 4). */
  maxAttempts?: number;
  /** Longest one request may take, body included (default 120 s); the deadline may cut it shorter. */
  requestTimeoutMs?: number;
  backoff?: Partial<Backoff>;
  /** Most completion tokens asked for in one request (default 8192). */
  maxCompletionTokens?: number;
  /** A request that could not get at least this many completion tokens is not sent (default 256). */
  minCompletionTokens?: number;
  /** Older OpenAI-compatible servers know only `max_tokens` (default `max_completion_tokens`). */
  tokenLimitField?: 'max_completion_tokens' | 'max_tokens';
  /** Ask for strict structured output through `response_format` (default true). */
  structuredOutput?: boolean;
  temperature?: number;
  /** Whether one malformed answer earns a second request telling the model what was wrong (default true). */
  repair?: boolean;
  /** Most characters of the prompt (default DEFAULT_PROMPT_CHARS); a small token budget cuts it further. */
  maxPromptChars?: number;
  /** Longest answer content read as candidates (default 1 MiB of characters). */
  maxAnswerChars?: number;
  /** Longest HTTP response body read at all (default 4 MiB); reading stops beyond it. */
  maxResponseBytes?: number;
  metrics?: ProposerMetrics;
  log?: ProposerLog;
  /** Level of the openai client's own log lines, passed (redacted) to `log` at debug (default 'warn'). */
  clientLogLevel?: ClientOptions['logLevel'];
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Wall clock in milliseconds, for deadlines. */
  now?: () => number;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const KIB = 1024;
const MAX_MESSAGE_CHARS = 1000;
const MAX_ECHO_CHARS = 2000;

/**
 * What one request came to: `ok` ends the round with candidates, `retry` waits and tries again,
 * `repair` asks again with feedback, `final` ends the round without candidates.
 */
type TryOutcome =
  | { next: 'ok'; attempt: ProposalAttempt; candidates: ProposedCandidate[] }
  | { next: 'retry'; attempt: ProposalAttempt; advisedMs?: number }
  | { next: 'repair'; attempt: ProposalAttempt; answer: string; problem: string }
  | { next: 'final'; attempt: ProposalAttempt };

interface Plan {
  promptTokens: number;
  maxCompletionTokens: number;
  timeoutMs: number;
}

class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the response body exceeded ${limit} bytes`);
  }
}

export class OpenAIProposer implements Proposer {
  readonly type = 'openai' as const;
  // Private fields stay out of JSON.stringify and util.inspect: the client holds the key.
  readonly #client: OpenAI;
  readonly #apiKey: string;
  readonly #options: Required<
    Pick<
      OpenAIProposerOptions,
      | 'model'
      | 'maxAttempts'
      | 'requestTimeoutMs'
      | 'maxCompletionTokens'
      | 'minCompletionTokens'
      | 'tokenLimitField'
      | 'structuredOutput'
      | 'repair'
      | 'maxPromptChars'
      | 'maxAnswerChars'
      | 'sleep'
      | 'random'
      | 'now'
    >
  > &
    Pick<OpenAIProposerOptions, 'temperature' | 'log'> & {
      backoff: Backoff;
      price: ModelPrice | undefined;
      metrics: ProposerMetrics;
    };

  /** Throws on options that cannot work (an empty key or model, a non-positive limit). */
  constructor(options: OpenAIProposerOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('OpenAIProposer: the API key is empty');
    }
    if (typeof options.model !== 'string' || options.model.trim() === '') {
      throw new TypeError('OpenAIProposer: the model is empty');
    }
    const maxAttempts = options.maxAttempts ?? 4;
    const requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
    const maxResponseBytes = options.maxResponseBytes ?? 4 * KIB * KIB;
    for (const [name, value] of Object.entries({ maxAttempts, requestTimeoutMs, maxResponseBytes })) {
      if (!Number.isFinite(value) || value < 1) {
        throw new RangeError(`OpenAIProposer: ${name} must be at least 1, got ${value}`);
      }
    }
    this.#apiKey = options.apiKey;
    const log = options.log;
    this.#options = {
      model: options.model,
      maxAttempts: Math.floor(maxAttempts),
      requestTimeoutMs,
      maxCompletionTokens: options.maxCompletionTokens ?? 8192,
      minCompletionTokens: options.minCompletionTokens ?? 256,
      tokenLimitField: options.tokenLimitField ?? 'max_completion_tokens',
      structuredOutput: options.structuredOutput ?? true,
      repair: options.repair ?? true,
      maxPromptChars: options.maxPromptChars ?? DEFAULT_PROMPT_CHARS,
      maxAnswerChars: options.maxAnswerChars ?? KIB * KIB,
      sleep: options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal })),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      temperature: options.temperature,
      log,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      price: options.pricing?.[options.model],
      metrics: options.metrics ?? NOP_PROPOSER_METRICS,
    };
    const redact = (text: string) => this.#redact(text);
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL ?? DEFAULT_BASE_URL,
      // Explicit, so that OPENAI_* variables of the operator's environment change nothing.
      organization: null,
      project: null,
      maxRetries: 0,
      timeout: Math.ceil(requestTimeoutMs),
      fetch: boundedFetch(maxResponseBytes),
      logLevel: options.clientLogLevel ?? 'warn',
      logger: clientLogger(log, redact),
    });
  }

  /** Asks the model for candidates; every request, refusal and failure becomes an attempt. */
  async propose(request: ProposalRequest): Promise<ProposalResult> {
    checkRequest(request);
    const options = this.#options;
    const agent = `${request.agent.namespace}/${request.agent.name}`;
    const attempts: ProposalAttempt[] = [];
    const usage: ProposalUsage = { promptTokens: 0, completionTokens: 0, costUSD: 0 };
    let candidates: ProposedCandidate[] = [];

    // A small token budget shrinks the prompt before it refuses the request outright.
    const affordableChars = (request.budget.maxTokens - options.minCompletionTokens) * CHARS_PER_TOKEN;
    const prompt = buildPrompt(request, {
      maxChars: Math.max(0, Math.min(options.maxPromptChars, affordableChars)),
    });
    let messages = prompt.messages;
    let repaired = false;
    let retries = 0;

    for (let n = 1; n <= options.maxAttempts; n++) {
      if (request.signal?.aborted) {
        attempts.push(this.#record(agent, request, n, cancelled()));
        break;
      }
      const plan = this.#plan(messages, usage, request.budget);
      if (typeof plan === 'string') {
        attempts.push(this.#record(agent, request, n, { outcome: 'budget', message: plan, durationMs: 0 }));
        break;
      }
      const result = await this.#try(messages, plan, request, usage, agent);
      attempts.push(this.#record(agent, request, n, result.attempt));

      if (result.next === 'ok') {
        candidates = result.candidates;
        break;
      }
      if (result.next === 'final' || n === options.maxAttempts) break;
      if (result.next === 'repair') {
        if (repaired || !options.repair) break;
        repaired = true;
        messages = [...prompt.messages, ...repairMessages(result.answer, result.problem)];
        continue;
      }
      retries += 1;
      const wait = retryDelay(retries, result.advisedMs, options.backoff, options.random);
      const deadline = request.budget.deadline.getTime();
      if (options.now() + wait >= deadline) {
        const message = `no retry: waiting ${Math.round(wait)} ms would pass the deadline ${request.budget.deadline.toISOString()}`;
        attempts.push(this.#record(agent, request, n + 1, { outcome: 'budget', message, durationMs: 0 }));
        break;
      }
      try {
        await options.sleep(wait, request.signal);
      } catch {
        attempts.push(this.#record(agent, request, n + 1, cancelled()));
        break;
      }
    }
    return { candidates, attempts, usage };
  }

  /** What the next request may use, or why it must not be sent. */
  #plan(messages: ChatMessage[], usage: ProposalUsage, budget: ProposalBudget): Plan | string {
    const options = this.#options;
    const now = options.now();
    const deadline = budget.deadline.getTime();
    if (now >= deadline) return `not sent: the deadline ${budget.deadline.toISOString()} has passed`;

    const promptTokens = estimateMessageTokens(messages);
    const tokensLeft = budget.maxTokens - usage.promptTokens - usage.completionTokens;
    const byTokens = tokensLeft - promptTokens;
    if (byTokens < options.minCompletionTokens) {
      return (
        `not sent: the prompt (~${promptTokens} tokens, estimated) and at least ${options.minCompletionTokens} ` +
        `completion tokens exceed the token budget (${Math.max(0, tokensLeft)} of ${budget.maxTokens} left)`
      );
    }
    let maxCompletionTokens = Math.min(options.maxCompletionTokens, byTokens);
    const price = options.price;
    if (price) {
      const costLeft = budget.maxCostUSD - usage.costUSD;
      const promptCost = (promptTokens * price.inputPerMillion) / 1e6;
      const byCost =
        price.outputPerMillion > 0
          ? Math.floor(((costLeft - promptCost) * 1e6) / price.outputPerMillion)
          : Number.POSITIVE_INFINITY;
      if (costLeft - promptCost < 0 || byCost < options.minCompletionTokens) {
        return (
          `not sent: the prompt (~$${usd(promptCost)}, estimated) and at least ${options.minCompletionTokens} ` +
          `completion tokens exceed the cost budget ($${usd(Math.max(0, costLeft))} of $${usd(budget.maxCostUSD)} left)`
        );
      }
      maxCompletionTokens = Math.min(maxCompletionTokens, byCost);
    }
    const timeoutMs = Math.max(1, Math.ceil(Math.min(options.requestTimeoutMs, deadline - now)));
    return { promptTokens, maxCompletionTokens, timeoutMs };
  }

  /** Sends one request and judges what came back; counts its usage into `usage`. */
  async #try(
    messages: ChatMessage[],
    plan: Plan,
    request: ProposalRequest,
    usage: ProposalUsage,
    agent: string,
  ): Promise<TryOutcome> {
    const options = this.#options;
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, plan.timeoutMs);
    const forward = () => controller.abort();
    request.signal?.addEventListener('abort', forward, { once: true });

    let completion: ChatCompletion | undefined;
    let failure: unknown;
    try {
      completion = await this.#client.chat.completions.create(this.#body(messages, plan, request), {
        signal: controller.signal,
        timeout: plan.timeoutMs,
        maxRetries: 0,
      });
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', forward);
    }
    const durationMs = Math.round(performance.now() - started);

    let outcome: TryOutcome;
    if (completion) {
      outcome = this.#judge(completion, plan, request, usage, agent, durationMs);
    } else {
      outcome = this.#classify(failure, { timedOut, cancelled: request.signal?.aborted === true, plan });
      outcome.attempt.durationMs = durationMs;
      // The endpoint may have read (and billed) the prompt of a request we stopped waiting for:
      // count it, so that repeated stalls cannot spend the budget unseen.
      if (
        outcome.attempt.outcome === 'timeout' &&
        !(failure instanceof APIError && failure.status !== undefined)
      ) {
        this.#spend(usage, agent, plan.promptTokens, 0);
        outcome.attempt.message += `; ~${plan.promptTokens} prompt tokens counted as spent (estimated)`;
      }
    }
    options.metrics.llmRequest(agent, outcome.attempt.outcome, durationMs / 1000);
    return outcome;
  }

  #body(
    messages: ChatMessage[],
    plan: Plan,
    request: ProposalRequest,
  ): ChatCompletionCreateParamsNonStreaming {
    const options = this.#options;
    return {
      model: options.model,
      messages: messages.map((message) => ({ role: message.role, content: message.content })),
      [options.tokenLimitField]: plan.maxCompletionTokens,
      ...(options.structuredOutput
        ? { response_format: candidateResponseFormat(request.maxCandidates) }
        : {}),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    } as ChatCompletionCreateParamsNonStreaming;
  }

  #judge(
    completion: ChatCompletion,
    plan: Plan,
    request: ProposalRequest,
    usage: ProposalUsage,
    agent: string,
    durationMs: number,
  ): TryOutcome {
    const options = this.#options;
    const choice = completion.choices[0];
    const content = choice?.message.content ?? '';
    const reported = completion.usage;
    const promptTokens = reported?.prompt_tokens ?? plan.promptTokens;
    const completionTokens = reported?.completion_tokens ?? estimateTokens(content);
    const cost = this.#spend(usage, agent, promptTokens, completionTokens);
    const spent = [`${promptTokens} prompt + ${completionTokens} completion tokens`];
    if (!reported) spent.push('estimated: the endpoint reported no usage');
    spent.push(options.price ? `$${usd(cost)}` : `cost counted as 0: no price for model '${options.model}'`);
    const tail = ` (${spent.join(', ')})`;

    const attempt = (outcome: ProposalAttempt['outcome'], message: string): ProposalAttempt => ({
      outcome,
      message: this.#redact(clip(message, MAX_MESSAGE_CHARS - tail.length) + tail),
      durationMs,
    });
    const malformed = (problem: string): TryOutcome => ({
      next: 'repair',
      attempt: attempt('malformed', problem),
      answer: content,
      problem,
    });

    if (!choice) return malformed('the answer has no choices');
    if (choice.message.refusal) {
      return {
        next: 'final',
        attempt: attempt('refused', `the model refused: ${clip(choice.message.refusal, 300)}`),
      };
    }
    if (choice.finish_reason === 'content_filter') {
      return { next: 'final', attempt: attempt('refused', 'the answer was withheld by the content filter') };
    }
    if (choice.finish_reason === 'length') {
      return malformed(
        `the answer was cut off at the limit of ${plan.maxCompletionTokens} completion tokens; ` +
          'propose fewer or shorter candidates',
      );
    }
    if (content.length > options.maxAnswerChars) {
      return malformed(
        `the answer has ${content.length} characters, more than the ${options.maxAnswerChars} read`,
      );
    }
    const reading = readCandidateAnswer(content, request);
    if (!reading.ok) return malformed(reading.errors.join('; '));
    if (reading.candidates.length === 0 && reading.dropped.length > 0) {
      return malformed(`no usable candidate: ${reading.dropped.join('; ')}`);
    }
    const count = `${reading.candidates.length} candidate(s)`;
    const dropped = reading.dropped.length > 0 ? `; dropped ${reading.dropped.join('; ')}` : '';
    return { next: 'ok', attempt: attempt('ok', count + dropped), candidates: reading.candidates };
  }

  #classify(error: unknown, context: { timedOut: boolean; cancelled: boolean; plan: Plan }): TryOutcome {
    const attempt = (outcome: ProposalAttempt['outcome'], message: string): ProposalAttempt => ({
      outcome,
      message: clip(this.#redact(message), MAX_MESSAGE_CHARS),
      durationMs: 0,
    });
    if (context.cancelled) return { next: 'final', attempt: cancelled() };
    if (causes(error).some((cause) => cause instanceof ResponseTooLarge)) {
      const limit = causes(error).find(
        (cause): cause is ResponseTooLarge => cause instanceof ResponseTooLarge,
      );
      return {
        next: 'repair',
        attempt: attempt('malformed', `the response body exceeded ${limit?.limit} bytes; reading stopped`),
        answer: '',
        problem: 'the answer was far too long; propose fewer or shorter candidates',
      };
    }
    const timeout = `no complete answer within ${context.plan.timeoutMs} ms`;
    if (
      context.timedOut ||
      error instanceof APIConnectionTimeoutError ||
      error instanceof APIUserAbortError
    ) {
      return { next: 'retry', attempt: attempt('timeout', timeout) };
    }
    if (error instanceof APIConnectionError) {
      return { next: 'retry', attempt: attempt('error', `connection failed: ${describeConnection(error)}`) };
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      const status = error.status;
      const retryable = error.headers?.get('x-should-retry') !== 'false';
      const id = error.requestID ? ` [request ${error.requestID}]` : '';
      const text = `HTTP ${status}${id}: ${stripStatus(error.message, status)}`;
      const advisedMs = advisedDelay(error.headers, this.#options.now());
      if (status === 429 && error.code === 'insufficient_quota') {
        return { next: 'final', attempt: attempt('refused', text) };
      }
      if (status === 429) return retryOr(retryable, attempt('rate-limited', text), advisedMs);
      if (status === 408) return retryOr(retryable, attempt('timeout', text), advisedMs);
      if (status >= 500) return retryOr(retryable, attempt('server-error', text), advisedMs);
      if (status === 401 || status === 403) return { next: 'final', attempt: attempt('refused', text) };
      return { next: 'final', attempt: attempt('error', text) };
    }
    if (error instanceof Error && error.name === 'AbortError') {
      return { next: 'retry', attempt: attempt('timeout', timeout) };
    }
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { next: 'final', attempt: attempt('error', `unexpected failure: ${text}`) };
  }

  #spend(usage: ProposalUsage, agent: string, promptTokens: number, completionTokens: number): number {
    const price = this.#options.price;
    const cost = price
      ? (promptTokens * price.inputPerMillion + completionTokens * price.outputPerMillion) / 1e6
      : 0;
    usage.promptTokens += promptTokens;
    usage.completionTokens += completionTokens;
    usage.costUSD += cost;
    const metrics = this.#options.metrics;
    if (promptTokens > 0) metrics.llmTokens(agent, 'prompt', promptTokens);
    if (completionTokens > 0) metrics.llmTokens(agent, 'completion', completionTokens);
    if (cost > 0) metrics.llmCost(agent, cost);
    return cost;
  }

  #record(agent: string, request: ProposalRequest, n: number, attempt: ProposalAttempt): ProposalAttempt {
    const line = {
      agent,
      cycle: request.cycle,
      attempt: n,
      outcome: attempt.outcome,
      durationMs: attempt.durationMs,
    };
    if (attempt.outcome === 'ok') this.#options.log?.info(line, attempt.message);
    else this.#options.log?.warn(line, attempt.message);
    return attempt;
  }

  #redact(text: string): string {
    return redactSecrets(text, [this.#apiKey]);
  }
}

function retryOr(retryable: boolean, attempt: ProposalAttempt, advisedMs: number | undefined): TryOutcome {
  if (!retryable) {
    attempt.message += '; the server asked not to retry';
    return { next: 'final', attempt };
  }
  return advisedMs === undefined ? { next: 'retry', attempt } : { next: 'retry', attempt, advisedMs };
}

function cancelled(): ProposalAttempt {
  return { outcome: 'error', message: 'cancelled by the caller', durationMs: 0 };
}

/** The conversation continues with the rejected answer and what was wrong with it. */
function repairMessages(answer: string, problem: string): ChatMessage[] {
  const echoed: ChatMessage[] =
    answer.trim() === ''
      ? []
      : [
          {
            role: 'assistant',
            content: answer.length > MAX_ECHO_CHARS ? `${answer.slice(0, MAX_ECHO_CHARS)}… (cut)` : answer,
          },
        ];
  return [
    ...echoed,
    {
      role: 'user',
      content:
        `That answer could not be used: ${clip(problem, 1500)}\n` +
        'Answer again with only the JSON object described in the instructions, fixing these problems.',
    },
  ];
}

function checkRequest(request: ProposalRequest): void {
  if (!Number.isInteger(request.maxCandidates) || request.maxCandidates < 1) {
    throw new RangeError(
      `ProposalRequest.maxCandidates must be a positive integer, got ${request.maxCandidates}`,
    );
  }
  const { maxTokens, maxCostUSD, deadline } = request.budget;
  if (!(deadline instanceof Date) || Number.isNaN(deadline.getTime())) {
    throw new TypeError('ProposalRequest.budget.deadline must be a valid Date');
  }
  if (!(maxTokens >= 0) || !(maxCostUSD >= 0)) {
    throw new RangeError('ProposalRequest.budget limits must be non-negative numbers');
  }
}

/**
 * A fetch whose response bodies stop after `limit` bytes with ResponseTooLarge, so that an endpoint
 * answering without end cannot fill the operator's memory before any check runs.
 */
function boundedFetch(limit: number): NonNullable<ClientOptions['fetch']> {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    let seen = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit) controller.error(new ResponseTooLarge(limit));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The client's own log lines, redacted, at debug level of our log. */
function clientLogger(
  log: ProposerLog | undefined,
  redact: (text: string) => string,
): ClientOptions['logger'] {
  const write =
    (level: string) =>
    (message: string, ...rest: unknown[]) => {
      if (!log) return;
      const details = rest.map((item) => inspect(item, { depth: 4, breakLength: Infinity })).join(' ');
      log.debug(
        { client: 'openai', clientLevel: level },
        clip(redact(details ? `${message} ${details}` : message), 4000),
      );
    };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function describeConnection(error: APIConnectionError): string {
  const reasons = causes(error)
    .slice(1)
    .map((cause) =>
      cause instanceof Error
        ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
        : '',
    )
    .filter((text) => text !== '');
  return [error.message, ...reasons].join(' ← ');
}

/** APIError messages start with the status; the attempt message says it once. */
function stripStatus(message: string, status: number): string {
  return message.startsWith(`${status} `) ? message.slice(String(status).length + 1) : message;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

function usd(amount: number): string {
  return amount.toFixed(amount < 0.01 ? 6 : 4);
}
