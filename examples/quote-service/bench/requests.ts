// Writes bench/requests.json, the request file of the agent's workload: the benchmark's seeded
// sequence of GET /quote requests (Zipf-popular symbols, weighted currencies), long enough that the
// sandbox's judge never repeats it within one side's warm-up and measured runs.
//   node --import tsx bench/requests.ts
import { writeFileSync } from 'node:fs';
import { createWorkload } from '../src/workload.js';

const SEED = 20_240_601;
const COUNT = 1500;

const next = createWorkload({ seed: SEED });
const requests = Array.from({ length: COUNT }, () => {
  const { symbol, currency } = next();
  return { method: 'GET', path: `/quote?symbol=${symbol}&currency=${currency}` };
});
writeFileSync(new URL('./requests.json', import.meta.url), `${JSON.stringify(requests)}\n`);
console.error(`wrote ${requests.length} requests to bench/requests.json`);
