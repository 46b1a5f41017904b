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

/** tools/serve.mjs serving root (default web/) on a free port; resolves
 * to { server, origin }. */
export function serveWeb(root = WEB) {
  const server = spawn(process.execPath, [path.join(ROOT, 'tools', 'serve.mjs'), root, '0'],
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

/** Draw with the mouse: real pointerdown/move/up over the box of `pad` (a
 * locator); strokes are lists of [x, y] in 0..1 of the pad. */
export async function drawOn(page, pad, strokes) {
  const box = await pad.boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (let i = 1; i < s.length; i++) await page.mouse.move(...at(s[i]), { steps: 6 });
    await page.mouse.up();
  }
}
