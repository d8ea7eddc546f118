// The API server's defaulting, in process: used where specs are built outside the cluster
// (tests, offline tools) so they look exactly as they would when read back from the API.
import { Value } from '@sinclair/typebox/value';
import { HyperAgentSpec } from './schema.js';

/** Fills in every schema default of a HyperAgent spec, as the API server would. */
export function defaultedAgentSpec(input: unknown): HyperAgentSpec {
  return Value.Default(HyperAgentSpec, structuredClone(input)) as HyperAgentSpec;
}
