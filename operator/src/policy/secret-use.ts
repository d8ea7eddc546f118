// Which Secrets the operator may use, and for what. A HyperAgent's author names a Secret by name,
// and the operator would otherwise send whatever it holds to the git or LLM address that same
// author chose: any Secret of the namespace could leave the cluster that way, and an operator that
// may read every Secret of the cluster is a prize of its own. So a Secret opts in twice, and only
// whoever may change RBAC and the Secret can do it:
//   - a Role in the Secret's namespace lets the operator's ServiceAccount `get` that Secret alone
//     (the chart grants no Secret access: the API server refuses every other read);
//   - a label names what the operator may use it for (git credentials, an LLM API key, the
//     registry credentials the overlay builder pulls and pushes with).
// `kubectl hyperagent secret allow` applies both. Pure: the objects and the messages.

export type SecretUse = 'git' | 'llm' | 'registry';

export const SECRET_USES: readonly SecretUse[] = ['git', 'llm', 'registry'];

/** The label that opts a Secret in to one use; its value must be "true". */
export const SECRET_USE_LABELS: Readonly<Record<SecretUse, string>> = {
  git: 'hyperagents.io/git-credentials',
  llm: 'hyperagents.io/llm-api-key',
  registry: 'hyperagents.io/registry-credentials',
};

const DESCRIBED: Readonly<Record<SecretUse, string>> = {
  git: 'git credentials',
  llm: 'an LLM API key',
  registry: 'registry credentials',
};

/** How a use reads in a sentence: "git credentials", "an LLM API key". */
export function describeUse(use: SecretUse): string {
  return DESCRIBED[use];
}

/** The ServiceAccount the chart runs the operator as, by default. */
export const DEFAULT_OPERATOR_ACCOUNT = {
  namespace: 'hyperagent-system',
  name: 'hyperagent-hyperagent-operator',
};

/** What the operator knows of a Secret before it uses its data. */
export interface SecretMetadata {
  name: string;
  namespace: string;
  labels?: Readonly<Record<string, string>>;
}

/** The command that opts a Secret in, as the refusals quote it. */
export function allowCommand(secret: { name: string; namespace: string }, use: SecretUse): string {
  return `kubectl hyperagent secret allow ${secret.name} --for ${use} -n ${secret.namespace}`;
}

/** Why the Secret may not be used for `use`, with the command that opts it in; undefined when it may. */
export function secretUseProblem(secret: SecretMetadata, use: SecretUse): string | undefined {
  const label = SECRET_USE_LABELS[use];
  if (secret.labels?.[label] === 'true') return undefined;
  return (
    `the Secret ${secret.namespace}/${secret.name} has not opted in to be used as ${DESCRIBED[use]}: ` +
    `the operator uses a Secret only when it carries the label ${label}=true ` +
    `(${allowCommand(secret, use)}, or kubectl label secret ${secret.name} -n ${secret.namespace} ${label}=true)`
  );
}

/** The refusal when the API server would not let the operator read the Secret at all. */
export function secretAccessProblem(secret: { name: string; namespace: string }, use: SecretUse): string {
  return (
    `the operator may not read the Secret ${secret.namespace}/${secret.name}: a Secret is opted in to be used as ` +
    `${DESCRIBED[use]} by a Role that lets the operator get that Secret alone and the label ` +
    `${SECRET_USE_LABELS[use]}=true; ${allowCommand(secret, use)} applies both`
  );
}

/** Name of the Role (and RoleBinding) that lets the operator read one Secret. */
export function secretGrantName(secretName: string): string {
  const name = `hyperagent-read-${secretName}`;
  return name.length <= 253 ? name : name.slice(0, 253);
}

/** The Role and RoleBinding that let `operator` get the Secret, and nothing else. */
export function secretGrant(
  secret: { name: string; namespace: string },
  operator: { namespace: string; name: string } = DEFAULT_OPERATOR_ACCOUNT,
): [object, object] {
  const name = secretGrantName(secret.name);
  const metadata = {
    name,
    namespace: secret.namespace,
    labels: { 'app.kubernetes.io/managed-by': 'kubectl-hyperagent' },
  };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secret.name], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', namespace: operator.namespace, name: operator.name }],
    },
  ];
}
