// The service graph as a person reads it in a terminal: a summary first, then one section per
// kind of fact, tables aligned like `kubectl describe`. Long lists are cut; `--json` has it all.
import type { ApiSchemaNode, ExportNode, HotSpot, ModuleNode, ParameterNode, ServiceGraph } from './graph.js';
import { SCRIPT_LANGUAGES } from './language.js';
import { mostImported } from './query.js';

export interface RenderOptions {
  /** Rows per section before the rest is summarised as "… N more". */
  maxRows?: number;
}

const DEFAULT_MAX_ROWS = 25;
const MAX_EXPORTS_PER_MODULE = 6;
const MAX_ITEMS_PER_CELL = 4;

/** Renders the graph as text, ending with a newline. */
export function renderGraph(graph: ServiceGraph, options: RenderOptions = {}): string {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const sections = [
    summary(graph),
    mostImportedSection(graph, maxRows),
    exportsSection(graph.modules, maxRows),
    parametersSection(graph.parameters),
    apiSection(graph.apiSchemas, maxRows),
    hotSpotsSection(graph),
  ].filter((section) => section.length > 0);
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

function summary(graph: ServiceGraph): string[] {
  const byLanguage = new Map<string, number>();
  for (const module of graph.modules)
    byLanguage.set(module.language, (byLanguage.get(module.language) ?? 0) + 1);
  const languages = [...byLanguage]
    .sort(([a, ca], [b, cb]) => cb - ca || a.localeCompare(b))
    .map(([language, count]) => `${count} ${language}`);
  const tests = graph.modules.filter((module) => module.test).length;
  const skipped = graph.skippedFiles ? `, ${graph.skippedFiles} skipped (binary or over 1 MiB)` : '';
  const localImports = graph.modules.reduce((sum, module) => sum + module.imports.length, 0);
  const packages = [...new Set(graph.modules.flatMap((module) => module.externalImports))].sort();
  const operations = graph.apiSchemas.reduce((sum, schema) => sum + schema.operations.length, 0);
  const rows = [
    ['Commit:', graph.commit ? graph.commit.slice(0, 12) : '(not a git checkout)'],
    [
      'Modules:',
      `${graph.modules.length}${languages.length ? ` (${languages.join(', ')})` : ''}, ${tests} tests${skipped}`,
    ],
    ['Imports:', `${localImports} between modules; ${packages.length} packages${listTail(packages, 6)}`],
    ['Parameters:', String(graph.parameters.length)],
    ['API schemas:', `${graph.apiSchemas.length} (${operations} operations)`],
    ['Hot spots:', graph.hotSpots.length > 0 ? String(graph.hotSpots.length) : 'none'],
  ];
  return table(rows, '');
}

function mostImportedSection(graph: ServiceGraph, maxRows: number): string[] {
  const top = mostImported(graph, maxRows);
  if (top.length === 0) return [];
  const exportsOf = new Map(graph.modules.map((module) => [module.path, module.exports]));
  const rows = top.map(({ path, importers }) => [
    String(importers),
    path,
    cell((exportsOf.get(path) ?? []).map((entry) => entry.name)),
  ]);
  return ['Most imported modules:', ...table([['IMPORTERS', 'MODULE', 'EXPORTS'], ...rows])];
}

function exportsSection(modules: readonly ModuleNode[], maxRows: number): string[] {
  const described = modules.filter(
    (module) => !module.test && SCRIPT_LANGUAGES.has(module.language) && module.exports.length > 0,
  );
  if (described.length === 0) return [];
  const rows = described.slice(0, maxRows).map((module) => [module.path, exportsCell(module.exports)]);
  return ['Exports:', ...table(rows), ...more(described.length - rows.length, 'modules with exports')];
}

function exportsCell(exports: readonly ExportNode[]): string {
  const shown = exports.slice(0, MAX_EXPORTS_PER_MODULE).map((entry) => {
    if (entry.kind === 'default') return 'default';
    if (entry.kind === 'reexport')
      return entry.from ? `${entry.name} from ${entry.from}` : `reexport ${entry.name}`;
    return `${entry.kind} ${entry.name}`;
  });
  const rest = exports.length - shown.length;
  return `${shown.join(', ')}${rest > 0 ? `, +${rest} more` : ''}`;
}

function parametersSection(parameters: readonly ParameterNode[]): string[] {
  if (parameters.length === 0) return [];
  const rows = parameters.map((parameter) => [
    parameter.name,
    parameter.carrier,
    parameter.type,
    valuesOf(parameter),
    parameter.usedIn.length > 0 ? cell(parameter.usedIn) : '(not mentioned in the source)',
  ]);
  return ['Parameters:', ...table([['NAME', 'CARRIER', 'TYPE', 'VALUES', 'USED IN'], ...rows])];
}

function valuesOf(parameter: ParameterNode): string {
  if (parameter.type === 'boolean') return 'true|false';
  if (parameter.type === 'choice') return (parameter.choices ?? []).join('|');
  const range = `${parameter.min ?? '?'}..${parameter.max ?? '?'}`;
  return parameter.step !== undefined ? `${range} step ${parameter.step}` : range;
}

function apiSection(schemas: readonly ApiSchemaNode[], maxRows: number): string[] {
  if (schemas.length === 0) return [];
  const lines = ['API operations:'];
  for (const schema of schemas) {
    const title = [schema.title, schema.version].filter((part) => part !== undefined).join(' ');
    lines.push(`  ${schema.path}${title ? ` (${title})` : ''}`);
    const rows = schema.operations
      .slice(0, maxRows)
      .map((operation) => [operation.method, operation.path, operation.operationId ?? '']);
    lines.push(...table(rows, '    '), ...more(schema.operations.length - rows.length, 'operations', '    '));
  }
  return lines;
}

function hotSpotsSection(graph: ServiceGraph): string[] {
  if (graph.hotSpots.length === 0) return [`Hot spots: none. ${graph.hotSpotsNote ?? ''}`.trimEnd()];
  const rows = graph.hotSpots.map((spot: HotSpot) => [
    spot.route,
    spot.method ?? '',
    formatMs(spot.p99Ms),
    spot.rps !== undefined ? spot.rps.toFixed(2) : '',
    spot.modules.length > 0 ? cell(spot.modules) : '(no module mentions the route)',
  ]);
  return [
    'Hot spots (slowest p99 first):',
    ...table([['ROUTE', 'METHOD', 'P99', 'REQ/S', 'MODULES'], ...rows]),
    ...(graph.hotSpotsNote ? [graph.hotSpotsNote] : []),
  ];
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Items joined for one table cell, cut after a few. */
function cell(items: readonly string[]): string {
  const rest = items.length - MAX_ITEMS_PER_CELL;
  return `${items.slice(0, MAX_ITEMS_PER_CELL).join(', ')}${rest > 0 ? `, +${rest} more` : ''}`;
}

/** ` (a, b, c, +N more)` for the summary line, or nothing for an empty list. */
function listTail(items: readonly string[], limit: number): string {
  if (items.length === 0) return '';
  const rest = items.length - limit;
  return ` (${items.slice(0, limit).join(', ')}${rest > 0 ? `, +${rest} more` : ''})`;
}

function more(count: number, what: string, indent = '  '): string[] {
  return count > 0 ? [`${indent}… ${count} more ${what} (see --json)`] : [];
}

/** Left-aligned columns two spaces apart; the last column is not padded. */
function table(rows: readonly string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((value, column) => (widths[column] = Math.max(widths[column] ?? 0, value.length)));
  }
  return rows.map(
    (row) =>
      indent +
      row
        .map((value, column) => (column === row.length - 1 ? value : value.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
  );
}
