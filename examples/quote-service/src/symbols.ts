// The symbols the pricing API lists: AAA, AAB, ..., ZZZ, then AAAA... The load generator draws
// from the same list, most popular first.

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const THREE_LETTER = 26 ** 3;
const MAX_SYMBOLS = THREE_LETTER + 26 ** 4;

/** The listed symbol number `index` (from 0). */
export function listedSymbol(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SYMBOLS)
    throw new RangeError(`bad symbol index ${index}`);
  let rest = index < THREE_LETTER ? index : index - THREE_LETTER;
  const length = index < THREE_LETTER ? 3 : 4;
  let symbol = '';
  for (let position = 0; position < length; position++) {
    symbol = LETTERS[rest % 26] + symbol;
    rest = Math.floor(rest / 26);
  }
  return symbol;
}

/** The first `count` listed symbols. */
export function listedSymbols(count: number): string[] {
  return Array.from({ length: count }, (_, index) => listedSymbol(index));
}
