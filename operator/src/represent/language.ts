// What a file is, judged from its path alone: its language and whether it is a test.
import { posix } from 'node:path';

const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.ts': 'typescript',
  '.tsx': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.js': 'javascript',
  '.jsx': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.py': 'python',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.kt': 'kotlin',
  '.kts': 'kotlin',
  '.scala': 'scala',
  '.rb': 'ruby',
  '.php': 'php',
  '.cs': 'csharp',
  '.c': 'c',
  '.h': 'c',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.hpp': 'cpp',
  '.swift': 'swift',
  '.sh': 'shell',
  '.bash': 'shell',
  '.sql': 'sql',
  '.proto': 'protobuf',
  '.graphql': 'graphql',
  '.html': 'html',
  '.css': 'css',
  '.scss': 'css',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
  '.ini': 'ini',
  '.properties': 'properties',
  '.env': 'dotenv',
  '.md': 'markdown',
  '.txt': 'text',
};

const BY_NAME: Readonly<Record<string, string>> = {
  Dockerfile: 'dockerfile',
  Containerfile: 'dockerfile',
  Makefile: 'makefile',
  '.env': 'dotenv',
};

/** Languages whose imports and exports are read with the TypeScript parser. */
export const SCRIPT_LANGUAGES: ReadonlySet<string> = new Set(['typescript', 'javascript']);

/** Languages that describe rather than run; hot spots do not point at them. */
export const PROSE_LANGUAGES: ReadonlySet<string> = new Set(['markdown', 'text']);

/** Languages whose files hold configuration keys (for config-key parameters). */
export const CONFIG_LANGUAGES: ReadonlySet<string> = new Set([
  'json',
  'yaml',
  'toml',
  'ini',
  'properties',
  'dotenv',
]);

/** Language of a repository path by its extension (or well-known name); 'text' when unknown. */
export function languageOf(path: string): string {
  const base = posix.basename(path);
  return BY_NAME[base] ?? BY_EXTENSION[posix.extname(base).toLowerCase()] ?? 'text';
}

/**
 * Whether a path is a test by the usual conventions: `*.test.*`, `*.spec.*`, Go/Python
 * `*_test.*`, Python `test_*.py`, or anything under a `test/`, `tests/` or `__tests__/` folder.
 */
export function isTestPath(path: string): boolean {
  const segments = path.split('/');
  const base = segments[segments.length - 1] ?? '';
  if (segments.slice(0, -1).some((segment) => TEST_FOLDERS.has(segment))) return true;
  return /\.(test|spec)\.[^.]+$/.test(base) || /_test\.[^.]+$/.test(base) || /^test_.*\.py$/.test(base);
}

/** Directories whose every file counts as a test (fixtures included: tests read them). */
export const TEST_FOLDERS: ReadonlySet<string> = new Set(['test', 'tests', '__tests__', 'spec', 'testdata']);
