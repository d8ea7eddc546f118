// The patch policy as one agent sees it: which paths its candidates may reach, which are anchors,
// which hold tests. The spec says what the user allowed and protected; the repository's own file
// list says where the tests and the objective definitions are, because a spec cannot list every
// test file and must not have to.
import type { HyperAgentSpec } from '../api/schema.js';
import { TEST_FOLDERS, isTestPath } from '../represent/language.js';
import { anchorImports, type ImportRoot, type LocalImport } from './anchor-imports.js';
import type { PatchLimits, PatchPolicyInput } from './patch-policy.js';
import { coveringEntry } from './repo-path.js';

/** Limits on one code candidate; generous for a focused change, tight for a rewrite. */
export const DEFAULT_PATCH_LIMITS: PatchLimits = {
  maxFiles: 20,
  maxChangedLines: 1_000,
  maxBytes: 256 * 1024,
};

/**
 * Where agents keep definitions that judge them (benchmark fixtures, objective data). The
 * directory is an anchor by convention, whether or not the spec lists it.
 */
export const AGENT_ANCHOR_DIRECTORY = '.hyperagent';

/** What the policy needs to know about the repository a candidate changes. */
export interface RepositoryFacts {
  /** Every file of the base tree, repository-relative. */
  files: readonly string[];
  /** Files of the tree that declare a HyperAgent (its manifest defines the objectives). */
  agentManifests: readonly string[];
  /**
   * The relative runtime imports of the files `importRootsOf` names and of every module they
   * reach (TS/JS, which the service graph resolves); other files have no entry.
   */
  imports: ReadonlyMap<string, readonly LocalImport[]>;
}

/**
 * Test entries for the policy: every top-level-or-nested test directory once, and test files that
 * live outside such directories (`src/quote.test.ts`).
 */
export function testPathsOf(files: readonly string[]): string[] {
  const entries = new Set<string>();
  for (const file of files) {
    const segments = file.split('/');
    const directoryIndex = segments.slice(0, -1).findIndex((segment) => TEST_FOLDERS.has(segment));
    if (directoryIndex >= 0) entries.add(segments.slice(0, directoryIndex + 1).join('/'));
    else if (isTestPath(file)) entries.add(file);
  }
  return [...entries].sort();
}

/**
 * Files that define what candidates are judged by: the agent's own manifests, the anchor
 * directory, and repository files the benchmark command names (a candidate that edits the
 * benchmark could make any change look fast).
 */
export function objectiveFilesOf(
  spec: HyperAgentSpec,
  repository: Pick<RepositoryFacts, 'files' | 'agentManifests'>,
): string[] {
  const known = new Set(repository.files);
  const named = new Set<string>([AGENT_ANCHOR_DIRECTORY, ...repository.agentManifests]);
  for (const token of (spec.verification.benchmark ?? '').split(/[\s=]+/)) {
    const candidate = token.replace(/^\.\//, '').replace(/^['"]|['"]$/g, '');
    if (known.has(candidate)) named.add(candidate);
  }
  return [...named].sort();
}

/**
 * Protected files whose imports are protected with them: those inside `source.paths`, tests
 * excepted. A protected file among the code the agent may change is part of the apparatus (a
 * dependency's stand-in, the load generator), so what it runs must not change under it. Tests,
 * benchmarks and files outside `source.paths` import the code under test on purpose: following
 * their imports would protect the very code the agent is there to improve. Objective files are
 * benchmarks and manifests, so they are not roots either.
 */
export function importRootsOf(spec: HyperAgentSpec, files: readonly string[]): ImportRoot[] {
  const { paths, protectedPaths } = spec.source;
  return files.flatMap((file) => {
    const anchor = coveringEntry(file, protectedPaths);
    if (anchor === undefined || coveringEntry(file, paths) === undefined) return [];
    if (isTestPath(file) || coveringEntry(file, testPathsOf([file])) !== undefined) return [];
    return [{ file, anchor }];
  });
}

/** The files of `importRootsOf`, for the snapshot that reads their imports. */
export function importRootFilesOf(spec: HyperAgentSpec): (files: readonly string[]) => string[] {
  return (files) => importRootsOf(spec, files).map((root) => root.file);
}

/** The policy input for one agent and repository; only the diff and the tree reader are missing. */
export function policyInputFor(
  spec: HyperAgentSpec,
  repository: RepositoryFacts,
  limits: PatchLimits = DEFAULT_PATCH_LIMITS,
): Omit<PatchPolicyInput, 'diff' | 'tree'> {
  const objectiveFiles = objectiveFilesOf(spec, repository);
  const anchors = [...spec.source.protectedPaths, ...objectiveFiles];
  return {
    allowedPaths: spec.source.paths,
    protectedPaths: spec.source.protectedPaths,
    protectedImports: anchorImports(
      repository.imports,
      new Set(repository.files),
      importRootsOf(spec, repository.files),
      (path) => coveringEntry(path, anchors) !== undefined,
    ),
    objectiveFiles,
    testPaths: testPathsOf(repository.files),
    limits,
  };
}
