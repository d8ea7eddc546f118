// The self-representation of a service: plain data a proposer can read and a user can print.
// Built by represent/ from a git checkout (plus Prometheus when reachable); JSON-serialisable.

/** An exported declaration of a module. */
export interface ExportNode {
  name: string;
  kind: 'function' | 'class' | 'interface' | 'type' | 'enum' | 'variable' | 'default' | 'reexport' | 'other';
  /** Specifier of the module it is re-exported from, as written (`export … from './x.js'`). */
  from?: string;
}

/** One source file. */
export interface ModuleNode {
  /** Repository-relative POSIX path. */
  path: string;
  /** 'typescript' and 'javascript' are analysed in depth; anything else at file level. */
  language: string;
  lines: number;
  /** Imports resolved to repository paths (local modules). */
  imports: string[];
  /** Bare specifiers of packages and built-ins the module imports ('express', 'node:http'). */
  externalImports: string[];
  /** Exported declarations (TS/JS only; empty for other languages). */
  exports: ExportNode[];
  /** Whether the module is a test (by path convention). */
  test: boolean;
}

/** A declared tunable parameter and where the source reads it. */
export interface ParameterNode {
  name: string;
  /** `env:CACHE_SIZE` or `config:cache.size`. */
  carrier: string;
  type: 'integer' | 'number' | 'boolean' | 'choice';
  min?: number;
  max?: number;
  step?: number;
  choices?: string[];
  /** Repository paths whose text mentions the env var or config key. */
  usedIn: string[];
}

/** An API schema file found in the repository (OpenAPI / Swagger). */
export interface ApiSchemaNode {
  path: string;
  title?: string;
  version?: string;
  operations: { method: string; path: string; operationId?: string }[];
}

/** A slow route measured by Prometheus. */
export interface HotSpot {
  /** Route label as the service reports it, e.g. `/quote`. */
  route: string;
  method?: string;
  p99Ms: number;
  /** Requests per second over the same window, when known. */
  rps?: number;
  /** Module paths that mention the route literal, so proposers know where to look. */
  modules: string[];
}

export interface ServiceGraph {
  /** Commit the graph was built from, when the directory is a git checkout. */
  commit?: string;
  modules: ModuleNode[];
  /** Listed files left out of `modules`: binary, over 1 MiB, or unreadable. */
  skippedFiles?: number;
  parameters: ParameterNode[];
  apiSchemas: ApiSchemaNode[];
  hotSpots: HotSpot[];
  /** Why hot spots are missing, when Prometheus was not asked or could not answer. */
  hotSpotsNote?: string;
}
