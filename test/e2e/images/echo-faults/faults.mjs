// A fault switch for the echo fixture, preloaded with `node --import`: FAULT_RATE (0 to 1, default
// 0) is the share of requests answered 500 instead of their status, spread evenly (with 0.5 every
// second request fails), so a canary of a "bad version" errors under traffic deterministically.
// /metrics and /healthz are spared: Prometheus keeps scraping and the pod stays ready, as a
// service with a broken code path would.
import http from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';

const rate = Math.min(1, Math.max(0, Number(process.env.FAULT_RATE ?? 0) || 0));
const spared = new Set(['/metrics', '/healthz']);
let owed = 0;

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function faultyWriteHead(statusCode, ...rest) {
  const path = new URL(this.req?.url ?? '/', 'http://localhost').pathname;
  if (rate > 0 && statusCode < 400 && !spared.has(path)) {
    owed += rate;
    if (owed >= 1) {
      owed -= 1;
      this.setHeader('x-fault', 'injected');
      return writeHead.call(this, 500, ...rest);
    }
  }
  return writeHead.call(this, statusCode, ...rest);
};
