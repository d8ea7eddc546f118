// The exported surface of one TypeScript or JavaScript file, one line per export:
// `name:kind:signature`. Read from the syntax tree alone (no type checking), so formatting,
// comments, bodies and non-exported code do not change the lines; removing or renaming an export,
// or changing a function's parameters, does. The TypeScript module is passed in because the runner
// loads it only when it is needed (it ships beside the bundle, not in it).
import type TS from 'typescript';

export type TypeScript = typeof TS;

interface Shape {
  kind: string;
  /** For functions, `<count>(<names>)`: `2(id,options?)`; empty for other kinds. */
  signature: string;
}

/** The export lines of one file, without duplicates, in source order. */
export function exportedDeclarations(ts: TypeScript, path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, scriptKindOf(ts, path));
  const reader = new SurfaceReader(ts, source);
  return [...new Set(source.statements.flatMap((statement) => reader.exportsOf(statement)))];
}

function scriptKindOf(ts: TypeScript, path: string): TS.ScriptKind {
  if (path.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (path.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(path)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

class SurfaceReader {
  /** Top-level declarations by name (several for overloads and merged declarations). */
  private readonly locals = new Map<string, Shape[]>();
  /** Imported bindings by local name: `<specifier>#<imported name>`. */
  private readonly imports = new Map<string, string>();

  constructor(
    private readonly ts: TypeScript,
    source: TS.SourceFile,
  ) {
    for (const statement of source.statements) {
      for (const [name, shape] of this.declarations(statement)) {
        this.locals.set(name, [...(this.locals.get(name) ?? []), shape]);
      }
      this.recordImports(statement);
    }
  }

  exportsOf(statement: TS.Statement): string[] {
    const ts = this.ts;
    if (ts.isExportDeclaration(statement)) return this.exportDeclaration(statement);
    if (ts.isExportAssignment(statement)) {
      const name = statement.isExportEquals ? '=' : 'default';
      return this.expressionShapes(statement.expression).map((shape) => line(name, shape));
    }
    if (this.hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      const declared = this.declarations(statement);
      if (this.hasModifier(statement, ts.SyntaxKind.DefaultKeyword)) {
        return declared.map(([, shape]) => line('default', shape));
      }
      return declared.map(([name, shape]) => line(name, shape));
    }
    return this.commonJsExports(statement);
  }

  private exportDeclaration(statement: TS.ExportDeclaration): string[] {
    const ts = this.ts;
    const from =
      statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier.text
        : undefined;
    const clause = statement.exportClause;
    if (!clause) return [line('*', { kind: 'reexport', signature: from ?? '' })];
    if (ts.isNamespaceExport(clause))
      return [line(clause.name.text, { kind: 'reexport', signature: `${from}#*` })];
    return clause.elements.flatMap((element) => {
      const name = element.name.text;
      const local = (element.propertyName ?? element.name).text;
      if (from !== undefined) return [line(name, { kind: 'reexport', signature: `${from}#${local}` })];
      const imported = this.imports.get(local);
      if (imported !== undefined) return [line(name, { kind: 'reexport', signature: imported })];
      const shapes = this.locals.get(local) ?? [{ kind: 'binding', signature: '' }];
      return shapes.map((shape) => line(name, shape));
    });
  }

  /** `module.exports = …`, `module.exports.name = …` and `exports.name = …` at the top level. */
  private commonJsExports(statement: TS.Statement): string[] {
    const ts = this.ts;
    if (!ts.isExpressionStatement(statement)) return [];
    const assignment = statement.expression;
    if (!ts.isBinaryExpression(assignment) || assignment.operatorToken.kind !== ts.SyntaxKind.EqualsToken)
      return [];
    const target = assignment.left;
    const value = unwrap(ts, assignment.right);
    if (this.isModuleExports(target)) {
      if (!ts.isObjectLiteralExpression(value)) {
        return this.expressionShapes(value).map((shape) => line('default', shape));
      }
      return value.properties.flatMap((property) => this.objectProperty(property));
    }
    if (ts.isPropertyAccessExpression(target) && this.isExportsObject(target.expression)) {
      return this.expressionShapes(value).map((shape) => line(target.name.text, shape));
    }
    return [];
  }

  private objectProperty(property: TS.ObjectLiteralElementLike): string[] {
    const ts = this.ts;
    if (ts.isShorthandPropertyAssignment(property)) {
      return this.expressionShapes(property.name).map((shape) => line(property.name.text, shape));
    }
    const name = property.name ? propertyName(ts, property.name) : undefined;
    if (name === undefined) return [];
    if (ts.isMethodDeclaration(property)) return [line(name, this.functionShape(property))];
    if (ts.isPropertyAssignment(property)) {
      return this.expressionShapes(property.initializer).map((shape) => line(name, shape));
    }
    return [line(name, { kind: 'accessor', signature: '' })];
  }

  private isModuleExports(node: TS.Expression): boolean {
    const ts = this.ts;
    return (
      ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'module' &&
      node.name.text === 'exports'
    );
  }

  private isExportsObject(node: TS.Expression): boolean {
    return (this.ts.isIdentifier(node) && node.text === 'exports') || this.isModuleExports(node);
  }

  /** What an exported expression is: a function with its parameters, a class, a local, or a value. */
  private expressionShapes(expression: TS.Expression): Shape[] {
    const ts = this.ts;
    const value = unwrap(ts, expression);
    if (ts.isArrowFunction(value) || ts.isFunctionExpression(value)) return [this.functionShape(value)];
    if (ts.isClassExpression(value)) return [{ kind: 'class', signature: '' }];
    if (ts.isIdentifier(value)) {
      const imported = this.imports.get(value.text);
      if (imported !== undefined) return [{ kind: 'reexport', signature: imported }];
      return this.locals.get(value.text) ?? [{ kind: 'binding', signature: '' }];
    }
    return [{ kind: 'value', signature: '' }];
  }

  /** Names and shapes a top-level statement declares (exported or not). */
  private declarations(statement: TS.Statement): [string, Shape][] {
    const ts = this.ts;
    const named = (name: TS.Identifier | undefined, shape: Shape): [string, Shape][] =>
      name
        ? [[name.text, shape]]
        : this.hasModifier(statement, ts.SyntaxKind.DefaultKeyword)
          ? [['default', shape]]
          : [];
    if (ts.isFunctionDeclaration(statement)) return named(statement.name, this.functionShape(statement));
    if (ts.isClassDeclaration(statement)) return named(statement.name, { kind: 'class', signature: '' });
    if (ts.isInterfaceDeclaration(statement))
      return named(statement.name, { kind: 'interface', signature: '' });
    if (ts.isTypeAliasDeclaration(statement)) return named(statement.name, { kind: 'type', signature: '' });
    if (ts.isEnumDeclaration(statement)) return named(statement.name, { kind: 'enum', signature: '' });
    if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name)) {
      return named(statement.name, { kind: 'namespace', signature: '' });
    }
    if (ts.isImportEqualsDeclaration(statement))
      return named(statement.name, { kind: 'alias', signature: '' });
    if (ts.isVariableStatement(statement)) {
      const flags = statement.declarationList.flags;
      const keyword = flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
      return statement.declarationList.declarations.flatMap((declaration): [string, Shape][] => {
        const initializer = declaration.initializer && unwrap(ts, declaration.initializer);
        if (ts.isIdentifier(declaration.name) && initializer) {
          if (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer)) {
            return [[declaration.name.text, this.functionShape(initializer)]];
          }
          if (ts.isClassExpression(initializer))
            return [[declaration.name.text, { kind: 'class', signature: '' }]];
        }
        return bindingNames(ts, declaration.name).map((name) => [name, { kind: keyword, signature: '' }]);
      });
    }
    return [];
  }

  private functionShape(node: TS.SignatureDeclarationBase): Shape {
    const ts = this.ts;
    const parameters = node.parameters.filter(
      (parameter) => !(ts.isIdentifier(parameter.name) && parameter.name.text === 'this'),
    );
    const names = parameters.map((parameter) => {
      const rest = parameter.dotDotDotToken ? '...' : '';
      const optional = parameter.questionToken || parameter.initializer ? '?' : '';
      return `${rest}${bindingText(ts, parameter.name)}${optional}`;
    });
    return { kind: 'function', signature: `${names.length}(${names.join(',')})` };
  }

  private recordImports(statement: TS.Statement): void {
    const ts = this.ts;
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) return;
    const from = statement.moduleSpecifier.text;
    const clause = statement.importClause;
    if (!clause) return;
    if (clause.name) this.imports.set(clause.name.text, `${from}#default`);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) this.imports.set(bindings.name.text, `${from}#*`);
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        this.imports.set(element.name.text, `${from}#${(element.propertyName ?? element.name).text}`);
      }
    }
  }

  private hasModifier(statement: TS.Statement, kind: TS.SyntaxKind): boolean {
    const ts = this.ts;
    return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === kind);
  }
}

