// @ts-check
// The operator's layers, bottom first, and the lint rule that keeps them: a folder of
// operator/src may import its own files and those of lower layers, never a higher layer nor a
// sibling of its own layer (siblings stay independent, so no two folders import each other).
// The README's "Code layout" section describes the same table.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders of operator/src by layer, bottom first. `main.ts` and any file at the root are the top. */
export const LAYERS = [
  ['api', 'util', 'telemetry'],
  ['represent'],
  ['policy'],
  ['propose'],
  ['cycle'],
  ['git', 'kube'],
  ['sandbox', 'build', 'rollout'],
  ['engine'],
  ['controller'],
  ['cli'],
];

/** operator/src of this checkout, wherever eslint is run from. */
const SOURCE_ROOT = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'operator', 'src');

/** The layer index of a folder of operator/src; the top for files at its root and unknown folders. */
function layerOf(folder) {
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  return index === -1 ? LAYERS.length : index;
}

/** The folder of operator/src that `file` lies in ('' for a file at its root), or undefined outside it. */
function sourceFolderOf(file) {
  const relative = path.relative(SOURCE_ROOT, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

/** @type {import('eslint').Rule.RuleModule} */
const noUpwardImport = {
  meta: {
    type: 'problem',
    docs: { description: 'a folder of operator/src imports only lower layers (lint/layers.js)' },
    schema: [],
    messages: {
      upward:
        '{{from}}/ (layer {{fromLayer}}) must not import {{to}}/ (layer {{toLayer}}): lower layers never import higher ones; move the shared part down (lint/layers.js lists the layers)',
      sibling:
        '{{from}}/ must not import {{to}}/: both are in layer {{fromLayer}}, and siblings stay independent; move the shared part down (lint/layers.js lists the layers)',
    },
  },
  create(context) {
    const file = context.filename;
    const from = sourceFolderOf(file);
    if (from === undefined) return {};
    const fromLayer = layerOf(from);
    /** @param {any} node */
    function check(node) {
      const specifier = node.source?.value;
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const to = sourceFolderOf(path.resolve(path.dirname(file), specifier));
      if (to === undefined || to === from) return;
      const toLayer = layerOf(to);
      if (toLayer < fromLayer) return;
      const data = {
        from: from || '(root)',
        to: to || '(root)',
        fromLayer: String(fromLayer),
        toLayer: String(toLayer),
      };
      context.report({ node: node.source, messageId: toLayer === fromLayer ? 'sibling' : 'upward', data });
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'no-upward-import': noUpwardImport } };
