// Structured JSON logs (pino) with the component in every line.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, identity: string): Logger {
  return pino({ level, base: { component: 'hyperagent-operator', identity } });
}
