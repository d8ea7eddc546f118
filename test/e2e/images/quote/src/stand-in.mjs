/* global process, setTimeout, URL */
// Stand-in of the price dependency: GET /price?symbol=ACME answers the symbol's venue after a
// delay that grows with the symbol's length (settings.mjs). Deterministic, so a test knows what
// every answer is and how long it takes.
import { createServer } from 'node:http';
import { PRICE_DELAY_MS_PER_LETTER, venueOf } from './settings.mjs';

const port = Number(process.env.PORT ?? 8090);

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return res.writeHead(200).end('ok');
  if (url.pathname !== '/price') return res.writeHead(404).end();
  const symbol = url.searchParams.get('symbol') ?? '';
  setTimeout(() => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ symbol, venue: venueOf(symbol) }));
  }, PRICE_DELAY_MS_PER_LETTER * symbol.length);
}).listen(port, '127.0.0.1');
