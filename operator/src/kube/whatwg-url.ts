// Stands in for the whatwg-url package in the operator's bundle (esbuild --alias in package.json).
// node-fetch 2, client-node's HTTP client, takes URL from node:url and falls back to whatwg-url only
// where node:url has none, which no supported Node is; loading the package anyway parsed its Unicode
// mapping table at start (about 3 MiB of RSS).
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export default { URL, URLSearchParams };
