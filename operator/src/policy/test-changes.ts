// How a change to a test file weakens a test suite without failing it: by dropping test cases or
// by switching them off. Both are recognised line by line, for the declarations of the common
// frameworks (node:test, Jest, Mocha, Vitest, pytest, Go's testing), and judged by counting:
// what a change removes and adds back elsewhere in the same file (a moved or reformatted test)
// is not a loss.

const JS_DECLARATION =
  /(?:^|[^\w$.])[xf]?(?:describe|it|test)(?:\.\w+)*\s*\(\s*(?:(['"`])((?:\\.|(?!\1)[^\\])*)\1)?/;
const PY_DECLARATION = /^\s*(?:async\s+)?def\s+(test\w*)\s*\(/;
const GO_DECLARATION = /^\s*func\s+(?:\([^)]*\)\s*)?(Test\w*)\s*\(/;

/**
 * The test a source line declares, named so that the same test declared again matches: the
 * test's quoted title for JavaScript, the function name for Python and Go, the trimmed line when a
 * JavaScript test has no literal title. Undefined when the line declares no test.
 */
export function testDeclaredBy(line: string): string | undefined {
  const named = PY_DECLARATION.exec(line) ?? GO_DECLARATION.exec(line);
  if (named) return named[1];
  const js = JS_DECLARATION.exec(line);
  if (!js) return undefined;
  return js[2] !== undefined ? `'${js[2]}'` : line.trim();
}

/** An option value that is not plainly false: anything but false, 0, null, undefined or ''. */
const TRUTHY = `(?!(?:false|0|null|undefined)\\b|''|""|\`\`)[^\\s,})]`;

const DISABLING_MARKERS: ReadonlyArray<[label: string, pattern: RegExp]> = [
  // pytest's own skips are labelled below, as pytest's.
  ['.skip', /(?<!pytest|mark|unittest)\.skip\s*\(/g],
  ['.only', /\.only\s*\(/g],
  ['xit', /(?:^|[^\w$.])xit\s*\(/g],
  ['xdescribe', /(?:^|[^\w$.])xdescribe\s*\(/g],
  ['xtest', /(?:^|[^\w$.])xtest\s*\(/g],
  ['fit', /(?:^|[^\w$.])fit\s*\(/g],
  ['fdescribe', /(?:^|[^\w$.])fdescribe\s*\(/g],
  ['.todo', /\.todo\s*\(/g],
  // Vitest's conditional switches: skipped whenever the condition says so.
  ['.skipIf', /\.skipIf\s*\(/g],
  ['.runIf', /\.runIf\s*\(/g],
  // node:test takes its switches as options: test('name', { skip: true }, fn). Any value but a
  // plainly false one switches the test off (1, 'reason', !0, a variable that may be true).
  ['skip: true', new RegExp(`\\bskip\\s*:\\s*${TRUTHY}`, 'g')],
  ['todo: true', new RegExp(`\\btodo\\s*:\\s*${TRUTHY}`, 'g')],
  ['only: true', new RegExp(`\\bonly\\s*:\\s*${TRUTHY}`, 'g')],
  ['@pytest.mark.skip', /@pytest\.mark\.skip(?:if)?\b/g],
  ['@pytest.mark.xfail', /@pytest\.mark\.xfail\b/g],
  ['@unittest.skip', /@unittest\.skip\w*/g],
  ['pytest.skip', /\bpytest\.skip\s*\(/g],
  ['pytest.importorskip', /\bpytest\.importorskip\s*\(/g],
  ['skipTest', /\.skipTest\s*\(/g],
  ['t.Skip', /\.Skip(?:f|Now)?\s*\(/g],
];

/** The skip and focus markers on a source line, one label per occurrence. */
export function disablingMarkersOn(line: string): string[] {
  const found: string[] = [];
  for (const [label, pattern] of DISABLING_MARKERS) {
    found.push(...Array.from(line.matchAll(pattern), () => label));
  }
  return found;
}

/** Tests declared on `removed` lines that no `added` line of the same file declares again. */
export function droppedTests(removed: readonly string[], added: readonly string[]): string[] {
  return surplus(removed.flatMap(declared), added.flatMap(declared));
}

/** Skip and focus markers that `added` lines bring beyond those `removed` lines take away. */
export function newDisablingMarkers(removed: readonly string[], added: readonly string[]): string[] {
  return surplus(added.flatMap(disablingMarkersOn), removed.flatMap(disablingMarkersOn));
}

function declared(line: string): string[] {
  const test = testDeclaredBy(line);
  return test === undefined ? [] : [test];
}

/** What `more` holds beyond `fewer`, counting repeats; in the order first seen, without repeats. */
function surplus(more: readonly string[], fewer: readonly string[]): string[] {
  const balance = new Map<string, number>();
  for (const item of more) balance.set(item, (balance.get(item) ?? 0) + 1);
  for (const item of fewer) balance.set(item, (balance.get(item) ?? 0) - 1);
  return [...balance].filter(([, count]) => count > 0).map(([item]) => item);
}
