// Imports and exports of one TypeScript or JavaScript file, read from its syntax tree alone: no
// Program, no type checking, so one broken file cannot stop the others from being described.
import { createRequire } from 'node:module';
import type TS from 'typescript';
import type { ExportNode } from './graph.js';

// The compiler is about 47 MiB once loaded: it loads on the first file a cycle reads, not when the
// operator starts (most of the operator's life has no repository to describe).
const requireModule = createRequire(import.meta.url);
let compiler: typeof TS | undefined;
const ts: typeof TS = new Proxy({} as typeof TS, {
  get: (_target, key) => (compiler ??= requireModule('typescript') as typeof TS)[key as keyof typeof TS],
});

export interface ScriptFacts {
  /** Module specifiers as written, in order of first appearance, each once. */
  specifiers: string[];
  /**
   * The specifiers of imports that run: all of `specifiers` but those only types name (`import
   * type`, `export type … from`, `import('x').T` in a type), which every compiler erases.
   */
  runtimeSpecifiers: string[];
  exports: ExportNode[];
}

/** Reads the import specifiers and exported declarations of a TS/JS file's text. */
export function readScript(path: string, text: string): ScriptFacts {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, scriptKindOf(path));
  const specifiers = new Set<string>();
  const runtimeSpecifiers = new Set<string>();
  const exports: ExportNode[] = [];
  const localKinds = declarationKinds(source);
  const importedNames = importedBindings(source);

  for (const statement of source.statements) {
    exports.push(...exportsOf(statement, localKinds, importedNames));
  }
  const visit = (node: TS.Node): void => {
    const specifier = specifierOf(node);
    if (specifier !== undefined) specifiers.add(specifier);
    if (specifier !== undefined && !onlyNamesTypes(node)) runtimeSpecifiers.add(specifier);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return {
    specifiers: [...specifiers],
    runtimeSpecifiers: [...runtimeSpecifiers],
    exports: dedupeExports(exports),
  };
}

function scriptKindOf(path: string): TS.ScriptKind {
  if (path.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (path.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(path)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/** The literal specifier when `node` imports a module in any of the supported forms. */
function specifierOf(node: TS.Node): string | undefined {
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
    return node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
      ? node.moduleSpecifier.text
      : undefined;
  }
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    return literalText(node.moduleReference.expression);
  }
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
    const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
    return (isDynamicImport || isRequire) && node.arguments.length >= 1
      ? literalText(node.arguments[0])
      : undefined;
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
    return literalText(node.argument.literal);
  }
  return undefined;
}

/**
 * Whether an import is erased by every compiler. `import { type A } from 'x'` is not: with
 * verbatimModuleSyntax it stays as `import {} from 'x'`, which still loads (and runs) the module.
 */
function onlyNamesTypes(node: TS.Node): boolean {
  if (ts.isImportDeclaration(node)) return node.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword;
  if (ts.isExportDeclaration(node) || ts.isImportEqualsDeclaration(node)) return node.isTypeOnly;
  return ts.isImportTypeNode(node);
}

function literalText(node: TS.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    ? node.text
    : undefined;
}

type DeclaredKind = ExportNode['kind'];

/** Kinds of the file's top-level declarations by name, so `export { name }` can say what it exports. */
function declarationKinds(source: TS.SourceFile): Map<string, DeclaredKind> {
  const kinds = new Map<string, DeclaredKind>();
  for (const statement of source.statements) {
    for (const { name, kind } of declaredNames(statement)) kinds.set(name, kind);
  }
  return kinds;
}

/** Names bound by the file's import statements: exporting one of them is a re-export. */
function importedBindings(source: TS.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isImportEqualsDeclaration(statement)) names.add(statement.name.text);
    if (!ts.isImportDeclaration(statement) || !statement.importClause) continue;
    const clause = statement.importClause;
    if (clause.name) names.add(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) names.add(element.name.text);
    }
  }
  return names;
}

