// The manifest is checked against the protocol's schema before anything else happens; a manifest
// that fails is answered with its first schema errors and nothing runs.
import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { SandboxManifest } from '../../operator/src/api/sandbox-protocol.js';

/** How many schema errors an invalid manifest's result names (the result must stay small). */
const REPORTED_ERRORS = 3;

export type ManifestCheck =
  | { ok: true; manifest: SandboxManifest }
  | {
      ok: false;
      message: string;
      /** The candidate id when the document has a usable one. */ candidate: string;
      /** The nonce when the document has a usable one, so even this answer is the pod's. */
      nonce?: string;
    };

/** Whether `value` is a manifest the runner can follow; the message names the first problems. */
export function checkManifest(value: unknown): ManifestCheck {
  const candidate = candidateOf(value);
  const nonce = nonceOf(value);
  if (!Value.Check(SandboxManifest, value)) {
    const errors = [...Value.Errors(SandboxManifest, value)]
      .slice(0, REPORTED_ERRORS)
      .map((error) => `${error.path || '/'}: ${error.message}`);
    return {
      ok: false,
      candidate,
      ...(nonce ? { nonce } : {}),
      message: `manifest does not match the schema: ${errors.join('; ')}`,
    };
  }
  const problem = extraProblem(value);
  return problem === undefined
    ? { ok: true, manifest: value }
    : { ok: false, candidate, nonce: value.nonce, message: problem };
}

/** Reads and checks the manifest file; unreadable or non-JSON files are invalid manifests too. */
export async function readManifest(path: string): Promise<ManifestCheck> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, candidate: '', message: `cannot read manifest ${path}: ${describe(error)}` };
  }
  try {
    return checkManifest(JSON.parse(text));
  } catch (error) {
    return { ok: false, candidate: '', message: `manifest ${path} is not JSON: ${describe(error)}` };
  }
}

/** Rules the schema cannot say: each command name once, a changes name that stays in the input directory. */
function extraProblem(manifest: SandboxManifest): string | undefined {
  const names = manifest.commands.map((command) => command.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) return `command ${repeated} is listed more than once`;
  const changes = manifest.changes;
  if (changes !== undefined && (changes.includes('/') || changes === '.' || changes === '..'))
    return `changes name ${JSON.stringify(changes)} is not a file of the input directory`;
  return undefined;
}

function candidateOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '';
  const candidate = (value as Record<string, unknown>).candidate;
  return typeof candidate === 'string' ? candidate.slice(0, 63) : '';
}

function nonceOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const nonce = (value as Record<string, unknown>).nonce;
  return typeof nonce === 'string' && /^[0-9a-f]{32,64}$/.test(nonce) ? nonce : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
