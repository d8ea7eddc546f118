// The judge's end of the executor protocol (sandbox-image/executor): the judge listens on a Unix
// socket in a volume the candidate container mounts read-only, accepts exactly one connection —
// the executor's, made before any candidate code exists — and closes the listener, so nothing
// else can ever speak on it. Then it sends one request at a time and checks every answer against
// a schema: the executor runs in the candidate's container, so its answers are parsed as
// defensively as anything else from there, and bounded in size.
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Longest answer line: two output tails of 1 MiB, base64, and the rest. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const Hello = Type.Object({
  hello: Type.Literal('hyperagent-executor'),
  version: Type.Literal(1),
  pid: Type.Integer(),
  uid: Type.Integer(),
});
export type ExecutorHello = Static<typeof Hello>;

const Answer = Type.Object({
  ok: Type.Boolean(),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
  exitCode: Type.Optional(Type.Integer()),
  signal: Type.Optional(Type.String({ maxLength: 16 })),
  timedOut: Type.Optional(Type.Boolean()),
  durationMs: Type.Optional(Type.Integer({ minimum: 0 })),
  spawnError: Type.Optional(Type.String({ maxLength: 4096 })),
  lingering: Type.Optional(Type.Integer({ minimum: 0 })),
  processLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  stdout: Type.Optional(Type.String()),
  stderr: Type.Optional(Type.String()),
  outputBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  ended: Type.Optional(Type.Boolean()),
  peakBytes: Type.Optional(Type.Integer()),
  oomKills: Type.Optional(Type.Integer()),
});
export type ExecutorAnswer = Static<typeof Answer>;

export type ExecutorRequest =
  | {
      op: 'write';
      files: { path: string; base64: string; executable?: boolean }[];
      deleted: string[];
    }
  | {
      op: 'run';
      name: string;
      argv: string[];
      env: Record<string, string>;
      timeoutMs: number;
      tailBytes?: number;
      /** Processes the candidate may have at once (the executor's default, 512, when unset). */
      processLimit?: number;
    }
  | {
      op: 'start';
      name: string;
      argv: string[];
      env: Record<string, string>;
      tailBytes?: number;
    }
  | { op: 'stop' }
  | { op: 'memory' }
  | { op: 'exit' };

/** The executor broke the protocol, went away, or never came; the message says which. */
export class ExecutorLostError extends Error {
  override readonly name = 'ExecutorLostError';
}

/** A connected executor: one request in flight at a time. */
export class ExecutorConnection {
  private buffered = '';
  private waiting: ((line: string | Error) => void) | undefined;
  private lines: string[] = [];
  private ended: Error | undefined;

  constructor(
    private readonly socket: Socket,
    readonly hello: ExecutorHello,
    leftover: string,
  ) {
    this.take(leftover);
    socket.on('data', (chunk: Buffer) => this.take(chunk.toString('utf8')));
    const end = (why: string) => () => this.fail(new ExecutorLostError(why));
    socket.on('end', end('the executor closed the connection (the candidate container ended)'));
    socket.on('close', end('the connection to the executor closed (the candidate container ended)'));
    socket.on('error', (error) => this.fail(new ExecutorLostError(`executor connection: ${error.message}`)));
  }

  /** Sends one request and waits for its answer; rejects with ExecutorLostError. */
  async request(request: ExecutorRequest): Promise<ExecutorAnswer> {
    if (this.ended) throw this.ended;
    this.socket.write(`${JSON.stringify(request)}\n`);
    const line = await this.nextLine();
    const value = parseJson(line);
    if (!Value.Check(Answer, value)) {
      this.close();
      throw new ExecutorLostError(`the executor's answer to ${request.op} does not follow the protocol`);
    }
    return value;
  }

  close(): void {
    this.socket.destroy();
  }

  private nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.waiting = (value) => (value instanceof Error ? reject(value) : resolve(value));
    });
  }

  private take(text: string): void {
    this.buffered += text;
    for (let newline = this.buffered.indexOf('\n'); newline !== -1; newline = this.buffered.indexOf('\n')) {
      this.deliver(this.buffered.slice(0, newline));
      this.buffered = this.buffered.slice(newline + 1);
    }
    if (this.buffered.length > MAX_ANSWER_BYTES) {
      this.fail(new ExecutorLostError(`an answer of the executor passed ${MAX_ANSWER_BYTES} bytes`));
      this.close();
    }
  }

  private deliver(line: string): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(line);
    else this.lines.push(line);
  }

  private fail(error: ExecutorLostError): void {
    if (this.ended) return;
    this.ended = error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(error);
  }
}

/**
 * Listens on `path`, accepts the first connection and stops listening (the socket file is
 * removed), and reads the executor's hello. Rejects with ExecutorLostError when no executor
 * connects within `timeoutMs` or its hello is not the protocol's.
 */
export async function acceptExecutor(path: string, timeoutMs: number): Promise<ExecutorConnection> {
  await rm(path, { force: true });
  const server = createServer({ pauseOnConnect: false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // The executor runs under another uid: it may connect (connecting needs write permission on the
  // socket file). The folder is read-only for it, so it can neither remove nor replace the socket.
  await chmod(path, 0o666);
  try {
    const socket = await firstConnection(server, timeoutMs);
    return await readHello(socket, timeoutMs);
  } finally {
    // Stops listening at once; the close callback would wait for the accepted connection to end.
    server.close();
    await rm(path, { force: true });
  }
}

function firstConnection(server: Server, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new ExecutorLostError(
          `the executor of the candidate container did not connect within ${Math.round(timeoutMs / 1000)}s`,
        ),
      );
    }, timeoutMs);
    server.once('connection', (socket) => {
      clearTimeout(timer);
      // Only the first: later connections are refused by the closing listener.
      server.on('connection', (other: Socket) => other.destroy());
      resolve(socket);
    });
  });
}

function readHello(socket: Socket, timeoutMs: number): Promise<ExecutorConnection> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new ExecutorLostError('the executor connected but sent no hello'));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline === -1) {
        if (text.length > 4096) {
          cleanup();
          socket.destroy();
          reject(new ExecutorLostError('the executor sent an oversized hello'));
        }
        return;
      }
      cleanup();
      const hello = parseJson(text.slice(0, newline));
      if (!Value.Check(Hello, hello)) {
        socket.destroy();
        reject(new ExecutorLostError('the first line on the executor socket is not the executor hello'));
        return;
      }
      resolve(new ExecutorConnection(socket, hello, text.slice(newline + 1)));
    };
    const onClose = () => {
      cleanup();
      reject(new ExecutorLostError('the executor closed the connection before its hello'));
    };
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    }
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
