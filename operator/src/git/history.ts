// Reading refs and commit messages back out of git, for the idempotency check and the lineage.
import type { GitRunner } from './runner.js';
import { readCandidateRecord, parseTrailers, TRAILER_KEYS, type CandidateRecord } from './trailers.js';
import { agentKey, type AgentRef } from './refs.js';

/** One commit, as the lineage reads it. */
export interface CommitInfo {
  commit: string;
  /** Committer time, strict ISO 8601 (RFC 3339). */
  committedAt: string;
  message: string;
}

/** A commit that carries a candidate record of the given agent. */
export interface CandidateCommit extends CommitInfo {
  record: CandidateRecord;
}

/** The commit a ref names, or undefined when there is no such ref. */
export async function resolveCommit(runner: GitRunner, ref: string): Promise<string | undefined> {
  // Not --quiet: a silent git command costs simple-git an extra 50 ms wait.
  const result = await runner.run(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]);
  const sha = result.stdout.trim();
  return result.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

/** Whether `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(runner: GitRunner, ancestor: string, descendant: string): Promise<boolean> {
  const result = await runner.run(['merge-base', '--is-ancestor', ancestor, descendant]);
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw runner.failure(['merge-base'], result);
}

/**
 * The commits reachable from `refs` whose messages name the agent in an Agent trailer, oldest
 * first (a parent always before its children), with their candidate records. Commits with a
 * damaged or foreign record are skipped.
 */
export async function candidateCommits(
  runner: GitRunner,
  agent: AgentRef,
  refs: readonly string[],
): Promise<CandidateCommit[]> {
  if (refs.length === 0) return [];
  const key = agentKey(agent);
  const output = await runner.git([
    'log',
    '-z',
    '--date-order',
    '--reverse',
    '--format=%H%x1f%cI%x1f%B',
    '--fixed-strings',
    `--grep=${TRAILER_KEYS.agent}: ${key}`,
    '--end-of-options',
    ...refs,
    '--',
  ]);
  const commits: CandidateCommit[] = [];
  for (const info of parseLog(output)) {
    const record = readCandidateRecord(parseTrailers(info.message));
    if (record && agentKey(record.agent) === key) commits.push({ ...info, record });
  }
  return commits;
}

/** Splits `git log -z --format=%H%x1f%cI%x1f%B` output into commits. */
export function parseLog(output: string): CommitInfo[] {
  const commits: CommitInfo[] = [];
  for (const entry of output.split('\0')) {
    const first = entry.indexOf('\x1f');
    const second = entry.indexOf('\x1f', first + 1);
    if (first < 0 || second < 0) continue;
    commits.push({
      commit: entry.slice(0, first).trim(),
      committedAt: entry.slice(first + 1, second),
      message: entry.slice(second + 1),
    });
  }
  return commits;
}

/** Refs under `prefix` (for example `refs/remotes/origin/hyperagent/shop/`), sorted. */
export async function listRefs(runner: GitRunner, prefix: string): Promise<string[]> {
  const output = await runner.git(['for-each-ref', '--format=%(refname)', prefix]);
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .sort();
}

/** Local tags under `prefix` (`refs/tags/...`), each with the commit it finally names. */
export async function localTags(runner: GitRunner, prefix: string): Promise<Map<string, string>> {
  const output = await runner.git([
    'for-each-ref',
    '--format=%(refname) %(objectname) %(*objectname)',
    prefix,
  ]);
  const tags = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [ref, object, peeled] = line.trim().split(' ');
    if (ref && object) tags.set(ref, peeled || object);
  }
  return tags;
}

/** Tags of the remote under `prefix` (`refs/tags/...`), each with the commit it finally names. */
export async function remoteTags(
  runner: GitRunner,
  remote: string,
  prefix: string,
): Promise<Map<string, string>> {
  const output = await runner.git(['ls-remote', '--tags', '--end-of-options', remote]);
  const direct = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [sha, ref] = line.trim().split('\t');
    if (!sha || !ref) continue;
    if (ref.endsWith('^{}')) {
      const name = ref.slice(0, -3);
      if (name.startsWith(prefix)) peeled.set(name, sha);
    } else if (ref.startsWith(prefix)) {
      direct.set(ref, sha);
    }
  }
  // An annotated tag is listed twice: the tag object, then (with ^{}) the commit it names.
  return new Map([...direct].map(([ref, sha]) => [ref, peeled.get(ref) ?? sha]));
}
