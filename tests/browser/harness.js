// What the browser tests share: paths, the static server as `make demo` runs
// it, and Chromium's flags for this machine (no network but loopback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WEB = path.join(ROOT, 'web');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--disable-quic'];

/** Every browser test file calls this first. Without Chromium it adds one
 * test that fails and says what to install (a machine to fix, not tests to
 * skip and pass) and returns a reason for the file's suites to skip; with
 * it, false. */
export function needChromium() {
  if (fs.existsSync(CHROMIUM)) return false;
  const why = `${CHROMIUM} is not installed: the browser tests need it (make setup installs it: apt-get install chromium)`;
  test('Chromium is installed', () => assert.fail(why));
  return why;
}

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

// /proc counts CPU time in clock ticks: 100 a second on most Linux kernels,
// not all (CONFIG_HZ does not change it; USER_HZ does).
const MS_PER_TICK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(r.stdout);
  return Number.isInteger(hz) && hz > 0 ? 1000 / hz : 10;
})();

/** CPU time used so far (ms, user + system, in clock ticks) on this Linux
 * machine: `all`, every process (from /proc/stat), and per Chromium process
 * kind (renderer main thread, rest of the renderers, browser, gpu, utility),
 * or null without /proc. Two calls around a page load give what it cost. */
export function cpuTimes() {
  const ticks = (stat) => { const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); return (+f[11] + +f[12]) * MS_PER_TICK; };
  let all;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    all = (f[0] + f[1] + f[2] + f[5] + f[6]) * MS_PER_TICK; // user nice system irq softirq
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

/** A page loaded the way a visitor's browser loads it: in a fresh browser
 * context (nothing cached), with no DevTools domain enabled but Page while
 * it loads (the viewport is set once, by Emulation). A Playwright page enables Network, Runtime and more, and their
 * events for each request, console call and script context cost a cold start
 * here 30-36 ms (the demo page) and 15 ms (the floor page) of a shared 2-core
 * machine (interleaved runs, 25 of each). Opened through the browser's CDP
 * session: Playwright leaves alone the targets of contexts it did not make.
 *   const tab = await openBare(browser, { init, width, height });
 *   const ended = tab.event('Page.navigatedWithinDocument', (p) => ...);
 *   await tab.send('Page.navigate', { url }); await ended;
 *   await tab.errors();  // console errors and exceptions, replayed afterwards
 *   await tab.evaluate(() => ...); await tab.close(); */
