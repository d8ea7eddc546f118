// The isolation proof: before any candidate code runs, the runner tries to reach addresses the
// network policy must block. Reaching any of them is a breach; only refusals, unreachable
// networks and silence count as isolation.
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type { IsolationProbe, SandboxManifest } from '../../operator/src/api/sandbox-protocol.js';

/** Pause between rounds while waiting for the network policy to reach the node. */
export const SETTLE_INTERVAL_MS = 500;

/** Name asked for by DNS probes: one every cluster resolver answers. */
export const DNS_PROBE_NAME = 'kubernetes.default.svc.cluster.local';

export interface ProbeResult {
  name: string;
  breached: boolean;
  /** What happened, for the log: `connected`, `ECONNREFUSED`, `timeout`, `answered`. */
  detail: string;
}

export interface IsolationProof {
  /** Names of the probes that still got through in the last round (empty when isolated). */
  breached: string[];
  rounds: number;
  durationMs: number;
  /** The last round's results, in probe order. */
  results: ProbeResult[];
}

export interface ProofOptions {
  probe?: (probe: IsolationProbe, timeoutMs: number) => Promise<ProbeResult>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called after every round, for the log. */
  onRound?: (results: ProbeResult[], round: number) => void;
}

/**
 * Probes every address at once, again every SETTLE_INTERVAL_MS while any gets through, until all
 * are isolated or `settleSeconds` have passed; the proof lists what was still breached at the end.
 */
export async function proveIsolation(
  settings: SandboxManifest['isolation'],
  options: ProofOptions = {},
): Promise<IsolationProof> {
  const { probe = runProbe, now = Date.now, sleep = delay, onRound } = options;
  const started = now();
  const deadline = started + settings.settleSeconds * 1000;
  for (let round = 1; ; round++) {
    const results = await Promise.all(settings.probes.map((each) => probe(each, settings.timeoutMs)));
    onRound?.(results, round);
    const breached = results.filter((result) => result.breached).map((result) => result.name);
    const remaining = deadline - now();
    if (breached.length === 0 || remaining <= 0) {
      return { breached, rounds: round, durationMs: Math.max(0, now() - started), results };
    }
    await sleep(Math.min(SETTLE_INTERVAL_MS, remaining));
  }
}

/** Runs one probe of either kind. */
export function runProbe(probe: IsolationProbe, timeoutMs: number): Promise<ProbeResult> {
  const attempt = probe.kind === 'tcp' ? probeTcp : probeDns;
  return attempt(probe.host, probe.port, timeoutMs).then(({ breached, detail }) => ({
    name: probe.name,
    breached,
    detail,
  }));
}

type Verdict = Omit<ProbeResult, 'name'>;

/** A TCP connection that completes is a breach; refusal, an unreachable network or a timeout is not. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (verdict: Verdict): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => finish({ breached: false, detail: 'timeout' }), timeoutMs);
    socket.once('connect', () => finish({ breached: true, detail: 'connected' }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ breached: false, detail: error.code ?? error.message }),
    );
  });
}

/**
 * Sends a real DNS query over UDP: any datagram coming back is a breach (even an error answer
 * proves packets flow); an error or silence until the timeout is isolation.
 */
export function probeDns(host: string, port: number, timeoutMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (verdict: Verdict): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Already closed by a failed send or connect.
      }
      resolve(verdict);
    };
    const timer = setTimeout(() => finish({ breached: false, detail: 'timeout' }), timeoutMs);
    socket.once('message', () => finish({ breached: true, detail: 'answered' }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ breached: false, detail: error.code ?? error.message }),
    );
    // Connecting the socket lets the kernel report ICMP port-unreachable as an error; a failed
    // connect (no route, unresolvable name) arrives as an 'error' event.
    socket.once('connect', () => {
      socket.send(buildDnsQuery(DNS_PROBE_NAME, (Math.random() * 0x10000) & 0xffff), (error) => {
        if (error)
          finish({ breached: false, detail: (error as NodeJS.ErrnoException).code ?? error.message });
      });
    });
    socket.connect(port, host);
  });
}

/** A standard recursive DNS query (RFC 1035) for the A record of `name`. */
export function buildDnsQuery(name: string, id: number): Buffer {
  const labels = name.split('.').filter((label) => label !== '');
  const question = Buffer.concat([
    ...labels.map((label) => {
      const bytes = Buffer.from(label, 'ascii');
      if (bytes.length > 63) throw new Error(`DNS label too long: ${label}`);
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
    // Root label, then QTYPE A (1) and QCLASS IN (1).
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // standard query, recursion desired
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, question]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
