// Which proposer a cycle gets: the offline tuner, or an LLM at an OpenAI-compatible endpoint whose
// key is read from the agent's Secret for each cycle (a rotated key takes effect at the next cycle).
// The command proposer needs a pod runner the operator does not have yet, so it is not offered:
// a cycle that asks for it fails at once naming the missing capability.
import type { Logger } from 'pino';
import type { KubeClients } from '../kube/clients.js';
import { readOptedInSecret } from '../kube/opted-in-secret.js';
import type { CycleContext } from '../cycle/ports.js';
import type { ModelPrice } from '../propose/openai.js';
import type { ProposerMetrics } from '../propose/observe.js';
import type { Proposer } from '../propose/proposer.js';
import { TunerProposer } from '../propose/tuner.js';
import { ProposerUnavailableError, type ProposerFactory } from './propose-work.js';

export function tunerFactory(): ProposerFactory {
  return async () => new TunerProposer();
}

/**
 * One `--llm-price` flag: `model=input:output`, US dollars per million prompt and completion tokens,
 * e.g. `gpt-4o-mini=0.15:0.60`. Throws at start-up on anything else, naming the flag's value.
 */
export function parseModelPrice(text: string): Record<string, ModelPrice> {
  const match = /^([^=\s]+)=(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) {
    throw new Error(
      `--llm-price ${JSON.stringify(text)}: expected MODEL=INPUT:OUTPUT in US dollars per million tokens, e.g. gpt-4o-mini=0.15:0.60`,
    );
  }
  return { [match[1]!]: { inputPerMillion: Number(match[2]), outputPerMillion: Number(match[3]) } };
}

export function openAIFactory(
  clients: KubeClients,
  metrics: ProposerMetrics,
  log: Logger,
  pricing: Readonly<Record<string, ModelPrice>> = {},
): ProposerFactory {
  return async (cycle: CycleContext): Promise<Proposer> => {
    const settings = cycle.spec.agentSpec.improvement.proposer;
    const ref = settings.apiKeySecret;
    if (!settings.model || !ref) {
      throw new ProposerUnavailableError('the openai proposer needs model and apiKeySecret');
    }
    const read = await readOptedInSecret(
      clients.core,
      { name: ref.name, namespace: cycle.namespace },
      'llm',
      'API key Secret',
    );
    if ('problem' in read) throw new ProposerUnavailableError(read.problem);
    const encoded = read.secret.data?.[ref.key];
    const apiKey = encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim();
    if (!apiKey)
      throw new ProposerUnavailableError(`the Secret ${cycle.namespace}/${ref.name} has no key '${ref.key}'`);
    // the client loads with the first LLM cycle, not when the operator starts (about 12 MiB)
    const { OpenAIProposer } = await import('../propose/openai.js');
    return new OpenAIProposer({
      apiKey,
      model: settings.model,
      pricing,
      ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
      metrics,
      log: log.child({ cycle: `${cycle.namespace}/${cycle.name}` }),
    });
  };
}
