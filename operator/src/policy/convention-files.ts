// Files a toolchain loads by convention rather than because the code imports them: a package
// manifest, a loader or compiler setting, an installed package. Inside an allowed path they still
// reach far beyond it — a `src/package.json` can change how every module under `src` is loaded, a
// package under `src/node_modules/` shadows a real one, a `conftest.py` runs before every test. So
// a candidate may change one only when the agent names that very file in `source.paths`. Pure.
import { normalizeSpecPath } from './repo-path.js';

/** A convention-loaded file: what it is, and whether naming it in `source.paths` lets it change. */
export interface ConventionFile {
  kind: string;
  /** False for installed packages: no agent lets a candidate write under node_modules. */
  canBeAllowed: boolean;
}

/** What a convention-loaded file is, for the refusal; undefined for an ordinary file. */
export function conventionFile(path: string): ConventionFile | undefined {
  if (path.split('/').includes('node_modules')) {
    return {
      kind: 'inside node_modules, where an installed package would shadow the real one',
      canBeAllowed: false,
    };
  }
  const name = path.split('/').at(-1) ?? '';
  for (const [pattern, kind] of CONVENTION_FILES) {
    if (pattern.test(name)) return { kind, canBeAllowed: true };
  }
  return undefined;
}

const CONVENTION_FILES: ReadonlyArray<[RegExp, string]> = [
  // Node.js and TypeScript
  [/^package(-lock)?\.json$/, "a package manifest (npm reads its scripts, 'type' and 'exports')"],
  [/^(npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|pnpm-workspace\.yaml)$/, 'a package lock'],
  [/^\.(npmrc|yarnrc(\.yml)?|pnpmfile\.c?js)$/, 'package-manager configuration'],
  [/^[tj]sconfig(\..+)?\.json$/, 'compiler configuration'],
  [/^(\.babelrc(\.json)?|babel\.config\.[cm]?js(on)?|\.swcrc)$/, 'compiler configuration'],
  [/^\.?(mocharc|jest\.config|vitest\.config)(\..+)?$/, 'test-runner configuration'],
  // Python
  [
    /^(pyproject\.toml|setup\.(py|cfg)|requirements.*\.txt|Pipfile(\.lock)?|poetry\.lock)$/,
    'Python project or dependency configuration',
  ],
  [
    /^(conftest\.py|pytest\.ini|tox\.ini|sitecustomize\.py|usercustomize\.py)$/,
    'a file Python or pytest runs by convention',
  ],
  [/\.pth$/, 'a Python path configuration file (run at start-up)'],
  // Go
  [/^go\.(mod|sum|work)$/, 'Go module configuration'],
  // Java
  [
    /^(pom\.xml|build\.gradle(\.kts)?|settings\.gradle(\.kts)?|gradle\.properties)$/,
    'Java build configuration',
  ],
];

/** Whether `allowedPaths` names `path` itself (not a directory above it): the explicit opt-in. */
export function namedExplicitly(path: string, allowedPaths: readonly string[]): boolean {
  return allowedPaths.some((entry) => normalizeSpecPath(entry) === path);
}
