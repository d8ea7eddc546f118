// Reads a HyperAgent manifest for the offline tools, with the defaults and the structural checks
// the API server would apply. CEL rules are not evaluated here; `kubectl apply --dry-run=server`
// does that against a cluster.
import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { load } from 'js-yaml';
import { defaultedAgentSpec } from '../api/defaults.js';
import { API_VERSION, HyperAgentSpec } from '../api/schema.js';
import { specPathProblem } from '../policy/repo-path.js';

export interface LoadedAgent {
  name: string;
  namespace?: string;
  spec: HyperAgentSpec;
}

/** A problem with the user's input, reported as one line without a stack trace. */
export class UserInputError extends Error {
  override readonly name = 'UserInputError';
}

/** Parses `path` as a HyperAgent manifest; throws UserInputError naming the first problems. */
export async function loadAgentManifest(path: string): Promise<LoadedAgent> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserInputError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let document: unknown;
  try {
    document = load(text);
  } catch (error) {
    throw new UserInputError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseAgentManifest(document, path);
}

/** Checks an already-parsed manifest; `source` names it in messages. */
export function parseAgentManifest(document: unknown, source: string): LoadedAgent {
  if (typeof document !== 'object' || document === null) {
    throw new UserInputError(`${source} does not hold a YAML object`);
  }
  const manifest = document as Record<string, unknown>;
  if (manifest.kind !== 'HyperAgent' || manifest.apiVersion !== API_VERSION) {
    throw new UserInputError(
      `${source} holds kind ${String(manifest.kind)} of ${String(manifest.apiVersion)}, not HyperAgent of ${API_VERSION}`,
    );
  }
  const metadata = (manifest.metadata ?? {}) as Record<string, unknown>;
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    throw new UserInputError(`${source} has no metadata.name`);
  }
  const spec = defaultedAgentSpec(manifest.spec ?? {});
  const errors = [...Value.Errors(HyperAgentSpec, spec)].slice(0, 3);
  if (errors.length > 0) {
    const described = errors.map((error) => `spec${error.path.replaceAll('/', '.')}: ${error.message}`);
    throw new UserInputError(`${source} is not a valid HyperAgent: ${described.join('; ')}`);
  }
  // The CRD's CEL rules are the API server's; the one on path entries is repeated here, so the
  // offline check refuses what the cluster would.
  for (const field of ['paths', 'protectedPaths'] as const) {
    for (const [index, entry] of spec.source[field].entries()) {
      const problem = specPathProblem(entry);
      if (problem)
        throw new UserInputError(
          `${source} is not a valid HyperAgent: spec.source.${field}[${index}]: ${problem}`,
        );
    }
  }
  return {
    name: metadata.name,
    ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}),
    spec,
  };
}
