// What the browser tests share: paths, the static server as `make demo` runs
// it, and Chromium's flags for this machine (no network but loopback).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
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

/** CPU time used so far (ms, user + system, 10 ms ticks) on this Linux
 * machine: `all`, every process (from /proc/stat), and per Chromium process
 * kind (renderer main thread, rest of the renderers, browser, gpu, utility),
 * or null without /proc. Two calls around a page load give what it cost. */
export function cpuTimes() {
  const ticks = (stat) => { const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); return (+f[11] + +f[12]) * 10; };
  let all;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    all = (f[0] + f[1] + f[2] + f[5] + f[6]) * 10; // user nice system irq softirq
  } catch { return null; }
  const out = { all, renderer_main: 0, renderer_other: 0, browser: 0, gpu: 0, utility: 0 };
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('/chromium/chromium')) continue; // Debian's /usr/lib/chromium/chromium
      const type = cmd.match(/--type=([a-z-]+)/)?.[1];
      const t = ticks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (type === 'renderer') {
        const main = ticks(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
        out.renderer_main += main;
        out.renderer_other += t - main;
      } else if (type === 'gpu-process') out.gpu += t;
      else if (type) out.utility += t;
      else out.browser += t;
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}
