// Reading a Secret the operator is to use: the one place that turns the API server's answer and
// the Secret's labels into either the Secret or a sentence saying why not (and how to opt it in).
// The git checkout, the LLM proposer and the overlay builder each wrap that sentence in their own
// error; see policy/secret-use.ts for the opt-in itself.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { secretAccessProblem, secretUseProblem, type SecretUse } from '../policy/secret-use.js';
import { describeError, statusCodeOf } from './clients.js';

export type OptedInSecret =
  | { secret: V1Secret }
  /** `notFound`: the Secret does not exist (some callers may go on without it). */
  | { problem: string; notFound: boolean };

/**
 * The Secret `ref`, when the operator may read it and it opted in to `use`. `what` names it in
 * the message of any other failure ("credentials Secret", "registry Secret").
 */
export async function readOptedInSecret(
  core: Pick<CoreV1Api, 'readNamespacedSecret'>,
  ref: { name: string; namespace: string },
  use: SecretUse,
  what: string,
): Promise<OptedInSecret> {
  let secret: V1Secret;
  try {
    secret = await core.readNamespacedSecret(ref);
  } catch (error) {
    const status = statusCodeOf(error);
    return {
      problem:
        status === 403
          ? secretAccessProblem(ref, use)
          : `cannot read the ${what} ${ref.namespace}/${ref.name}: ${describeError(error)}`,
      notFound: status === 404,
    };
  }
  const problem = secretUseProblem({ ...ref, labels: secret.metadata?.labels ?? {} }, use);
  return problem === undefined ? { secret } : { problem, notFound: false };
}

/**
 * `readOptedInSecret` for one use, as a function of the Secret's reference that answers with the
 * Secret's data or the problem: what readers below this layer (git's checkouts) take.
 */
export function optedInSecretReader(
  core: Pick<CoreV1Api, 'readNamespacedSecret'>,
  use: SecretUse,
  what: string,
): (ref: {
  name: string;
  namespace: string;
}) => Promise<{ data?: Record<string, string> } | { problem: string }> {
  return async (ref) => {
    const read = await readOptedInSecret(core, ref, use, what);
    return 'problem' in read
      ? { problem: read.problem }
      : { ...(read.secret.data ? { data: read.secret.data } : {}) };
  };
}

/** The reader of agents' git credentials Secrets (source.credentialsSecret), for SourceCheckouts. */
export function gitCredentials(core: Pick<CoreV1Api, 'readNamespacedSecret'>) {
  return optedInSecretReader(core, 'git', 'credentials Secret');
}
