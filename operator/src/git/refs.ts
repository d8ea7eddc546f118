// The names the lineage gives to git refs, and the checks that make them safe. Every name that
// reaches git's argv or a ref path passes through here first, so a hostile or malformed value
// (an option-looking name, `..`, a control character) is refused before git sees it.
import { GitLineageError } from './errors.js';

/** The HyperAgent a lineage belongs to. */
export interface AgentRef {
  namespace: string;
  name: string;
}

/** Where every ref of the operator lives, so it never collides with the users' own branches. */
export const REF_ROOT = 'hyperagent';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Candidate ids and revisions come from the operator itself, but are checked as strictly as
// names from users: a single ref component, no dots at the edges, nothing git would reinterpret.
const TOKEN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** Refuses a value that is not a DNS-1123 label (agent, namespace and cycle names are). */
export function assertDnsLabel(what: string, value: string): void {
  if (!DNS_LABEL.test(value)) {
    throw new GitLineageError('InvalidName', `${what} ${JSON.stringify(value)} is not a DNS label`);
  }
}

/** Refuses a candidate id or revision that cannot be one ref component. */
export function assertToken(what: string, value: string): void {
  if (!TOKEN.test(value) || value.includes('..')) {
    throw new GitLineageError(
      'InvalidName',
      `${what} ${JSON.stringify(value)} must be 1-63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
    );
  }
}

/** Refuses an agent reference whose parts are not DNS labels. */
export function assertAgent(agent: AgentRef): void {
  assertDnsLabel('namespace', agent.namespace);
  assertDnsLabel('agent name', agent.name);
}

/** `<namespace>/<name>`, as the Agent trailer spells it. */
export function agentKey(agent: AgentRef): string {
  return `${agent.namespace}/${agent.name}`;
}

/** The branch of one cycle: `hyperagent/<agent>/<cycle>`. */
export function cycleBranch(agent: AgentRef, cycle: string): string {
  assertAgent(agent);
  assertDnsLabel('cycle name', cycle);
  return `${REF_ROOT}/${agent.name}/${cycle}`;
}

/** The prefix every cycle branch of the agent starts with (ends with a slash). */
export function agentBranchPrefix(agent: AgentRef): string {
  assertAgent(agent);
  return `${REF_ROOT}/${agent.name}/`;
}

/** The tag of a promoted revision: `hyperagent/<agent>/<revision>`. */
export function promotionTag(agent: AgentRef, revision: string): string {
  assertAgent(agent);
  assertToken('revision', revision);
  return `${REF_ROOT}/${agent.name}/${revision}`;
}

/** The archive id of a candidate: `<cycle>/<candidate>`. */
export function archiveId(cycle: string, candidate: string): string {
  assertDnsLabel('cycle name', cycle);
  assertToken('candidate id', candidate);
  return `${cycle}/${candidate}`;
}

/** Whether `value` is an archive id the lineage could have written. */
export function isArchiveId(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const cycle = value.slice(0, slash);
  const candidate = value.slice(slash + 1);
  return DNS_LABEL.test(cycle) && TOKEN.test(candidate) && !candidate.includes('..');
}

/**
 * Refuses a branch name git would reject or misread (the rules of `git check-ref-format
 * --branch`, plus no leading '-', so it can never be taken for an option).
 */
export function assertBranchName(branch: string): void {
  const problem = branchNameProblem(branch);
  if (problem !== undefined) {
    throw new GitLineageError('InvalidName', `branch ${JSON.stringify(branch)} ${problem}`);
  }
}

function branchNameProblem(branch: string): string | undefined {
  if (branch === '' || branch.length > 255) return 'must be 1-255 characters';
  if (branch.startsWith('-')) return "must not start with '-'";
  if (branch === '@' || branch === 'HEAD') return 'is reserved';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(branch)) {
    return 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\';
  }
  if (branch.includes('..') || branch.includes('@{') || branch.includes('//')) {
    return "must not contain '..', '@{' or '//'";
  }
  if (branch.startsWith('/') || branch.endsWith('/') || branch.endsWith('.')) {
    return "must not start or end with '/' or end with '.'";
  }
  for (const component of branch.split('/')) {
    if (component.startsWith('.') || component.endsWith('.lock')) {
      return "has a component starting with '.' or ending with '.lock'";
    }
  }
  return undefined;
}

/**
 * Refuses a repository URL that git could take for an option, that holds control characters, or
 * that embeds credentials (a password anywhere, any user name over http(s)): credentials belong
 * in the Secret, never in a URL git would store in `.git/config`.
 */
export function assertRepositoryUrl(repo: string): void {
  // eslint-disable-next-line no-control-regex
  if (repo === '' || repo.startsWith('-') || /[\u0000-\u001f\u007f\s]/.test(repo)) {
    throw new GitLineageError('InvalidRepository', 'the repository URL is empty or malformed');
  }
  // Over http(s) even a bare `user@` is refused: hosts accept a token as the user name.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*:[^/?#@]*@/i.test(repo) || /^https?:\/\/[^/?#]*@/i.test(repo)) {
    throw new GitLineageError(
      'InvalidRepository',
      'the repository URL embeds credentials: put them in the credentials Secret instead',
    );
  }
}

/** Whether the URL is fetched over http(s), ssh, or something that needs no credentials. */
export function transportOf(repo: string): 'http' | 'ssh' | 'other' {
  if (/^https?:\/\//i.test(repo)) return 'http';
  if (/^ssh:\/\//i.test(repo) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(repo)) return 'ssh';
  return 'other';
}
