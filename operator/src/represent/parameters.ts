// Declared parameters, with the files that read them. A file "uses" a parameter when:
//  - env var `NAME`: any text file mentions NAME as a whole word (`process.env.NAME`,
//    `os.getenv("NAME")`, `- name: NAME` in a manifest);
//  - config key `a.b.c`: any text file mentions the full dotted key (`config.a.b.c`,
//    `get('a.b.c')`), or a configuration file (YAML, JSON, TOML, INI, properties, .env) has every
//    segment as a word and the last one as a key (`c:`, `"c":`, `c =`). The last segment alone
//    is not enough elsewhere: names like `size` or `timeout` would match half the code base.
import type { ParameterSpec } from '../api/parameters.js';
import type { ParameterNode } from './graph.js';
import { CONFIG_LANGUAGES, languageOf } from './language.js';

/** Each declared parameter as a node, with the repository paths (sorted) whose text uses it. */
export function describeParameters(
  parameters: readonly ParameterSpec[],
  texts: ReadonlyMap<string, string>,
): ParameterNode[] {
  return parameters.map((parameter) => {
    const uses = parameter.env !== undefined ? envUse(parameter.env) : configUse(parameter.configKey ?? '');
    const usedIn = [...texts.entries()].filter(([path, text]) => uses(path, text)).map(([path]) => path);
    return {
      name: parameter.name,
      carrier: parameter.env !== undefined ? `env:${parameter.env}` : `config:${parameter.configKey ?? ''}`,
      type: parameter.type,
      ...(parameter.min !== undefined ? { min: parameter.min } : {}),
      ...(parameter.max !== undefined ? { max: parameter.max } : {}),
      ...(parameter.step !== undefined ? { step: parameter.step } : {}),
      ...(parameter.choices !== undefined ? { choices: [...parameter.choices] } : {}),
      usedIn: usedIn.sort(),
    };
  });
}

type Use = (path: string, text: string) => boolean;

function envUse(name: string): Use {
  const word = wordPattern(name);
  return (_path, text) => word.test(text);
}

function configUse(key: string): Use {
  if (key === '') return () => false;
  // A dot before the key is fine (`settings.cache.size`); a dot and more name after it is another key.
  const dotted = new RegExp(`(?<![\\w-])${escape(key)}(?![\\w-]|\\.\\w)`);
  const segments = key.split('.');
  const last = segments[segments.length - 1] ?? key;
  const lastAsKey = new RegExp(`(?<![\\w-])["']?${escape(last)}["']?\\s*[:=]`);
  const words = segments.map(wordPattern);
  return (path, text) => {
    if (dotted.test(text)) return true;
    if (!CONFIG_LANGUAGES.has(languageOf(path))) return false;
    return lastAsKey.test(text) && words.every((word) => word.test(text));
  };
}

function wordPattern(word: string): RegExp {
  return new RegExp(`(?<![\\w-])${escape(word)}(?![\\w-])`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
