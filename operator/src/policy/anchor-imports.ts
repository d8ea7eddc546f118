// What an anchor runs is part of the anchor. A protected file that imports an unprotected module
// (a dependency's stand-in reading its delay from `src/env.ts`) behaves differently when that
// module changes, while its own text stays the same. So every module a protected file imports,
// directly or through other modules, is protected with it.
//
// Which protected files count is the caller's choice (see importRootsOf in agent-policy.ts): a
// test or a benchmark imports the code under test on purpose, and protecting what it imports
// would protect the very code the agent is there to change. Pure: the edges come in as data.

/** One relative import of a file: the paths it may load, in the order tried (the first that exists loads). */
export interface LocalImport {
  specifier: string;
  candidates: readonly string[];
}

/** Why a path is protected by import: the anchor entry, and the chain of imports that reaches it. */
export interface AnchorImport {
  /** The spec entry that protects the file the chain starts from, as written. */
  anchor: string;
  /**
   * The anchored file, then each module the chain goes through, ending at the path: the module
   * loaded, or for a path that does not exist, the module whose import would load it if it did.
   */
  chain: string[];
  /** For a path that does not exist: the import it would take over, and what that loads now. */
  shadows?: { specifier: string; loads?: string };
}

/** A protected file whose imports are protected too, with the entry that protects it. */
export interface ImportRoot {
  file: string;
  anchor: string;
}

/**
 * Paths reached by import from `roots`, except those `isAnchored` says are anchors already, each
 * with the shortest chain that reaches it (breadth first, roots and imports in path order, so the
 * answer is the same on every run). `imports` maps a file to its relative imports; `files` is the
 * tree, which says which candidate of an import loads.
 *
 * Besides the modules loaded, the answer holds every other path an import of theirs may load:
 * a new `src/env.js` would take over `import './env.js'` from `src/env.ts`, and a file created
 * where an import finds nothing today would be loaded by it.
 */
export function anchorImports(
  imports: ReadonlyMap<string, readonly LocalImport[]>,
  files: ReadonlySet<string>,
  roots: readonly ImportRoot[],
  isAnchored: (path: string) => boolean,
): Map<string, AnchorImport> {
  const found = new Map<string, AnchorImport>();
  const starts = [...roots]
    .sort((a, b) => compare(a.file, b.file))
    .map((root) => ({ anchor: root.anchor, chain: [root.file] }));
  const seen = new Set(starts.map((start) => start.chain[0]!));
  const queue = [...starts];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const file = next.chain[next.chain.length - 1]!;
    const local = [...(imports.get(file) ?? [])].sort((a, b) => compare(a.specifier, b.specifier));
    const shadowed: [string, AnchorImport][] = [];
    for (const { specifier, candidates } of local) {
      const loads = candidates.find((candidate) => files.has(candidate));
      for (const candidate of candidates) {
        if (candidate === loads || files.has(candidate) || isAnchored(candidate)) continue;
        const shadows = loads === undefined ? { specifier } : { specifier, loads };
        shadowed.push([candidate, { anchor: next.anchor, chain: [...next.chain], shadows }]);
      }
      if (loads === undefined || seen.has(loads)) continue;
      seen.add(loads);
      const reached = { anchor: next.anchor, chain: [...next.chain, loads] };
      if (!isAnchored(loads)) found.set(loads, reached);
      queue.push(reached);
    }
    // A module loaded is a stronger reason than a path that could be; the first chain wins.
    for (const [path, reason] of shadowed) if (!found.has(path)) found.set(path, reason);
  }
  return found;
}

/** `src/pricing-server.ts → src/env.ts`, for a refusal. */
export function describeChain(chain: readonly string[]): string {
  return chain.join(' → ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
