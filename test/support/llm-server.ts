// A local OpenAI-compatible HTTP server: the one stand-in the tests use, for the LLM. The official
// `openai` client is pointed at its `baseURL`; each chat completion is answered by the next scripted
// behaviour (or the default), and every request is recorded as it arrived.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';

/** One HTTP request as the server received it, whatever its path or validity. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent, e.g. `/v1/chat/completions`. */
  url: string;
  /** Header names are lower-case, as Node gives them. */
  headers: IncomingHttpHeaders;
  /** The body exactly as received; '' when there was none. */
  rawBody: string;
  /** The body parsed as JSON; undefined when it was empty or not JSON. */
  body: unknown;
}

/** A chat completion request that passed validation, as handed to a `reply` function. */
export interface ChatRequest extends RecordedRequest {
  body: ChatCompletionCreateParamsNonStreaming;
  /** 0-based rank of this call among the valid chat completions the server has seen. */
  call: number;
}

export type FinishReason = ChatCompletion.Choice['finish_reason'];

export type Behaviour =
  | {
      kind: 'reply';
      content: string | ((request: ChatRequest) => string);
      finishReason: FinishReason;
    }
  | { kind: 'status'; code: number; body: unknown; headers: Record<string, string> }
  | { kind: 'slow'; ms: number; then: Behaviour }
  | { kind: 'hangUp' }
  | { kind: 'stall' };

/** Answers with `content` (text the test built, usually JSON), or with what `content(request)` returns. */
export function reply(
  content: string | ((request: ChatRequest) => string),
  options: { finishReason?: FinishReason } = {},
): Behaviour {
  return { kind: 'reply', content, finishReason: options.finishReason ?? 'stop' };
}

/** Answers with `text` as the content: not JSON, or JSON that does not match the requested schema. */
export function malformed(text: string): Behaviour {
  return reply(text);
}

/** Answers with a JSON object `{"padding":"xxx…"}` of exactly `bytes` characters (at least 14). */
export function huge(bytes: number): Behaviour {
  const frame = '{"padding":""}';
  if (!Number.isInteger(bytes) || bytes < frame.length) {
    throw new Error(`huge(${bytes}): size must be an integer of at least ${frame.length}`);
  }
  return reply(`{"padding":"${'x'.repeat(bytes - frame.length)}"}`);
}

/** Waits `ms` before behaving as `then`; nothing is sent meanwhile, not even headers. */
export function slow(ms: number, then: Behaviour): Behaviour {
  return { kind: 'slow', ms, then };
}

/**
 * Answers with an HTTP error: `body` defaults to an OpenAI-style error for `code`, an object is sent as
 * JSON and a string as is; `headers` are added (e.g. `retry-after`, `retry-after-ms`, `x-should-retry`).
 */
export function status(code: number, body?: unknown, headers: Record<string, string> = {}): Behaviour {
  return { kind: 'status', code, body: body ?? defaultErrorBody(code), headers };
}

/** Destroys the connection without answering. */
export function hangUp(): Behaviour {
  return { kind: 'hangUp' };
}

/**
 * Sends 200, the headers and the start of the body, then nothing more until the client gives up or
 * the server closes. The client's `timeout` does not cover the body: only a `signal` ends the call.
 */
export function stall(): Behaviour {
  return { kind: 'stall' };
}

export interface LlmServerOptions {
  /** When set, only `Authorization: Bearer <apiKey>` is accepted; otherwise any bearer token is. */
  apiKey?: string;
  /** What answers a chat completion once the script is used up; by default a loud, non-retried 500. */
  defaultBehaviour?: Behaviour;
  /** The ids `GET /v1/models` lists. */
  models?: string[];
  /** Address to listen on; loopback by default. Pods reach the node's address instead. */
  host?: string;
}

export interface LlmServer {
  /** `http://127.0.0.1:<port>/v1`, for `new OpenAI({ baseURL })`. */
  baseURL: string;
  /** Every request received, in order of arrival, including rejected ones. */
  requests: RecordedRequest[];
  /** Queues behaviours; each valid chat completion takes the next one, in order of arrival. */
  script(...behaviours: Behaviour[]): void;
  /** How many scripted behaviours have not been used yet. */
  pending(): number;
  /** Stops listening, drops open connections and cancels delayed answers. */
  close(): Promise<void>;
}

const BODY_LIMIT = '64mb';

