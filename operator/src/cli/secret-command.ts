// `kubectl hyperagent secret allow NAME --for git|llm`: opts a Secret in to one use by the
// operator, as whoever runs it (who must be allowed to write Roles and label Secrets in the
// namespace): a Role and RoleBinding that let the operator's ServiceAccount get that Secret alone,
// and the label naming the use. See policy/secret-use.ts for why both.
import {
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Command, Option } from 'commander';
import {
  DEFAULT_OPERATOR_ACCOUNT,
  SECRET_USE_LABELS,
  SECRET_USES,
  describeUse,
  secretGrant,
  secretGrantName,
  type SecretUse,
} from '../policy/secret-use.js';
import { clusterContext, describeApiError, type ClusterFlags } from './cluster-context.js';
import { emit, userError, type CommandOutput } from './command-output.js';

export interface SecretAllowOptions extends ClusterFlags {
  secret: string;
  use: SecretUse;
  /** `namespace/name` of the operator's ServiceAccount. */
  operatorAccount: string;
}

const FIELD_MANAGER = 'kubectl-hyperagent';

/** Applies the grant and the label; reports what it did, or why it could not. */
export async function runSecretAllow(options: SecretAllowOptions): Promise<CommandOutput> {
  const [accountNamespace, accountName, ...rest] = options.operatorAccount.split('/');
  if (!accountNamespace || !accountName || rest.length > 0) {
    return userError(`--operator-account wants namespace/name, not ${options.operatorAccount}`);
  }
  const context = clusterContext(options);
  const secret = { name: options.secret, namespace: context.namespace };
  const where = `${secret.namespace}/${secret.name}`;
  try {
    await context.core.readNamespacedSecret(secret);
  } catch (error) {
    return userError(`cannot read the Secret ${where}: ${describeApiError(error)}`);
  }
  const objects = context.config.makeApiClient(KubernetesObjectApi);
  try {
    for (const object of secretGrant(secret, { namespace: accountNamespace, name: accountName })) {
      await objects.patch(
        object as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    }
    const label = SECRET_USE_LABELS[options.use];
    await context.core.patchNamespacedSecret(
      { ...secret, body: { metadata: { labels: { [label]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (error) {
    return userError(`cannot opt the Secret ${where} in: ${describeApiError(error)}`);
  }
  const grant = secretGrantName(secret.name);
  return {
    exitCode: 0,
    stdout:
      `${where} may now be used as ${describeUse(options.use)}: ` +
      `Role and RoleBinding ${grant} let ${accountNamespace}/${accountName} get it (and no other Secret), ` +
      `and it carries ${SECRET_USE_LABELS[options.use]}=true.\n`,
    stderr: '',
  };
}

/** `secret allow` for the kubectl plugin. */
export function secretCommand(): Command {
  const secret = new Command('secret').description('Opt Secrets in to use by the operator.');
  secret
    .command('allow')
    .description(
      'Let the operator read one Secret (a Role for that Secret alone) and use it for git, as an LLM API key or for a registry (a label).',
    )
    .argument('<secret>', 'name of the Secret')
    .addOption(
      new Option('--for <use>', 'what the operator may use it for')
        .choices(SECRET_USES)
        .makeOptionMandatory(),
    )
    .option(
      '--operator-account <namespace/name>',
      "the operator's ServiceAccount",
      `${DEFAULT_OPERATOR_ACCOUNT.namespace}/${DEFAULT_OPERATOR_ACCOUNT.name}`,
    )
    .option('-n, --namespace <name>', "the Secret's namespace (default: the context's, else default)")
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)')
    .action(async (name: string, flags: ClusterFlags & { for: SecretUse; operatorAccount: string }) =>
      emit(await runSecretAllow({ ...flags, secret: name, use: flags.for })),
    );
  return secret;
}
