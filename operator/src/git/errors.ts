// The failures of the git lineage that a caller can act on. Callers branch on `code`; the message
// is for a person and has been through the redactor, so it never holds a credential.

export const GIT_ERROR_CODES = [
  /** An agent, cycle, candidate, revision or branch name that cannot safely become a ref. */
  'InvalidName',
  /** The repository URL cannot be used as given (for example it embeds a password). */
  'InvalidRepository',
  /** The credentials Secret lacks the keys the repository's transport needs. */
  'CredentialsInvalid',
  /** An ssh key was given without known_hosts: the server's identity could not be checked. */
  'KnownHostsRequired',
  /** The remote refused the credentials (or none were given and it wants some). */
  'AuthenticationFailed',
  /** The remote could not be reached (DNS, connection, TLS, missing repository). */
  'RemoteUnreachable',
  /** The work directory holds something other than a clone of this repository. */
  'WorkspaceConflict',
  /** A commit the request names (a parent, a commit to tag) is not in the repository. */
  'CommitNotFound',
  /** The cycle branch already exists and does not start where the candidate starts. */
  'BranchConflict',
  /** The cycle branch has no local commit to push. */
  'BranchNotFound',
  /** The candidate cannot be written as a commit record (a non-finite number, a bad parent id). */
  'InvalidCandidate',
  /** A code candidate's diff does not apply to its parent's tree; nothing was committed. */
  'PatchDoesNotApply',
  /** The tree a candidate's diff makes is not the tree that was evaluated; nothing was committed. */
  'TreeMismatch',
  /** The files a tree changes hold more bytes than the caller may carry. */
  'ChangesTooLarge',
  /** The remote refused a push for a reason other than the branch having moved (a hook, a rule). */
  'PushRejected',
  /** The promotion tag already exists and names another commit. */
  'TagConflict',
  /** Any other git failure. */
  'GitFailed',
] as const;

export type GitErrorCode = (typeof GIT_ERROR_CODES)[number];

/** A git lineage failure; `message` is redacted and safe to log, put in an Event or a status. */
export class GitLineageError extends Error {
  override readonly name = 'GitLineageError';

  constructor(
    readonly code: GitErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `error` is a lineage failure, optionally of the given code. */
export function isGitLineageError(error: unknown, code?: GitErrorCode): error is GitLineageError {
  return error instanceof GitLineageError && (code === undefined || error.code === code);
}