function declaredNames(statement: TS.Statement): { name: string; kind: DeclaredKind }[] {
  const named = (
    name: TS.Identifier | undefined,
    kind: DeclaredKind,
  ): { name: string; kind: DeclaredKind }[] => (name ? [{ name: name.text, kind }] : []);
  if (ts.isFunctionDeclaration(statement)) return named(statement.name, 'function');
  if (ts.isClassDeclaration(statement)) return named(statement.name, 'class');
  if (ts.isInterfaceDeclaration(statement)) return named(statement.name, 'interface');
  if (ts.isTypeAliasDeclaration(statement)) return named(statement.name, 'type');
  if (ts.isEnumDeclaration(statement)) return named(statement.name, 'enum');
  if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name))
    return named(statement.name, 'other');
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((declaration) =>
      bindingNames(declaration.name).map((name) => ({ name, kind: 'variable' as const })),
    );
  }
  return [];
}

function bindingNames(name: TS.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) => (ts.isBindingElement(element) ? bindingNames(element.name) : []));
}

function hasModifier(statement: TS.Statement, kind: TS.SyntaxKind): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === kind);
}

function exportsOf(
  statement: TS.Statement,
  localKinds: ReadonlyMap<string, DeclaredKind>,
  importedNames: ReadonlySet<string>,
): ExportNode[] {
  if (ts.isExportDeclaration(statement)) return exportDeclaration(statement, localKinds, importedNames);
  if (ts.isExportAssignment(statement)) return [{ name: 'default', kind: 'default' }];
  if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
    if (hasModifier(statement, ts.SyntaxKind.DefaultKeyword)) return [{ name: 'default', kind: 'default' }];
    return declaredNames(statement);
  }
  return commonJsExports(statement);
}

function exportDeclaration(
  statement: TS.ExportDeclaration,
  localKinds: ReadonlyMap<string, DeclaredKind>,
  importedNames: ReadonlySet<string>,
): ExportNode[] {
  const from = literalText(statement.moduleSpecifier);
  const origin = from === undefined ? {} : { from };
  const clause = statement.exportClause;
  if (!clause) return [{ name: '*', kind: 'reexport', ...origin }];
  if (ts.isNamespaceExport(clause)) return [{ name: clause.name.text, kind: 'reexport', ...origin }];
  return clause.elements.map((element): ExportNode => {
    const name = element.name.text;
    if (name === 'default') return { name, kind: 'default', ...origin };
    const local = (element.propertyName ?? element.name).text;
    if (from !== undefined || importedNames.has(local)) return { name, kind: 'reexport', ...origin };
    return { name, kind: localKinds.get(local) ?? 'other' };
  });
}

/** `module.exports = …` and `exports.name = …` / `module.exports.name = …` at the top level. */
function commonJsExports(statement: TS.Statement): ExportNode[] {
  if (!ts.isExpressionStatement(statement)) return [];
  const assignment = statement.expression;
  if (!ts.isBinaryExpression(assignment) || assignment.operatorToken.kind !== ts.SyntaxKind.EqualsToken)
    return [];
  const target = assignment.left;
  if (isModuleExports(target)) return [{ name: 'default', kind: 'default' }];
  if (ts.isPropertyAccessExpression(target) && isExportsObject(target.expression)) {
    return [{ name: target.name.text, kind: valueKind(assignment.right) }];
  }
  return [];
}

function isModuleExports(node: TS.Expression): boolean {
  return (
    ts.isPropertyAccessExpression(node) &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'module' &&
    node.name.text === 'exports'
  );
}

function isExportsObject(node: TS.Expression): boolean {
  return (ts.isIdentifier(node) && node.text === 'exports') || isModuleExports(node);
}

function valueKind(value: TS.Expression): DeclaredKind {
  if (ts.isFunctionExpression(value) || ts.isArrowFunction(value)) return 'function';
  if (ts.isClassExpression(value)) return 'class';
  return 'variable';
}

/** Declaration merging (a function and a namespace of one name) would otherwise list a name twice. */
function dedupeExports(exports: ExportNode[]): ExportNode[] {
  const seen = new Set<string>();
  return exports.filter((entry) => {
    const key = `${entry.name}\0${entry.kind}\0${entry.from ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
