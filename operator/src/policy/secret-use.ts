// Which Secrets the operator may use, and for what. A HyperAgent's author names a Secret by name,
// and the operator would otherwise send whatever it holds to the git or LLM address that same
// author chose: any Secret of the namespace could leave the cluster that way. So a Secret is used
// only when its owner labelled it for that use. Pure: the caller reads the Secret and asks.

export type SecretUse = 'git' | 'llm';

/** The label that opts a Secret in to one use; its value must be "true". */
export const SECRET_USE_LABELS: Readonly<Record<SecretUse, string>> = {
  git: 'hyperagents.io/git-credentials',
  llm: 'hyperagents.io/llm-api-key',
};

const DESCRIBED: Readonly<Record<SecretUse, string>> = {
  git: 'git credentials',
  llm: 'an LLM API key',
};

/** What the operator knows of a Secret before it uses its data. */
export interface SecretMetadata {
  name: string;
  namespace: string;
  labels?: Readonly<Record<string, string>>;
}

/** Why the Secret may not be used for `use`, with the command that opts it in; undefined when it may. */
export function secretUseProblem(secret: SecretMetadata, use: SecretUse): string | undefined {
  const label = SECRET_USE_LABELS[use];
  if (secret.labels?.[label] === 'true') return undefined;
  return (
    `the Secret ${secret.namespace}/${secret.name} has not opted in to be used as ${DESCRIBED[use]}: ` +
    `the operator uses a Secret only when it carries the label ${label}=true ` +
    `(kubectl label secret ${secret.name} -n ${secret.namespace} ${label}=true)`
  );
}
