// Go-style durations (`30s`, `1h30m`, `250ms`), as the CRD patterns and Kubernetes CEL accept them.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration into milliseconds; throws on anything the CRD pattern would refuse. */
export function parseDuration(text: string): number {
  const part = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) throw new Error(`invalid duration '${text}': expected forms like 30s, 5m or 1h30m`);
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    index = part.lastIndex;
  }
  if (text.length === 0) throw new Error('invalid duration: empty');
  return total;
}
