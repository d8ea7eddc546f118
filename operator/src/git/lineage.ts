// The archive as the repository remembers it: every candidate commit on the agent's cycle
// branches, read back from its trailers, and the promotion tags that name them. With the
// HyperAgent status this is how the archive survives an operator restart or a lost status.
import type { ArchiveEntry } from '../policy/archive-entry.js';
import { candidateCommits, listRefs, localTags } from './history.js';
import { agentBranchPrefix, archiveId } from './refs.js';
import type { CandidateRecord } from './trailers.js';
import { remoteRef, tagRef, type Workspace } from './workspace.js';

/** One committed candidate of the agent. */
export interface LineageRecord extends CandidateRecord {
  /** Archive id, `<cycle>/<candidate>`. */
  id: string;
  commit: string;
  /** Committer time (RFC 3339). */
  committedAt: string;
  /** Subject of the commit (the candidate summary, possibly shortened). */
  summary: string;
  /** Revisions whose promotion tag names this commit. */
  revisions: string[];
}

export interface ReadLineageOptions {
  /** Fetch the remote first (default true); false reads what the last fetch brought. */
  fetch?: boolean;
}

/**
 * Every candidate commit on the remote's `hyperagent/<agent>/*` branches and promotion tags
 * (as of the last fetch), oldest first. A
 * candidate committed twice (two operators racing on one cycle) appears once, as its earliest
 * commit. Commits of other agents, and commits with damaged trailers, are left out.
 */
export async function readLineage(ws: Workspace, options: ReadLineageOptions = {}): Promise<LineageRecord[]> {
  if (options.fetch !== false) await ws.fetch();
  const prefix = agentBranchPrefix(ws.agent);
  // Tags too: a promoted commit whose cycle branch was deleted is still part of the lineage.
  const refs = [
    ...(await listRefs(ws.runner, remoteRef(prefix))),
    ...(await listRefs(ws.runner, tagRef(prefix))),
  ];
  const commits = await candidateCommits(ws.runner, ws.agent, refs);

  const tagPrefix = tagRef(prefix);
  const revisionsByCommit = new Map<string, string[]>();
  for (const [ref, commit] of await localTags(ws.runner, tagPrefix)) {
    const list = revisionsByCommit.get(commit) ?? [];
    list.push(ref.slice(tagPrefix.length));
    revisionsByCommit.set(commit, list);
  }

  const byId = new Map<string, LineageRecord>();
  for (const c of commits) {
    const id = archiveId(c.record.cycle, c.record.candidate);
    if (byId.has(id)) continue;
    byId.set(id, {
      ...c.record,
      id,
      commit: c.commit,
      committedAt: c.committedAt,
      summary: c.message.split('\n', 1)[0] ?? '',
      revisions: (revisionsByCommit.get(c.commit) ?? []).sort(),
    });
  }
  return [...byId.values()];
}

/** The archive entry a lineage record stands for; a tagged commit counts as Promoted. */
export function toArchiveEntry(record: LineageRecord): ArchiveEntry {
  const entry: ArchiveEntry = {
    id: record.id,
    cycle: record.cycle,
    kind: record.kind,
    summary: record.summary,
    verdict: record.revisions.length > 0 ? 'Promoted' : record.verdict,
    commit: record.commit,
    evaluatedAt: record.committedAt,
  };
  if (record.parent !== undefined) entry.parent = record.parent;
  if (record.parameters !== undefined) entry.parameters = record.parameters;
  if (record.score !== undefined) entry.score = record.score;
  return entry;
}
