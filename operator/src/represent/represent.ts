// Builds the service graph of a checkout: modules, parameters, API schemas and, when Prometheus
// is given, hot spots. Used by `hyperagent represent` and by the operator's Represent phase.
import { stat } from 'node:fs/promises';
import type { ParameterSpec } from '../api/parameters.js';
import { findApiSchemas } from './api-schemas.js';
import { readRepositoryFiles } from './files.js';
import type { ServiceGraph } from './graph.js';
import { locateRoutes, measureRoutes, type PrometheusOptions } from './hot-spots.js';
import { buildModules } from './modules.js';
import { describeParameters } from './parameters.js';

export interface RepresentOptions {
  /** Declared tunables (`spec.improvement.parameters`). */
  parameters?: readonly ParameterSpec[];
  /** Where and what to measure for hot spots; without it the graph has none, and says so. */
  prometheus?: PrometheusOptions;
}

/** The directory to represent does not exist or is not a directory. */
export class NotADirectoryError extends Error {
  override readonly name = 'NotADirectoryError';
}

/**
 * Represents the service checked out at `dir`. Throws NotADirectoryError for a missing directory;
 * an unreachable or empty Prometheus only leaves `hotSpotsNote` set.
 */
export async function buildServiceGraph(dir: string, options: RepresentOptions = {}): Promise<ServiceGraph> {
  const isDirectory = await stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new NotADirectoryError(`${dir} is not a directory`);

  // Prometheus may take up to its timeout; read the files meanwhile.
  const [files, measured] = await Promise.all([
    readRepositoryFiles(dir),
    options.prometheus
      ? measureRoutes(options.prometheus)
      : { routes: [], note: 'Prometheus was not asked: no address given.' },
  ]);
  const modules = buildModules(files.texts);
  return {
    ...(files.commit ? { commit: files.commit } : {}),
    modules,
    ...(files.skipped > 0 ? { skippedFiles: files.skipped } : {}),
    parameters: describeParameters(options.parameters ?? [], files.texts),
    apiSchemas: findApiSchemas(files.texts),
    hotSpots: locateRoutes(measured.routes, modules, files.texts),
    ...(measured.note ? { hotSpotsNote: measured.note } : {}),
  };
}
