/* global process, URL */
// GET /quote?symbol=ACME answers a quote: the price from quote.mjs and the venue from the price
// dependency at PRICE_URL; GET /healthz answers once it serves. PORT (8080) is where it listens;
// QUOTE_CACHE=on keeps the dependency's answers, so each symbol costs one call.
import { Agent, createServer, get } from 'node:http';
import { quote } from './quote.mjs';

const port = Number(process.env.PORT ?? 8080);
const priceUrl = process.env.PRICE_URL ?? 'http://127.0.0.1:8090';
const cache = process.env.QUOTE_CACHE === 'on' ? new Map() : undefined;
const agent = new Agent({ keepAlive: true });

function venue(symbol) {
  const known = cache?.get(symbol);
  if (known !== undefined) return Promise.resolve(known);
  return new Promise((resolve, reject) => {
    get(`${priceUrl}/price?symbol=${encodeURIComponent(symbol)}`, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`price answered ${response.statusCode}`));
        const answer = JSON.parse(body).venue;
        cache?.set(symbol, answer);
        resolve(answer);
      });
    }).on('error', reject);
  });
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return res.writeHead(200).end('ok');
  if (url.pathname !== '/quote') return res.writeHead(404).end();
  let listed;
  try {
    listed = quote(url.searchParams.get('symbol') ?? '');
  } catch (error) {
    return res.writeHead(400).end(String(error));
  }
  try {
    const body = { ...listed, venue: await venue(listed.symbol) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  } catch (error) {
    res.writeHead(502).end(String(error));
  }
}).listen(port);