/** Starts the server on a free port of `options.host` (loopback by default). */
export async function startLlmServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  const queue: Behaviour[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const models = options.models ?? ['test-model'];
  let calls = 0;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.raw({ type: () => true, limit: BODY_LIMIT }));
  app.use((req, res, next) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const recorded: RecordedRequest = {
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
      rawBody,
      body: parseJson(rawBody),
    };
    requests.push(recorded);
    res.locals.recorded = recorded;
    res.setHeader('x-request-id', `req_${requests.length}`);
    next();
  });
  app.use((req, res, next) => {
    const problem = authProblem(req.headers.authorization, options.apiKey);
    if (problem) {
      sendError(res, 401, problem.message, 'invalid_request_error', problem.code);
      return;
    }
    next();
  });

  app.get('/v1/models', (_req, res) => {
    res.json({
      object: 'list',
      data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'llm-server' })),
    });
  });

  app.post('/v1/chat/completions', (req, res) => {
    const recorded = res.locals.recorded as RecordedRequest;
    if (recorded.body === undefined) {
      sendError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
      return;
    }
    const problem = requestProblem(recorded.body);
    if (problem) {
      sendError(res, 400, problem.message, 'invalid_request_error', null, problem.param);
      return;
    }
    const request: ChatRequest = {
      ...recorded,
      body: recorded.body as ChatCompletionCreateParamsNonStreaming,
      call: calls++,
    };
    behave(queue.shift() ?? options.defaultBehaviour ?? unscripted(request.call), request, req, res);
  });

  app.use((req, res) => {
    sendError(res, 404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error', null);
  });
  app.use(
    (error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
      const code = error.status ?? 500;
      sendError(res, code, error.message ?? String(error), 'invalid_request_error', null);
    },
  );

  function behave(behaviour: Behaviour, request: ChatRequest, req: Request, res: Response): void {
    switch (behaviour.kind) {
      case 'reply': {
        let content: string;
        try {
          content = typeof behaviour.content === 'function' ? behaviour.content(request) : behaviour.content;
        } catch (error) {
          // a broken reply function is a test bug: say so once, without inviting the client to retry
          sendError(
            res,
            500,
            `llm-server: reply function threw: ${String(error)}`,
            'server_error',
            null,
            null,
            {
              'x-should-retry': 'false',
            },
          );
          return;
        }
        res.json(completion(request, content, behaviour.finishReason));
        return;
      }
      case 'status':
        res.status(behaviour.code).set(behaviour.headers);
        if (typeof behaviour.body !== 'string') res.json(behaviour.body);
        else if (res.get('content-type')) res.send(behaviour.body);
        else res.type('text/plain').send(behaviour.body);
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          // the client may have given up meanwhile: then there is nobody left to answer
          if (!req.socket.destroyed) behave(behaviour.then, request, req, res);
        }, behaviour.ms);
        timers.add(timer);
        return;
      }
      case 'hangUp':
        req.socket.destroy();
        return;
      case 'stall':
        res.status(200).type('application/json');
        res.write(`{"id":"chatcmpl-${request.call + 1}",`);
        return;
    }
  }

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, options.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    requests,
    script: (...behaviours) => {
      queue.push(...behaviours);
    },
    pending: () => queue.length,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The token count the server reports for `text`: its whitespace-separated words. */
export function countTokens(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

/** The prompt tokens the server reports for `messages`: the words of every text they carry. */
export function countPromptTokens(messages: ChatCompletionMessageParam[]): number {
  let total = 0;
  for (const message of messages) {
    if (typeof message.content === 'string') total += countTokens(message.content);
    else if (Array.isArray(message.content)) {
      for (const part of message.content) if (part.type === 'text') total += countTokens(part.text);
    }
  }
  return total;
}

function completion(request: ChatRequest, content: string, finishReason: FinishReason): ChatCompletion {
  const promptTokens = countPromptTokens(request.body.messages);
  const completionTokens = countTokens(content);
  return {
    id: `chatcmpl-${request.call + 1}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/** Why the real API would answer 401, or undefined when the credentials are acceptable. */
function authProblem(
  authorization: string | undefined,
  apiKey: string | undefined,
): { message: string; code: string | null } | undefined {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!match) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      code: null,
    };
  }
  if (apiKey !== undefined && match[1] !== apiKey) {
    return { message: 'Incorrect API key provided.', code: 'invalid_api_key' };
  }
  return undefined;
}

/** The first reason the real API would answer 400 to this chat completion body, if any. */
function requestProblem(body: unknown): { message: string; param: string | null } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { message: 'The request body must be a JSON object.', param: null };
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.model !== 'string' || fields.model === '') {
    return { message: 'you must provide a model parameter', param: 'model' };
  }
  if (!Array.isArray(fields.messages) || fields.messages.length === 0) {
    return { message: "Missing required parameter: 'messages'.", param: 'messages' };
  }
  if (fields.stream === true) {
    return { message: 'llm-server: streaming is not supported', param: 'stream' };
  }
  return undefined;
}

function unscripted(call: number): Behaviour {
  return status(
    500,
    errorBody(`llm-server: nothing scripted for chat completion #${call}`, 'server_error', 'unscripted'),
    { 'x-should-retry': 'false' },
  );
}

function defaultErrorBody(code: number): unknown {
  if (code === 401)
    return errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
  if (code === 429) {
    return errorBody('Rate limit reached for requests.', 'requests', 'rate_limit_exceeded');
  }
  if (code >= 500)
    return errorBody('The server had an error while processing your request.', 'server_error', null);
  return errorBody(`llm-server: scripted status ${code}`, 'invalid_request_error', null);
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

function sendError(
  res: Response,
  httpStatus: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  headers: Record<string, string> = {},
): void {
  res
    .status(httpStatus)
    .set(headers)
    .json(errorBody(message, type, code, param));
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
