#!/usr/bin/env node
// serve.mjs DIR [PORT] — serve a directory on http://127.0.0.1:PORT the way
// the demo is meant to be hosted: static files (serve-handler), correct MIME
// types (application/wasm) and a strict Content-Security-Policy (no inline
// script or style, no eval; only 'wasm-unsafe-eval' to compile the module).
// PORT 0 picks a free port. The URL is printed on the first line of stdout.
import http from 'node:http';
import { resolve } from 'node:path';
import handler from 'serve-handler';

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

const [dir = 'web', portArg = process.env.PORT || '8000'] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve: bad port ${portArg}`);
  process.exit(2);
}
const root = resolve(dir);

const server = http.createServer((req, res) => {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  handler(req, res, {
    public: root,
    directoryListing: false,
    headers: [
      { source: '**/*.safetensors', headers: [{ key: 'Content-Type', value: 'application/octet-stream' }] },
      { source: '**/*.bin', headers: [{ key: 'Content-Type', value: 'application/octet-stream' }] },
      { source: '**/*.wasm', headers: [{ key: 'Content-Type', value: 'application/wasm' }] },
      { source: 'src/*.@(c|h)', headers: [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }] },
      { source: '*.d.ts', headers: [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }] },
    ],
  }).catch((e) => {
    console.error(`serve: ${req.url}: ${e.message}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.on('error', (e) => {
  console.error(`serve: cannot listen on 127.0.0.1:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