export async function openBare(browser, { init, width = 900, height = 1000 } = {}) {
  const cdp = await browserSession(browser);
  const { browserContextId } = await cdp.send('Target.createBrowserContext', { disposeOnDetach: true });
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank', browserContextId });
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
  let seq = 0;
  const pending = new Map(), listeners = new Set(), events = [];
  cdp.tabs.set(sessionId, (m) => {
    if (m.id && pending.has(m.id)) {
      const { resolve, reject, method } = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result);
    } else if (m.method) {
      events.push(m);
      for (const l of listeners) l(m);
    }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject, method });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  const tab = {
    send,
    /** The first event `method` whose params pass `test`, within `ms`. */
    event: (method, test = () => true, ms = 15000) => new Promise((resolve, reject) => {
      const l = (m) => { if (m.method === method && test(m.params)) { done(); resolve(m.params); } };
      const timer = setTimeout(() => { done(); reject(new Error(`no ${method} within ${ms} ms`)); }, ms);
      const done = () => { clearTimeout(timer); listeners.delete(l); };
      listeners.add(l);
    }),
    /** fn() in the page (a self-contained function; may return a promise). */
    async evaluate(fn) {
      const r = await send('Runtime.evaluate', { expression: `(${fn})()`, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    },
    /** Exceptions and console errors so far: enabling Runtime replays them. */
    async errors() {
      const from = events.length;
      await send('Runtime.enable');
      return events.slice(from).flatMap((m) =>
        m.method === 'Runtime.exceptionThrown' ? [m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text]
        : m.method === 'Runtime.consoleAPICalled' && m.params.type === 'error'
          ? [m.params.args.map((a) => a.value ?? a.description).join(' ')] : []);
    },
    async close() {
      cdp.tabs.delete(sessionId);
      await cdp.send('Target.closeTarget', { targetId }).catch(() => {});
      await cdp.send('Target.disposeBrowserContext', { browserContextId });
    },
  };
  // the viewport (a headless window's size includes its toolbars)
  await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  await send('Page.enable'); // (Page.addScriptToEvaluateOnNewDocument needs it)
  if (init) await send('Page.addScriptToEvaluateOnNewDocument', { source: `(${init})()` });
  return tab;
}

// one CDP session per browser, routing each tab's messages to it
const sessions = new WeakMap();
async function browserSession(browser) {
  if (!sessions.has(browser)) {
    sessions.set(browser, browser.newBrowserCDPSession().then((cdp) => {
      cdp.tabs = new Map();
      cdp.on('Target.receivedMessageFromTarget', ({ sessionId, message }) => cdp.tabs.get(sessionId)?.(JSON.parse(message)));
      return cdp;
    }));
  }
  return sessions.get(browser);
}

/** Resolves once Chromium's processes have used at most one clock tick
 * (10 ms on most kernels) of CPU in each of two 50 ms windows running, or after maxMs (at once without
 * /proc): the ms it waited. A new browser context's window keeps both cores
 * of this machine busy for about a second after it opens (1.5-2 s of CPU:
 * its toolbar's pages load); a visitor's browser is not opening a window as
 * it navigates. */
export async function chromiumIdle(maxMs = 5000) {
  const used = (c) => c.browser + c.renderer_main + c.renderer_other + c.gpu + c.utility;
  const t0 = performance.now();
  let last = cpuTimes(), quiet = 0;
  while (last && quiet < 2 && performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = cpuTimes();
    quiet = used(now) - used(last) <= Math.max(10, MS_PER_TICK) ? quiet + 1 : 0;
    last = now;
  }
  return performance.now() - t0;
}

/** The cold-start probe (openBare's init): runs in the page before any of
 * its scripts, waits for <digit-lens> to be ready, draws a "1" on its pad
 * with pointer events and notes the times in globalThis.__cold (ready,
 * result, painted); at the end it navigates to #painted (an event of the
 * Page domain, the one the test has enabled). */
export function coldProbe() {
  const mark = (k) => { globalThis.__cold[k] = performance.now(); };
  globalThis.__cold = {};
  const draw = (el) => {
    const pad = el.shadowRoot.querySelector('[part=pad]'), r = pad.getBoundingClientRect();
    const at = (x, y) => ({ clientX: r.left + x * r.width, clientY: r.top + y * r.height, button: 0,
      buttons: 1, pointerId: 1, pointerType: 'mouse', isPrimary: true, bubbles: true, cancelable: true });
    el.addEventListener('result', () => {
      mark('result');
      requestAnimationFrame(() => {
        mark('painted');
        location.hash = 'painted';
      });
    }, { once: true });
    pad.dispatchEvent(new PointerEvent('pointerdown', at(0.52, 0.14)));
    for (let i = 1; i <= 8; i++) pad.dispatchEvent(new PointerEvent('pointermove', at(0.52 - 0.04 * i / 8, 0.14 + 0.72 * i / 8)));
    pad.dispatchEvent(new PointerEvent('pointerup', at(0.48, 0.86)));
  };
  const watch = () => {
    const el = document.querySelector('digit-lens'), card = el?.shadowRoot?.querySelector('.card');
    if (!card) return false;
    const ready = () => {
      if (card.dataset.state === 'loading') return false;
      mark('ready');
      globalThis.__cold.state = card.dataset.state;
      draw(el);
      return true;
    };
    if (!ready()) {
      const mo = new MutationObserver(() => { if (ready()) mo.disconnect(); });
      mo.observe(card, { attributes: true, attributeFilter: ['data-state'] });
    }
    return true;
  };
  // the element is defined by a module script: check after each task until it is there
  const poll = () => { if (!watch()) setTimeout(poll, 0); };
  poll();
}
