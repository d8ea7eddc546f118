// The operator's clone of an agent's repository, one per agent under the work directory, reused
// across cycles (a fetch brings it up to date). Credentials come from the agent's Secret for the
// time of one use and are removed after it. The clone is only a cache (it lives in an emptyDir
// and everything in it comes from the remote): when the directory holds a clone of another
// repository — the agent was recreated, or its source.repo changed — it is removed and cloned
// again rather than failing every later cycle.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HyperAgentSpec } from '../api/schema.js';
import { decodeSecretData, openGitAccess } from './credentials.js';
import { isGitLineageError } from './errors.js';
import { openWorkspace, type Workspace } from './workspace.js';

/**
 * Reads the agent's credentials Secret: its data (base64 values, as the API holds them), or a
 * sentence saying why it cannot be used. The operator's is kube/opted-in-secret.ts
 * `optedInSecretReader(core, 'git', …)`, which also checks the Secret opted in to git.
 */
export type CredentialsReader = (ref: {
  name: string;
  namespace: string;
}) => Promise<{ data?: Record<string, string> } | { problem: string }>;

export interface CheckoutTarget {
  namespace: string;
  agent: string;
  source: HyperAgentSpec['source'];
}

/** The repository could not be reached or read; the message says which and why. */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
}

export class SourceCheckouts {
  constructor(
    private readonly readCredentials: CredentialsReader,
    /** Where clones live (an emptyDir in the operator pod). */
    private readonly workRoot: string,
  ) {}

  /**
   * Runs `use` on an up-to-date clone of the agent's repository. Throws SourceUnavailableError
   * when the credentials Secret cannot be read or git cannot clone or fetch.
   */
  async withWorkspace<T>(target: CheckoutTarget, use: (workspace: Workspace) => Promise<T>): Promise<T> {
    const { repo, branch, credentialsSecret } = target.source;
    let secret: Record<string, string> | undefined;
    if (credentialsSecret) {
      const read = await this.readCredentials({ name: credentialsSecret, namespace: target.namespace });
      if ('problem' in read) throw new SourceUnavailableError(read.problem);
      secret = read.data;
    }
    const access = await openGitAccess({
      repo,
      ...(secret ? { secret: decodeSecretData(secret), secretName: credentialsSecret } : {}),
    }).catch((error: Error) => {
      throw new SourceUnavailableError(`cannot use the repository ${repo}: ${error.message}`);
    });
    try {
      const dir = join(this.workRoot, target.namespace, target.agent);
      const open = () =>
        openWorkspace({
          agent: { namespace: target.namespace, name: target.agent },
          repo,
          branch,
          dir,
          access,
        });
      const workspace = await open()
        .catch(async (error: unknown) => {
          if (!isGitLineageError(error, 'WorkspaceConflict')) throw error;
          await rm(dir, { recursive: true, force: true });
          return open();
        })
        .catch((error: Error) => {
          throw new SourceUnavailableError(
            `cannot clone ${repo} (branch ${branch}): ${access.redact(error.message)}`,
          );
        });
      return await use(workspace);
    } finally {
      await access.dispose();
    }
  }
}
