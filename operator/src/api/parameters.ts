// The agent's tunable parameters as the rest of the operator speaks of them: each one's
// declaration (from the schema) and the values a variant gives them.
import type { HyperAgentSpec } from './schema.js';

/** A declared tunable parameter (spec.improvement.parameters[]). */
export type ParameterSpec = HyperAgentSpec['improvement']['parameters'][number];

/** The value of one parameter: integer/number → number, boolean → boolean, choice → string. */
export type ParameterValue = number | boolean | string;

/** Parameter values by parameter name. */
export type ParameterValues = Record<string, ParameterValue>;
