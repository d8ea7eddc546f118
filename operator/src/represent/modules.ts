// One ModuleNode per text file: TS/JS in depth (imports resolved, exports), the rest at file level.
import type { ModuleNode } from './graph.js';
import { SCRIPT_LANGUAGES, isTestPath, languageOf } from './language.js';
import { resolveSpecifier } from './resolve.js';
import { readScript } from './script.js';

/** Describes every file of `texts` (path → text), in path order. */
export function buildModules(texts: ReadonlyMap<string, string>): ModuleNode[] {
  const files = new Set(texts.keys());
  return [...texts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, text]) => describeModule(path, text, files));
}

function describeModule(path: string, text: string, files: ReadonlySet<string>): ModuleNode {
  const language = languageOf(path);
  const node: ModuleNode = {
    path,
    language,
    lines: countLines(text),
    imports: [],
    externalImports: [],
    exports: [],
    test: isTestPath(path),
  };
  if (!SCRIPT_LANGUAGES.has(language)) return node;
  const facts = readScript(path, text);
  const imports = new Set<string>();
  const externals = new Set<string>();
  for (const specifier of facts.specifiers) {
    const resolution = resolveSpecifier(specifier, path, files);
    if ('local' in resolution && resolution.local !== path) imports.add(resolution.local);
    if ('external' in resolution) externals.add(resolution.external);
  }
  return {
    ...node,
    imports: [...imports].sort(),
    externalImports: [...externals].sort(),
    exports: facts.exports,
  };
}

/** Lines as an editor counts them: a final newline does not start another line. */
export function countLines(text: string): number {
  if (text === '') return 0;
  let lines = 1;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lines++;
  return text.endsWith('\n') ? lines - 1 : lines;
}
