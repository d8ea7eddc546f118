// Settings shared by the quote service and the stand-in of its price dependency. Not a protected
// file: a candidate may change it, and the stand-in, which runs from the unchanged source image,
// must not notice.
/** How long the price dependency takes per letter of a symbol, ms: ABCDE takes 5 times A. */
export const PRICE_DELAY_MS_PER_LETTER = 100;

/** The trading venue of a symbol, as the price dependency reports it. */
export function venueOf(symbol) {
  return ['XNYS', 'XNAS', 'XLON'][symbol.length % 3];
}
