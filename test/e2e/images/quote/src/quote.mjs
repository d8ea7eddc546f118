// Simulated quote service: latency falls as the cache and the batch window near their sweet spot,
// and with the per-request overhead. Simulated, so a test knows exactly what a change is worth.
export const OVERHEAD_MS = 40;

export function p99Ms(cacheSize, batchWindowMs) {
  const cachePenalty = ((cacheSize - 384) / 64) ** 2;
  const windowPenalty = ((batchWindowMs - 12) / 4) ** 2;
  return OVERHEAD_MS + cachePenalty + windowPenalty;
}

export function quote(symbol) {
  if (!/^[A-Z]{1,5}$/.test(symbol)) throw new Error('bad symbol');
  return { symbol, price: symbol.length * 10 };
}
