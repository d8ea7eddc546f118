// A probe CLI for e2e tests run from another pod (kubectl exec ... node /app/probe.mjs ...):
//
//   node /app/probe.mjs http URL [--timeout-ms N]        prints "HTTP <status>" and the body;
//                                                        exit 0 on any HTTP answer
//   node /app/probe.mjs tcp HOST PORT [--timeout-ms N]   exit 0 once a TCP connection is up
//
// Refusals, DNS failures and timeouts print one clear line on stderr and exit 1; bad usage exits 2.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL } from 'node:url';

const defaultTimeoutMs = 5000;
const usage = 'usage: probe.mjs http URL [--timeout-ms N] | probe.mjs tcp HOST PORT [--timeout-ms N]';

function fail(message, code = 1) {
  console.error(`probe: ${message}`);
  process.exitCode = code;
}

/** Splits argv into positional arguments and the --timeout-ms option. */
function parseArgs(argv) {
  const positional = [];
  let timeoutMs = defaultTimeoutMs;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--timeout-ms') {
      timeoutMs = Number(argv[++i]);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return undefined;
    } else {
      positional.push(argv[i]);
    }
  }
  return { positional, timeoutMs };
}

/** A readable reason for a socket or DNS error. */
function describe(error) {
  const reasons = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'name not found',
    EAI_AGAIN: 'name lookup failed',
  };
  const reason = reasons[error.code];
  return reason ? `${reason} (${error.code})` : error.message;
}

function probeHttp(target, timeoutMs) {
  let url;
  try {
    url = new URL(target);
  } catch {
    return fail(`not a URL: ${target}`, 2);
  }
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) return fail(`unsupported scheme ${url.protocol}`, 2);
  const request = transport.get(url, { agent: false }, (response) => {
    const chunks = [];
    response.on('data', (chunk) => chunks.push(chunk));
    response.on('end', () => {
      clearTimeout(timer);
      process.stdout.write(`HTTP ${response.statusCode} ${response.statusMessage ?? ''}\n`);
      process.stdout.write(Buffer.concat(chunks));
      process.exitCode = 0;
    });
  });
  const timer = setTimeout(() => {
    request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' }));
  }, timeoutMs);
  request.on('error', (error) => {
    clearTimeout(timer);
    fail(`http GET ${target}: ${describe(error)}`);
  });
}

function probeTcp(host, portText, timeoutMs) {
  const port = Number(portText);
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) return fail(usage, 2);
  const socket = net.connect({ host, port });
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'TIMEOUT' }));
  }, timeoutMs);
  socket.on('connect', () => {
    clearTimeout(timer);
    process.stdout.write(`tcp ${host}:${port}: connected\n`);
    socket.destroy();
    process.exitCode = 0;
  });
  socket.on('error', (error) => {
    clearTimeout(timer);
    fail(`tcp ${host}:${port}: ${describe(error)}`);
  });
}

function main(argv) {
  const args = parseArgs(argv);
  if (!args) return fail(`--timeout-ms needs a positive integer\n${usage}`, 2);
  const [mode, ...rest] = args.positional;
  if (mode === 'http' && rest.length === 1) return probeHttp(rest[0], args.timeoutMs);
  if (mode === 'tcp' && rest.length === 2) return probeTcp(rest[0], rest[1], args.timeoutMs);
  return fail(usage, 2);
}

main(process.argv.slice(2));
