import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disablingMarkersOn, droppedTests, newDisablingMarkers, testDeclaredBy } from './test-changes.js';

test('test declarations of the common frameworks are recognised by the test they declare', () => {
  const table: Array<[string, string | undefined]> = [
    ["test('rounds to cents', () => {", "'rounds to cents'"],
    ['  it("handles \\"quotes\\"", async () => {', `'handles \\"quotes\\"'`],
    ['describe(`quote`, () => {', "'quote'"],
    ["test.each([1, 2])('twice %i', (n) => {", "test.each([1, 2])('twice %i', (n) => {"],
    ["it.skip('later', () => {", "'later'"],
    ['def test_rounds_to_cents():', 'test_rounds_to_cents'],
    ['    async def test_fetches(client):', 'test_fetches'],
    ['func TestQuote(t *testing.T) {', 'TestQuote'],
    ['func (s *QuoteSuite) TestRounding() {', 'TestRounding'],
    ['const result = split(text);', undefined],
    ['expect(pattern.test(value)).toBe(true);', undefined],
    ['def helper_test():', undefined],
    ['func TestsHelper() {}', 'TestsHelper'],
  ];
  for (const [line, declared] of table) assert.equal(testDeclaredBy(line), declared, line);
});

test('skip and focus markers are found, one label per occurrence', () => {
  const table: Array<[string, string[]]> = [
    ["test.skip('x', () => {});", ['.skip']],
    ["describe.only('x', () => {}); it.only('y', fn);", ['.only', '.only']],
    ["xit('x', fn);", ['xit']],
    ["fdescribe('x', fn);", ['fdescribe']],
    ["test('x', { skip: 'flaky' }, fn);", ['skip: true']],
    ["test('x', { only: true }, fn);", ['only: true']],
    ['@pytest.mark.skipif(sys.platform == "win32")', ['@pytest.mark.skip']],
    ['@pytest.mark.xfail(reason="bug")', ['@pytest.mark.xfail']],
    ['    pytest.skip("no network")', ['pytest.skip']],
    ['@unittest.skip("flaky")', ['@unittest.skip']],
    ['\tt.Skipf("needs %s", tool)', ['t.Skip']],
    ["test('x', { skip: 1 }, fn);", ['skip: true']],
    ["test('x', { skip: !0 }, fn);", ['skip: true']],
    ["test('x', { skip: process.env.CI }, fn);", ['skip: true']],
    ["test('x', { todo: 'later' }, fn);", ['todo: true']],
    ["test.todo('x'); it.todo('y');", ['.todo', '.todo']],
    ["test.skipIf(process.env.CI)('x', fn);", ['.skipIf']],
    ["it.runIf(false)('x', fn);", ['.runIf']],
    ['    pytest.importorskip("numpy")', ['pytest.importorskip']],
    ['        self.skipTest("slow")', ['skipTest']],
    ["test('x', { skip: false }, fn);", []],
    ["test('x', { skip: 0, todo: undefined, only: null }, fn);", []],
    ["test('x', { skip: '' }, fn);", []],
    ['const fit = exit(1);', []],
  ];
  for (const [line, markers] of table) assert.deepEqual(disablingMarkersOn(line), markers, line);
});

test('a test moved within its file is not dropped; one declared under a new name is', () => {
  const moved = ["test('a', () => {"];
  assert.deepEqual(droppedTests(moved, ["test('b', () => {", "test('a', () => {"]), []);
  assert.deepEqual(droppedTests(moved, ["test('a2', () => {"]), ["'a'"]);
  // Two tests of the same name, one removed: the count drops, so a test is lost.
  assert.deepEqual(droppedTests(["it('x', f)", "it('x', g)"], ["it('x', f)"]), ["'x'"]);
});

test('a skip that was already there is not new; a second one is', () => {
  assert.deepEqual(newDisablingMarkers(["test.skip('a', f)"], ["test.skip('a', g)"]), []);
  assert.deepEqual(newDisablingMarkers(["test.skip('a', f)"], ["test.skip('a', g)", "test.skip('b', g)"]), [
    '.skip',
  ]);
});
