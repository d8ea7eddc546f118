// Keeps credentials out of every text that leaves a proposer (attempt messages, logs): error
// messages from HTTP clients and servers may echo headers or the key itself.

const REDACTED = '[REDACTED]';
/** Fragments of a secret this long are treated as the secret: a server may echo part of a key. */
const FRAGMENT = 12;

/**
 * `text` with every secret (and any run of FRAGMENT of its characters), Bearer tokens, values of
 * authorization and api-key headers, and `sk-…` style keys replaced by `[REDACTED]`.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.replaceAll(secret, REDACTED);
    for (let i = 0; i + FRAGMENT <= secret.length && secret.length > FRAGMENT; i++) {
      const fragment = secret.slice(i, i + FRAGMENT);
      if (out.includes(fragment)) out = out.replaceAll(fragment, REDACTED);
    }
  }
  return out
    .replace(
      /\b(authorization|proxy-authorization|x-api-key|api-key)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token)\s+)?[^"'\s,;}]+/gi,
      (_match, name: string, separator: string, scheme: string | undefined) =>
        `${name}${separator}${scheme ? `${scheme} ` : ''}${REDACTED}`,
    )
    .replace(/\bBearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`)
    .replace(/\bsk-[A-Za-z0-9_-]{8,}/g, `sk-${REDACTED}`);
}
