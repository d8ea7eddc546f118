// The promotion tag: `hyperagent/<agent>/<revision>`, annotated, on the commit that was promoted.
// A tag is a public statement that a revision ran in production, so it is never moved: the same
// tag on the same commit is a no-op, on another commit a refusal.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitLineageError } from './errors.js';
import { remoteTags, resolveCommit } from './history.js';
import { parsePorcelain, pushFailure, isMovedRejection } from './push.js';
import { agentKey, assertDnsLabel, promotionTag } from './refs.js';
import { formatTrailers, singleLine } from './trailers.js';
import { REMOTE, tagRef, type Workspace } from './workspace.js';

export interface PromotionTagInput {
  /** The promoted revision (status.stableRevision); one ref component. */
  revision: string;
  /** The commit that was promoted. */
  commit: string;
  /** The cycle that produced it. */
  cycle: string;
  /** The image that runs it. */
  image: string;
}

export interface PromotionTagResult {
  /** Short tag name, `hyperagent/<agent>/<revision>`. */
  tag: string;
  commit: string;
  /** False when the tag was already on the remote, on this commit. */
  created: boolean;
}

/**
 * Tags and pushes a promoted commit. Idempotent when the tag already names the same commit;
 * throws TagConflict when it names another one (locally or on the remote), CommitNotFound when
 * the commit is not in the repository, and the push errors of the runner.
 */
export async function tagPromoted(ws: Workspace, input: PromotionTagInput): Promise<PromotionTagResult> {
  const tag = promotionTag(ws.agent, input.revision);
  assertDnsLabel('cycle name', input.cycle);
  const ref = tagRef(tag);
  const commit = /^[0-9a-f]{7,64}$/i.test(input.commit)
    ? await resolveCommit(ws.runner, input.commit)
    : undefined;
  if (commit === undefined) {
    throw new GitLineageError('CommitNotFound', `commit ${input.commit} is not in the repository`);
  }

  const published = (await remoteTags(ws.runner, REMOTE, ref)).get(ref);
  if (published !== undefined) {
    if (published !== commit) throw conflict(tag, published, commit);
    return { tag, commit, created: false };
  }

  const local = await resolveCommit(ws.runner, ref);
  if (local !== undefined && local !== commit) throw conflict(tag, local, commit);
  if (local === undefined) await createTag(ws, tag, commit, input);

  const result = await ws.runner.run(['push', '--porcelain', REMOTE, `${ref}:${ref}`]);
  if (result.exitCode === 0) return { tag, commit, created: true };
  const line = parsePorcelain(result.stdout).find((r) => r.to === ref);
  if (line?.flag === '!' && isMovedRejection(line.summary)) {
    // Someone published the tag between the check and the push: fine if it is the same commit.
    const now = (await remoteTags(ws.runner, REMOTE, ref)).get(ref);
    if (now === commit) return { tag, commit, created: false };
    if (now !== undefined) throw conflict(tag, now, commit);
  }
  throw pushFailure(ws, result, line?.flag === '!' ? 'PushRejected' : undefined);
}

/** The message of a promotion tag: a subject, then the facts as trailers. */
export function promotionMessage(agent: string, input: PromotionTagInput): string {
  const facts = formatTrailers([
    { key: 'HyperAgent-Agent', value: agent },
    { key: 'HyperAgent-Revision', value: input.revision },
    { key: 'HyperAgent-Cycle', value: input.cycle },
    { key: 'HyperAgent-Image', value: singleLine(input.image) },
  ]);
  return `Promote ${agent} revision ${input.revision}\n\n${facts}\n`;
}

async function createTag(
  ws: Workspace,
  tag: string,
  commit: string,
  input: PromotionTagInput,
): Promise<void> {
  const scratch = await mkdtemp(join(ws.gitDir, 'hyperagent-'));
  try {
    const file = join(scratch, 'message');
    await writeFile(file, promotionMessage(agentKey(ws.agent), input));
    await ws.runner.git(['tag', '--annotate', '--file', file, '--end-of-options', tag, commit]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function conflict(tag: string, existing: string, wanted: string): GitLineageError {
  return new GitLineageError(
    'TagConflict',
    `tag ${tag} already names commit ${existing}, not ${wanted}; promotion tags are never moved`,
  );
}
