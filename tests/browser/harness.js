// What the browser tests share: paths, the static server as `make demo` runs
// it, and Chromium's flags for this machine (no network but loopback).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WEB = path.join(ROOT, 'web');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--disable-quic'];

/** tools/serve.mjs on a free port; resolves to { server, origin }. */
export function serveWeb() {
  const server = spawn(process.execPath, [path.join(ROOT, 'tools', 'serve.mjs'), WEB, '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+)\//m);
      if (m) resolve({ server, origin: m[1] });
    });
    server.on('exit', (code) => reject(new Error(`serve.mjs exited (${code})`)));
  });
}
