import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  assertLayerSize,
  compressLayer,
  layerEntries,
  layerRoot,
  LayerError,
  writeTar,
  type FileChange,
  type TarEntry,
} from './layer.js';

interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  size: number;
  mtime: number;
  linkname: string;
  content: string;
}

// An independent reader of what writeTar writes: checks every checksum and applies PAX records.
function readTar(tar: Buffer): ReadEntry[] {
  assert.equal(tar.length % 512, 0, 'a tar is whole 512-byte blocks');
  const entries: ReadEntry[] = [];
  let pax: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) {
      assert.ok(
        tar.subarray(at).every((b) => b === 0),
        'only zero blocks after the end marker',
      );
      assert.ok(tar.length - at >= 1024, 'two zero blocks end the archive');
      return entries;
    }
    const text = (offset: number, length: number) =>
      block
        .subarray(offset, offset + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const octal = (offset: number, length: number) => parseInt(text(offset, length).trim() || '0', 8);
    const stored = octal(148, 8);
    const copy = Buffer.from(block);
    copy.fill(0x20, 148, 156);
    assert.equal(
      copy.reduce((sum, b) => sum + b, 0),
      stored,
      'header checksum',
    );
    assert.equal(text(257, 6), 'ustar');
    const size = octal(124, 12);
    const content = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    const type = text(156, 1);
    if (type === 'x') {
      pax = {};
      for (const line of content.toString('utf8').split('\n').filter(Boolean)) {
        const [length, record] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
        assert.equal(Number(length), Buffer.byteLength(line, 'utf8') + 1, 'PAX record length counts itself');
        pax[record.slice(0, record.indexOf('='))] = record.slice(record.indexOf('=') + 1);
      }
      continue;
    }
    const prefix = text(345, 155);
    entries.push({
      name: pax.path ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)),
      type,
      mode: octal(100, 8),
      uid: octal(108, 8),
      size,
      mtime: octal(136, 12),
      linkname: pax.linkpath ?? text(157, 100),
      content: content.toString('utf8'),
    });
    pax = {};
  }
}

const write = (path: string, content: string, mode = '100644'): FileChange => ({
  kind: 'write',
  path,
  mode,
  content: Buffer.from(content),
});
const del = (path: string): FileChange => ({ kind: 'delete', path });

test('the layer root is the source path without its slashes', () => {
  assert.equal(layerRoot('/app'), 'app');
  assert.equal(layerRoot('/srv/quote/'), 'srv/quote');
  assert.equal(layerRoot('/'), '');
  for (const bad of ['app', '/app/../etc', '/./app']) {
    assert.throws(
      () => layerRoot(bad),
      (e: unknown) => e instanceof LayerError && e.code === 'UnsafePath',
    );
  }
});

test('written files keep their git modes; deleted files become whiteouts beside them; sorted by path', () => {
  const entries = layerEntries(
    [
      write('src/quote.mjs', 'new'),
      write('bin/run.sh', '#!/bin/sh\n', '100755'),
      del('test/quote.test.mjs'),
      del('OLD'),
    ],
    'app',
  );
  assert.deepEqual(
    entries.map((e) => [e.type, e.name, e.type === 'symlink' ? e.target : e.mode]),
    [
      ['file', 'app/.wh.OLD', 0o644],
      ['file', 'app/bin/run.sh', 0o755],
      ['file', 'app/src/quote.mjs', 0o644],
      ['file', 'app/test/.wh.quote.test.mjs', 0o644],
    ],
  );
  const whiteout = entries.find((e) => e.name.endsWith('.wh.quote.test.mjs')) as Extract<
    TarEntry,
    { type: 'file' }
  >;
  assert.equal(whiteout.content.length, 0);
});

test('at the image root there is no prefix', () => {
  assert.deepEqual(
    layerEntries([write('a.js', 'x'), del('b.js')], '').map((e) => e.name),
    ['.wh.b.js', 'a.js'],
  );
});

test('symlinks carry their target; submodules and unknown modes are refused', () => {
  const [link] = layerEntries([write('current', 'src/v2', '120000')], 'app');
  assert.deepEqual(link, { type: 'symlink', name: 'app/current', target: 'src/v2' });
  for (const mode of ['160000', '040000', '100600']) {
    assert.throws(
      () => layerEntries([write('x', '', mode)], 'app'),
      (e: unknown) =>
        e instanceof LayerError &&
        e.code === 'UnsupportedMode' &&
        e.message.includes(mode === '160000' ? 'submodule' : mode),
    );
  }
});

test('a file that becomes a directory gets a directory entry, never a whiteout of what this layer writes', () => {
  const entries = layerEntries([del('lib'), write('lib/index.js', 'x')], 'app');
  assert.deepEqual(
    entries.map((e) => [e.type, e.name]),
    [
      ['directory', 'app/lib'],
      ['file', 'app/lib/index.js'],
    ],
  );
});

test('a directory that becomes a file hides what was below it: no whiteouts under it', () => {
  const entries = layerEntries([del('lib/a.js'), del('lib/b/c.js'), write('lib', 'now a file')], 'app');
  assert.deepEqual(
    entries.map((e) => [e.type, e.name]),
    [['file', 'app/lib']],
  );
});

