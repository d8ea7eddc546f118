// A fault switch for the echo fixture, preloaded with `node --import`:
//   FAULT_RATE (0 to 1, default 0): the share of requests answered 500 instead of their status,
//     spread evenly (with 0.5 every second request fails), so a canary of a "bad version" errors
//     under traffic deterministically;
//   SLOW_MS (default 0): extra time before each answer is sent;
//   FAULTS_AFTER_S (default 0): both start only this many seconds after the process did, so a
//     version can pass its canary and degrade once promoted (a leak, a cache that stops fitting);
//   FORGE_METRICS (1 to turn on): a hostile version that hides its failures from its own
//     counters: an injected 500 goes out on the wire, but the server records the status it meant.
// /metrics and /healthz are spared: Prometheus keeps scraping and the pod stays ready, as a
// service with a broken code path would.
import http from 'node:http';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';

const rate = Math.min(1, Math.max(0, Number(process.env.FAULT_RATE ?? 0) || 0));
const slowMs = Math.max(0, Number(process.env.SLOW_MS ?? 0) || 0);
const startsAt = Date.now() + Math.max(0, Number(process.env.FAULTS_AFTER_S ?? 0) || 0) * 1000;
const forge = process.env.FORGE_METRICS === '1';
const spared = new Set(['/metrics', '/healthz']);
let owed = 0;

const faulty = (req) =>
  Date.now() >= startsAt && !spared.has(new URL(req?.url ?? '/', 'http://localhost').pathname);

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function faultyWriteHead(statusCode, ...rest) {
  if (rate > 0 && statusCode < 400 && faulty(this.req)) {
    owed += rate;
    if (owed >= 1) {
      owed -= 1;
      this.setHeader('x-fault', 'injected');
      const sent = writeHead.call(this, 500, ...rest);
      // the head is on its way; what the server reads back afterwards is a lie
      if (forge) this.statusCode = statusCode;
      return sent;
    }
  }
  return writeHead.call(this, statusCode, ...rest);
};

// the answer is held back, not the request: the echo server's duration histogram sees the delay
const end = http.ServerResponse.prototype.end;
http.ServerResponse.prototype.end = function slowEnd(...args) {
  if (slowMs > 0 && faulty(this.req) && !this.slowed) {
    this.slowed = true;
    setTimeout(() => end.apply(this, args), slowMs);
    return this;
  }
  return end.apply(this, args);
};
