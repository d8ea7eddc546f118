// One evaluation, step by step: check the manifest, prove isolation, read the interface, apply
// the patches, read the interface again, run the commands, read the memory counters. Each step that fails
// decides the outcome and nothing after it runs; whatever happens, a result comes back.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxManifest, SandboxResult } from '../../operator/src/sandbox/protocol.js';
import { commandEnv } from './commands.js';
import { compareSurfaces, interfaceScope, readSurface } from './interface-surface.js';
import { proveIsolation } from './isolation.js';
import type { Log } from './log.js';
import { readManifest } from './manifest.js';
import { applyPatchFiles, touchedPaths, type PatchFile } from './patch.js';
import type { RunnerPaths } from './paths.js';
import { readMemoryUse } from './resources.js';
import { emptyResult, joinNotes } from './result.js';
import { runSuite } from './suite.js';

/** Environment variable naming the JSON file with the manifest's `config` values. */
export const PARAMETERS_FILE_ENV = 'HYPERAGENT_PARAMETERS_FILE';

export interface EvaluationContext {
  paths: RunnerPaths;
  log: Log;
  /** The runner's own environment (PATH and LANG are passed on to the commands). */
  runnerEnv: NodeJS.ProcessEnv;
}

/** Evaluates the candidate the manifest describes; never throws (runner faults are `error` results). */
export async function evaluate(context: EvaluationContext): Promise<SandboxResult> {
  const { paths, log } = context;
  const checked = await readManifest(paths.manifest);
  if (!checked.ok) {
    log.line(`invalid manifest: ${checked.message}`);
    return {
      ...emptyResult(checked.candidate),
      outcome: 'invalid-manifest',
      message: joinNotes([checked.message]),
    };
  }
  const manifest = checked.manifest;
  log.line(`cycle ${manifest.cycle}, candidate ${manifest.candidate}`);
  const result = emptyResult(manifest.candidate);
  const notes: string[] = [];
  try {
    await evaluateSteps(manifest, context, result, notes);
  } catch (error) {
    result.outcome = 'error';
    notes.push(`the runner failed: ${error instanceof Error ? error.message : String(error)}`);
    log.line(`runner failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  const message = joinNotes(notes);
  if (message !== undefined) result.message = message;
  return result;
}

async function evaluateSteps(
  manifest: SandboxManifest,
  context: EvaluationContext,
  result: SandboxResult,
  notes: string[],
): Promise<void> {
  const { paths, log } = context;

  const proof = await proveIsolation(manifest.isolation, {
    onRound: (results, round) => {
      const seen = results.map((r) => `${r.name} ${r.breached ? 'REACHED' : 'blocked'} (${r.detail})`);
      log.line(`isolation round ${round}: ${seen.join(', ')}`);
    },
  });
  result.isolationMs = proof.durationMs;
  if (proof.breached.length > 0) {
    result.outcome = 'isolation-breached';
    result.breached = proof.breached;
    notes.push(`still reachable after ${manifest.isolation.settleSeconds}s: ${proof.breached.join(', ')}`);
    return;
  }

  const read = await readPatches(paths.input, manifest.patches);
  const touched = read.ok ? touchedPaths(read.patches) : read;
  if (!touched.ok) {
    result.outcome = 'patch-failed';
    notes.push(touched.message);
    log.line(touched.message);
    return;
  }
  const scope = interfaceScope(manifest.interfaceFiles, touched.paths);
  const before = await readSurface(paths.source, scope);

  const applied = read.ok ? await applyPatchFiles(paths.source, read.patches) : read;
  if (!applied.ok) {
    result.outcome = 'patch-failed';
    notes.push(applied.message);
    log.line(applied.message);
    return;
  }
  log.line(`applied ${manifest.patches.length} patch(es) touching ${applied.files} file(s)`);

  const after = await readSurface(paths.source, scope);
  const problem = !before.ok
    ? `before the patches, ${before.problem}`
    : !after.ok
      ? after.problem
      : undefined;
  if (before.ok && after.ok) {
    result.interface = compareSurfaces(scope, before.lines, after.lines);
    const { files, removed, added, more } = result.interface;
    const what = scope.source === 'openapi' ? 'OpenAPI operations' : 'exported declarations';
    log.line(
      removed.length + added.length === 0
        ? `interface: ${what} of ${files} file(s) unchanged`
        : `interface: ${what} changed: removed [${removed.join(', ')}], added [${added.join(', ')}]${more ? `, ${more} more` : ''}`,
    );
  } else {
    notes.push(`no interface comparison: ${problem}`);
    log.line(`no interface comparison: ${problem}`);
  }

  const runnerDir = join(paths.scratch, 'hyperagent');
  await mkdir(runnerDir, { recursive: true });
  const parametersFile = join(runnerDir, 'parameters.json');
  await writeFile(parametersFile, JSON.stringify(manifest.config));
  const env = commandEnv(context.runnerEnv, paths.scratch, manifest.env, {
    [PARAMETERS_FILE_ENV]: parametersFile,
  });

  const suite = await runSuite(manifest, { sourceDir: paths.source, runnerDir, env, log });
  result.commands = suite.commands;
  result.commandMs = suite.commands.reduce((sum, command) => sum + command.durationMs, 0);
  if (suite.tests) result.tests = suite.tests;
  if (suite.benchmark) result.benchmark = suite.benchmark;
  notes.push(...suite.notes);

  const memory = await readMemoryUse(paths.cgroup);
  if (memory.peakBytes !== undefined) result.peakMemoryBytes = memory.peakBytes;
  if (memory.oomKills !== undefined) result.oomKills = memory.oomKills;
  result.outcome = 'evaluated';
}

type PatchReading = { ok: true; patches: PatchFile[] } | { ok: false; message: string };

async function readPatches(inputDir: string, names: readonly string[]): Promise<PatchReading> {
  const patches: PatchFile[] = [];
  for (const name of names) {
    const text = await readFile(join(inputDir, name), 'utf8').catch(() => undefined);
    if (text === undefined) return { ok: false, message: `patch ${name} is not in the input directory` };
    patches.push({ name, text });
  }
  return { ok: true, patches };
}
