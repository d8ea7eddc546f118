/* global process */
// Prints the benchmark figures as one JSON object (the sandbox runner's convention).
import { p99Ms } from '../src/quote.mjs';
const cache = Number(process.env.QUOTE_CACHE_SIZE ?? 64);
const window = Number(process.env.QUOTE_BATCH_WINDOW_MS ?? 0);
process.stdout.write(JSON.stringify({ p99_ms: p99Ms(cache, window) }) + '\n');