test('a type change at the same path is one new entry', () => {
  const entries = layerEntries([del('link'), write('link', 'target', '120000')], 'app');
  assert.deepEqual(
    entries.map((e) => [e.type, e.name]),
    [['symlink', 'app/link']],
  );
});

test('unsafe paths and names that are whiteouts are refused', () => {
  for (const path of ['../etc/passwd', '/abs', 'a//b', 'a/./b', 'src/.wh.evil', '.wh..wh..opq', 'a\\b', '']) {
    assert.throws(
      () => layerEntries([write(path, 'x')], 'app'),
      (e: unknown) => e instanceof LayerError && e.code === 'UnsafePath',
      path,
    );
  }
  assert.throws(
    () => layerEntries([del('dir/.wh.x')], 'app'),
    (e: unknown) => e instanceof LayerError && e.code === 'UnsafePath',
  );
});

test('the size limit counts file contents', () => {
  const entries = layerEntries([write('a', 'x'.repeat(10)), write('b', 'y'.repeat(5))], '');
  assert.equal(assertLayerSize(entries, 15), 15);
  assert.throws(
    () => assertLayerSize(entries, 14),
    (e: unknown) => e instanceof LayerError && e.code === 'LayerTooLarge' && /15 bytes/.test(e.message),
  );
});

test('the tar holds each entry with its type, mode, owner root, mtime and content', async () => {
  const entries = layerEntries(
    [
      write('src/quote.mjs', 'export const OVERHEAD_MS = 25;\n'),
      write('bin/run.sh', '#!/bin/sh\necho hi\n', '100755'),
      write('current', 'src', '120000'),
      del('test/quote.test.mjs'),
      del('lib'),
      write('lib/x.js', 'x'),
    ],
    'app',
  );
  const { tar } = await writeTar(entries, 1_700_000_000);
  assert.deepEqual(
    readTar(tar).map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.mtime, e.linkname, e.content]),
    [
      ['app/bin/run.sh', '0', '755', 0, 1_700_000_000, '', '#!/bin/sh\necho hi\n'],
      ['app/current', '2', '777', 0, 1_700_000_000, 'src', ''],
      ['app/lib/', '5', '755', 0, 1_700_000_000, '', ''],
      ['app/lib/x.js', '0', '644', 0, 1_700_000_000, '', 'x'],
      ['app/src/quote.mjs', '0', '644', 0, 1_700_000_000, '', 'export const OVERHEAD_MS = 25;\n'],
      ['app/test/.wh.quote.test.mjs', '0', '644', 0, 1_700_000_000, '', ''],
    ],
  );
});

test('long paths use the ustar prefix, longer or non-ASCII ones a PAX record', async () => {
  const mid = `app/${'d'.repeat(60)}/${'e'.repeat(60)}/file.js`; // > 100, splits at a slash
  const long = `app/${'f'.repeat(200)}/${'g'.repeat(120)}.js`; // no split fits
  const unicode = 'app/src/prix-€.mjs';
  const longLink = 'x'.repeat(150);
  const entries: TarEntry[] = [
    { type: 'file', name: mid, mode: 0o644, content: Buffer.from('m') },
    { type: 'file', name: long, mode: 0o644, content: Buffer.from('l') },
    { type: 'file', name: unicode, mode: 0o644, content: Buffer.from('u') },
    { type: 'symlink', name: 'app/link', target: longLink },
  ];
  const read = readTar((await writeTar(entries, 0)).tar);
  assert.deepEqual(
    read.map((e) => [e.name, e.content || e.linkname]),
    [
      [mid, 'm'],
      [long, 'l'],
      [unicode, 'u'],
      ['app/link', longLink],
    ],
  );
});

test('the same input gives the same bytes; diff_id is the sha256 of the tar, digest of the gzip', async () => {
  const entries = layerEntries([write('src/a.js', 'a'), del('b.js')], 'app');
  const one = compressLayer(await writeTar(entries, 42));
  const two = compressLayer(await writeTar(layerEntries([del('b.js'), write('src/a.js', 'a')], 'app'), 42));
  assert.equal(one.diffId, two.diffId);
  assert.equal(one.digest, two.digest);
  assert.equal(one.diffId, `sha256:${createHash('sha256').update(one.tar).digest('hex')}`);
  assert.equal(one.digest, `sha256:${createHash('sha256').update(one.gzip).digest('hex')}`);
  assert.deepEqual(gunzipSync(one.gzip), one.tar);
  assert.notEqual(
    compressLayer(await writeTar(entries, 43)).diffId,
    one.diffId,
    'the mtime is part of the layer',
  );
});

test('an empty content is no data block; a content of exactly 512 bytes takes one', async () => {
  const empty = (await writeTar([{ type: 'file', name: 'e', mode: 0o644, content: Buffer.alloc(0) }], 0)).tar;
  assert.equal(empty.length, 512 + 1024);
  const full = (await writeTar([{ type: 'file', name: 'f', mode: 0o644, content: Buffer.alloc(512, 1) }], 0))
    .tar;
  assert.equal(full.length, 512 + 512 + 1024);
});
