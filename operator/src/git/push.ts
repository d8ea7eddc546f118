// Publishing refs without force. When the remote has moved on, that is reported as a result the
// cycle can act on (BranchMoved), and the local commit stays where it is: nothing is ever
// overwritten on either side.
import { GitLineageError } from './errors.js';
import { isAncestor, resolveCommit } from './history.js';
import { cycleBranch } from './refs.js';
import type { GitResult } from './runner.js';
import { localRef, REMOTE, remoteRef, type Workspace } from './workspace.js';

export type PushResult =
  | {
      pushed: true;
      branch: string;
      commit: string;
      /** The remote already had exactly this commit. */
      upToDate: boolean;
    }
  | {
      pushed: false;
      reason: 'BranchMoved';
      branch: string;
      /** The local commit, kept as it was. */
      localHead: string;
      /** What the remote branch holds now. */
      remoteHead: string;
      /** The remote already contains the local commit (someone built on it). */
      remoteContainsLocal: boolean;
    };

/** One line of `git push --porcelain`: the flag, the refs, and git's summary of what happened. */
export interface PushedRef {
  flag: string;
  from: string;
  to: string;
  summary: string;
}

/**
 * Pushes the cycle branch, never forcing. A remote that moved (non-fast-forward, fetch first)
 * gives `{ pushed: false, reason: 'BranchMoved' }`. Throws BranchNotFound when there is no local
 * branch, PushRejected when the remote refuses for another reason (a hook, a protection rule),
 * AuthenticationFailed / RemoteUnreachable / GitFailed for the rest, redacted.
 */
export async function pushCycleBranch(ws: Workspace, cycle: string): Promise<PushResult> {
  const branch = cycleBranch(ws.agent, cycle);
  const localHead = await resolveCommit(ws.runner, localRef(branch));
  if (localHead === undefined) {
    throw new GitLineageError('BranchNotFound', `there is no local branch ${branch} to push`);
  }
  const refspec = `${localRef(branch)}:${localRef(branch)}`;
  const result = await ws.runner.run(['push', '--porcelain', REMOTE, refspec]);
  const line = parsePorcelain(result.stdout).find((ref) => ref.to === localRef(branch));

  if (result.exitCode === 0) {
    await ws.runner.git(['update-ref', remoteRef(branch), localHead]);
    return { pushed: true, branch, commit: localHead, upToDate: line?.flag === '=' };
  }
  if (line?.flag === '!' && isMovedRejection(line.summary)) {
    await ws.fetch();
    const remoteHead = await resolveCommit(ws.runner, remoteRef(branch));
    if (remoteHead === localHead) return { pushed: true, branch, commit: localHead, upToDate: true };
    if (remoteHead === undefined) {
      // Deleted between the push and the fetch: nothing to compare with; the caller tries again.
      throw pushFailure(ws, result, 'GitFailed');
    }
    return {
      pushed: false,
      reason: 'BranchMoved',
      branch,
      localHead,
      remoteHead,
      remoteContainsLocal: await isAncestor(ws.runner, localHead, remoteHead),
    };
  }
  throw pushFailure(ws, result, line?.flag === '!' ? 'PushRejected' : undefined);
}

/** Whether a rejection means the ref moved (or already exists), not that the remote forbade it. */
export function isMovedRejection(summary: string): boolean {
  return (
    /^\[rejected\]/.test(summary) && /fetch first|non-fast-forward|stale info|already exists/.test(summary)
  );
}

/** The ref lines of `git push --porcelain` output. */
export function parsePorcelain(stdout: string): PushedRef[] {
  const refs: PushedRef[] = [];
  for (const line of stdout.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 3) continue;
    const [flag, refs_, summary] = parts as [string, string, string];
    const colon = refs_.indexOf(':');
    if (flag.length !== 1 || colon < 0) continue;
    refs.push({ flag, from: refs_.slice(0, colon), to: refs_.slice(colon + 1), summary: summary.trim() });
  }
  return refs;
}

/** The error for a failed push: git's own words (stderr says why the remote refused), redacted. */
export function pushFailure(
  ws: Workspace,
  result: GitResult,
  code?: 'PushRejected' | 'GitFailed',
): GitLineageError {
  const combined = { ...result, stderr: `${result.stderr.trim()}\n${result.stdout.trim()}`.trim() };
  return ws.runner.failure(['push'], combined, code);
}
