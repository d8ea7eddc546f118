// The runner's log is its stdout: its own lines, prefixed, with the commands' output streamed
// between them. The result is the last line, so nothing may be written after it.

export const LOG_PREFIX = '[hyperagent] ';

export interface Log {
  /** One line of the runner's own. */
  line(text: string): void;
  /** Raw output of a command, passed through as it arrives. */
  stream(chunk: Buffer | string): void;
}

/** A log over `write`; a runner line always starts on a fresh line, even after unterminated output. */
export function createLog(write: (text: string | Buffer) => void): Log {
  let atLineStart = true;
  return {
    line(text) {
      write(`${atLineStart ? '' : '\n'}${LOG_PREFIX}${text}\n`);
      atLineStart = true;
    },
    stream(chunk) {
      if (chunk.length === 0) return;
      write(chunk);
      const last = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
      atLineStart = last === 0x0a;
    },
  };
}
