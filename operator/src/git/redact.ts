// Git echoes URLs and, with some servers, what it was given. Every git message on its way to a
// log, an Event, an error or a status goes through a redactor first.

/** Turns text that may hold credentials into text that does not. */
export type Redactor = (text: string) => string;

export const REDACTED = '[redacted]';

// `scheme://user:password@` anywhere in the text; a bare `user@` (ssh://git@host) is kept, it
// names an account, not a secret.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*:[^\s/?#@]*@/gi;

/**
 * A redactor that removes every given secret (as is, and as it would appear percent-encoded in
 * a URL) and any password in a URL. Longer secrets go first, so one secret that contains another
 * is not left half shown.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
  }
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (text: string): string => {
    let out = text.replace(URL_USERINFO, `$1${REDACTED}@`);
    for (const needle of ordered) out = out.split(needle).join(REDACTED);
    return out;
  };
}
