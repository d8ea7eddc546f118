// Questions asked of a service graph, mostly to pick what a proposer's prompt shows around the
// hot spots. Pure; paths are repository-relative POSIX paths as in the graph.
import type { ModuleNode, ParameterNode, ServiceGraph } from './graph.js';

/** The module at `path` (a leading `./` or `/` is ignored), or undefined. */
export function findModule(graph: ServiceGraph, path: string): ModuleNode | undefined {
  const wanted = path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
  return graph.modules.find((module) => module.path === wanted);
}

/** Paths of the modules that import `path`, sorted. */
export function importersOf(graph: ServiceGraph, path: string): string[] {
  return graph.modules
    .filter((module) => module.imports.includes(path))
    .map((module) => module.path)
    .sort();
}

/** How many modules import each module (modules nobody imports are absent). */
export function fanIn(graph: ServiceGraph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const module of graph.modules) {
    for (const imported of module.imports) counts.set(imported, (counts.get(imported) ?? 0) + 1);
  }
  return counts;
}

/** The `limit` most imported modules, most importers first, ties by path. */
export function mostImported(graph: ServiceGraph, limit: number): { path: string; importers: number }[] {
  return [...fanIn(graph)]
    .map(([path, importers]) => ({ path, importers }))
    .sort((a, b) => b.importers - a.importers || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, Math.max(0, limit));
}

/**
 * Modules within `depth` import hops of `paths`, in either direction (what they import and what
 * imports them), nearest first, then by path. The starting modules come first (distance 0);
 * paths not in the graph are ignored. `tests: false` leaves out test modules reached on the way.
 */
export function neighbourhood(
  graph: ServiceGraph,
  paths: readonly string[],
  depth: number,
  options: { tests?: boolean } = {},
): string[] {
  const byPath = new Map(graph.modules.map((module) => [module.path, module]));
  const importers = new Map<string, string[]>();
  for (const module of graph.modules) {
    for (const imported of module.imports)
      importers.set(imported, [...(importers.get(imported) ?? []), module.path]);
  }
  const distance = new Map<string, number>();
  let frontier = [...new Set(paths)].filter((path) => byPath.has(path));
  for (const path of frontier) distance.set(path, 0);
  for (let hop = 1; hop <= depth && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const path of frontier) {
      for (const other of [...(byPath.get(path)?.imports ?? []), ...(importers.get(path) ?? [])]) {
        const module = byPath.get(other);
        if (!module || distance.has(other) || (options.tests === false && module.test)) continue;
        distance.set(other, hop);
        next.push(other);
      }
    }
    frontier = next;
  }
  return [...distance]
    .sort(([a, da], [b, db]) => da - db || (a < b ? -1 : a > b ? 1 : 0))
    .map(([path]) => path);
}

/** Modules the hot spots point at, each once, in hot-spot order (slowest first). */
export function modulesForHotSpots(graph: ServiceGraph): string[] {
  return [...new Set(graph.hotSpots.flatMap((hotSpot) => hotSpot.modules))];
}

/** The hot spots' modules and the non-test modules within `depth` hops of them: a prompt's focus. */
export function hotSpotContext(graph: ServiceGraph, depth = 1): string[] {
  return neighbourhood(graph, modulesForHotSpots(graph), depth, { tests: false });
}

/** Declared parameters whose carrier the module at `path` mentions. */
export function parametersUsedIn(graph: ServiceGraph, path: string): ParameterNode[] {
  return graph.parameters.filter((parameter) => parameter.usedIn.includes(path));
}
