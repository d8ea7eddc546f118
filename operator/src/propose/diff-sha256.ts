// The identity of a code candidate across cycles: the SHA-256 of its diff text. The archive keeps
// it (ArchiveEntry.diffSha256) and status keeps the same hash of the diff it stores, so the reader
// of answers can tell a diff that was already tried without keeping any diff itself.
import { createHash } from 'node:crypto';

/** SHA-256 of a diff's text (UTF-8), in lowercase hex: the hash status records for a code candidate. */
export function diffSha256(diff: string): string {
  return createHash('sha256').update(diff, 'utf8').digest('hex');
}
