/* global URL */
// GET /quote?symbol=ACME answers a quote; the deployed form of the service.
import { createServer } from 'node:http';
import { quote } from './quote.mjs';

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/quote') return res.writeHead(404).end();
  try {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(quote(url.searchParams.get('symbol') ?? '')));
  } catch (error) {
    res.writeHead(400).end(String(error));
  }
}).listen(8080);
