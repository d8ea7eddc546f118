// Which proposer a cycle gets: the offline tuner, or an LLM at an OpenAI-compatible endpoint whose
// key is read from the agent's Secret for each cycle (a rotated key takes effect at the next cycle).
// The command proposer needs a pod runner the operator does not have yet, so it is not offered:
// a cycle that asks for it fails at once naming the missing capability.
import type { Logger } from 'pino';
import type { KubeClients } from '../controller/kube.js';
import { describeError } from '../controller/kube.js';
import type { CycleContext } from '../cycle/work.js';
import { OpenAIProposer } from '../propose/openai.js';
import type { ProposerMetrics } from '../propose/observe.js';
import type { Proposer } from '../propose/proposer.js';
import { TunerProposer } from '../propose/tuner.js';
import { ProposerUnavailableError, type ProposerFactory } from './propose-work.js';

export function tunerFactory(): ProposerFactory {
  return async () => new TunerProposer();
}

export function openAIFactory(clients: KubeClients, metrics: ProposerMetrics, log: Logger): ProposerFactory {
  return async (cycle: CycleContext): Promise<Proposer> => {
    const settings = cycle.spec.agentSpec.improvement.proposer;
    const ref = settings.apiKeySecret;
    if (!settings.model || !ref) {
      throw new ProposerUnavailableError('the openai proposer needs model and apiKeySecret');
    }
    let apiKey: string | undefined;
    try {
      const secret = await clients.core.readNamespacedSecret({ name: ref.name, namespace: cycle.namespace });
      const encoded = secret.data?.[ref.key];
      apiKey = encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim();
    } catch (error) {
      throw new ProposerUnavailableError(
        `cannot read the API key Secret ${cycle.namespace}/${ref.name}: ${describeError(error)}`,
      );
    }
    if (!apiKey)
      throw new ProposerUnavailableError(`the Secret ${cycle.namespace}/${ref.name} has no key '${ref.key}'`);
    return new OpenAIProposer({
      apiKey,
      model: settings.model,
      ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
      metrics,
      log: log.child({ cycle: `${cycle.namespace}/${cycle.name}` }),
    });
  };
}
