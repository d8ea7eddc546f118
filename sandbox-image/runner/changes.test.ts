import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleOf, readChanges } from './changes.js';

test('a bundle is read with its paths', () => {
  const reading = readChanges(
    'c1.files.json',
    bundleOf({ 'src/a.ts': 'export const a = 1;\n', 'src/old.ts': null }),
  );
  assert.equal(reading.ok, true);
  assert.deepEqual(reading.ok && reading.paths, ['src/a.ts', 'src/old.ts']);
});

test('a bundle that is not one, or names a path outside the tree, is refused with why', () => {
  const bad = (files: unknown[], deleted: string[] = []) =>
    readChanges('c1.files.json', JSON.stringify({ version: 1, files, deleted }));
  const file = (path: string) => ({ path, mode: '100644', base64: '' });
  for (const reading of [
    bad([file('../escape.ts')]),
    bad([file('/etc/passwd')]),
    bad([file('src/./a.ts')]),
    bad([], ['src/../../x']),
  ]) {
    assert.equal(reading.ok, false);
    assert.match(!reading.ok ? reading.message : '', /not a plain path of the source tree/);
  }
  assert.match(
    String(!bad([file('a'), file('a')]).ok && (bad([file('a'), file('a')]) as { message: string }).message),
    /a path twice/,
  );
  const notBundle = readChanges('c1.files.json', '{"version":2}');
  assert.match(!notBundle.ok ? notBundle.message : '', /not a changed-files bundle/);
  const symlinkMode = bad([{ path: 'a', mode: '120000', base64: '' }]);
  assert.equal(symlinkMode.ok, false, 'a symbolic link is never written');
  assert.match(
    !readChanges('x', 'nope').ok ? (readChanges('x', 'nope') as { message: string }).message : '',
    /not JSON/,
  );
  assert.match((readChanges('x', undefined) as { message: string }).message, /not in the input directory/);
});
