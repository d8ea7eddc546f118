// `hyperagent policy check`: the operator's patch policy, offline, for a user who wants to know
// before a cycle whether a change would be let through. Exit status: 0 accepted, 1 refused,
// 2 the input itself is wrong (unreadable patch, invalid agent, not a git repository).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { readRepositorySnapshot } from '../git/base-tree.js';
import { importRootFilesOf, policyInputFor } from '../policy/agent-policy.js';
import { checkPatch, type PatchVerdict } from '../policy/patch-policy.js';
import { entriesCoveringNothing } from '../policy/repo-path.js';
import { emit, userError, type CommandOutput } from './command-output.js';
import { UserInputError, loadAgentManifest } from './load-agent.js';

export interface PolicyCheckOptions {
  agent: string;
  patch: string;
  repo: string;
  ref: string;
  json: boolean;
  /** Where '-' reads the patch from. */
  stdin?: () => Promise<string>;
}

/** Runs the check and renders its verdict; never throws for bad input, it reports it. */
export async function runPolicyCheck(options: PolicyCheckOptions): Promise<CommandOutput> {
  try {
    const agent = await loadAgentManifest(options.agent);
    const diff = await readPatch(options);
    const snapshot = await readRepositorySnapshot(
      options.repo,
      options.ref,
      importRootFilesOf(agent.spec),
    ).catch((error: Error) => {
      throw new UserInputError(
        `cannot read ${options.ref} of the git repository at ${resolve(options.repo)}: ${firstLine(error.message)}`,
      );
    });
    const verdict = checkPatch({
      ...policyInputFor(agent.spec, snapshot),
      diff,
      tree: await snapshot.treeFor(diff),
    });
    const warnings = pathWarnings(agent.spec.source, snapshot.files, snapshot.commit);
    const stdout = options.json
      ? `${JSON.stringify({ patch: options.patch, commit: snapshot.commit, ...verdict, warnings }, null, 2)}\n`
      : renderVerdict(options.patch, agent.name, snapshot.commit, verdict) +
        warnings.map((warning) => `WARNING ${warning}\n`).join('');
    return { exitCode: verdict.accepted ? 0 : 1, stdout, stderr: '' };
  } catch (error) {
    if (error instanceof UserInputError) return userError(error.message);
    throw error;
  }
}

/** Spec entries that name nothing in the tree: likely typos, which would otherwise go unnoticed. */
export function pathWarnings(
  source: { paths: readonly string[]; protectedPaths: readonly string[] },
  files: readonly string[],
  commit: string,
): string[] {
  const tree = `tree ${commit.slice(0, 12)}`;
  return [
    ...entriesCoveringNothing(source.paths, files).map(
      (entry) =>
        `source.paths entry '${entry}' names no file or directory in ${tree}: candidates may only create files there.`,
    ),
    ...entriesCoveringNothing(source.protectedPaths, files).map(
      (entry) =>
        `source.protectedPaths entry '${entry}' names no file or directory in ${tree}: it protects nothing that exists (a candidate may not create it either). A typo?`,
    ),
  ];
}

/** The verdict as a person reads it: one line per reason, rule first so it can be grepped. */
export function renderVerdict(patch: string, agent: string, commit: string, verdict: PatchVerdict): string {
  const against = `agent ${agent}, tree ${commit.slice(0, 12)}`;
  if (verdict.accepted) {
    const added = verdict.files.reduce((sum, file) => sum + file.linesAdded, 0);
    const removed = verdict.files.reduce((sum, file) => sum + file.linesRemoved, 0);
    const lines = [
      `ACCEPTED ${patch} (${against}): ${verdict.files.length} file(s), +${added} -${removed}`,
      ...verdict.files.map((file) => {
        const from = file.oldPath && file.oldPath !== file.path ? `${file.oldPath} -> ` : '';
        return `  ${file.kind.padEnd(7)} ${from}${file.path} (+${file.linesAdded} -${file.linesRemoved})`;
      }),
    ];
    return `${lines.join('\n')}\n`;
  }
  const width = Math.max(...verdict.reasons.map((reason) => reason.rule.length));
  const lines = [
    `REFUSED ${patch} (${against}): ${verdict.reasons.length} reason(s)`,
    ...verdict.reasons.map((reason) => `  ${reason.rule.padEnd(width)}  ${reason.message}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function readPatch(options: PolicyCheckOptions): Promise<string> {
  if (options.patch === '-') {
    return (options.stdin ?? readStdin)();
  }
  try {
    return await readFile(options.patch, 'utf8');
  } catch (error) {
    throw new UserInputError(
      `cannot read the patch ${options.patch}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** `hyperagent policy check --agent agent.yaml [--repo DIR] [--ref REF] [--json] PATCH` */
export function policyCommand(): Command {
  const policy = new Command('policy').description("Check changes against an agent's patch policy, offline.");
  policy
    .command('check')
    .description(
      "Judge a unified diff (or '-' for stdin) as the operator would: exit 0 accepted, 1 refused, 2 bad input.",
    )
    .argument('<patch>', "the diff, as `git diff` prints it, or '-' to read it from stdin")
    .requiredOption('--agent <file>', 'HyperAgent manifest whose paths and anchors apply')
    .option('--repo <dir>', 'git repository the diff applies to', '.')
    .option('--ref <ref>', 'commit the diff applies to', 'HEAD')
    .option('--json', 'print the verdict as JSON', false)
    .action(async (patch: string, flags: { agent: string; repo: string; ref: string; json: boolean }) => {
      emit(await runPolicyCheck({ ...flags, patch }));
    });
  return policy;
}