function line(name: string, shape: Shape): string {
  return `${name}:${shape.kind}:${shape.signature}`;
}

/** Strips parentheses and type assertions: `(x as Handler)` is `x`. */
function unwrap(ts: TypeScript, expression: TS.Expression): TS.Expression {
  let current = expression;
  while (
    ts.isParenthesizedExpression(current) ||
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isTypeAssertionExpression(current) ||
    ts.isNonNullExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

function bindingNames(ts: TypeScript, name: TS.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) =>
    ts.isBindingElement(element) ? bindingNames(ts, element.name) : [],
  );
}

/** A parameter's name as written, without spacing: `{id,options}`, `[first,...rest]`. */
function bindingText(ts: TypeScript, name: TS.BindingName): string {
  if (ts.isIdentifier(name)) return name.text;
  if (ts.isObjectBindingPattern(name)) {
    const parts = name.elements.map((element) => {
      const key = element.propertyName ? `${propertyName(ts, element.propertyName) ?? '[computed]'}:` : '';
      return `${element.dotDotDotToken ? '...' : ''}${key}${bindingText(ts, element.name)}`;
    });
    return `{${parts.join(',')}}`;
  }
  const parts = name.elements.map((element) =>
    ts.isBindingElement(element)
      ? `${element.dotDotDotToken ? '...' : ''}${bindingText(ts, element.name)}`
      : '',
  );
  return `[${parts.join(',')}]`;
}

function propertyName(ts: TypeScript, name: TS.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isPrivateIdentifier(name)) return name.text;
  return undefined;
}
