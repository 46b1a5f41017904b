// embed.test.js — <digit-lens> on someone else's page, as the README tells a
// blogger to embed it: one script tag next to the copied files. Served with
// the demo's strict Content-Security-Policy (tools/serve.mjs), in Chromium:
//   - two elements on one page work independently;
//   - the element works inside an iframe, same-origin and cross-origin;
//   - it adds no global name to the host page;
//   - no securitypolicyviolation event, no console error;
//   - no request beyond its own files (the script, the Grad-CAM wasm, the
//     weights; samples.bin when a sample is asked for);
//   - 10,000 classifications in a row keep the wasm memory and the JS heap
//     flat (heap measured after a forced GC, through the DevTools protocol).
// The host pages are made up here (page.route), not files in web/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { WEB, CHROMIUM, CHROMIUM_ARGS, needChromium, serveWeb, drawOn } from './harness.js';

const NEEDS = ['digitlens.wasm', 'digitlens-nosimd.wasm', 'twoconv.safetensors', 'samples.bin',
  'digit-lens.min.js'];
const missing = NEEDS.filter((f) => !fs.existsSync(path.join(WEB, f)));
const skip = needChromium() || (missing.length ? `web/${missing.join(', web/')} not built (make wasm)` : false);

// What the element may fetch: its own files, nothing else (the full wasm only
// when another method is chosen, which these tests do not do).
const OWN = new Set(['digit-lens.min.js', 'digitlens.wasm', 'twoconv.safetensors', 'samples.bin']);

let server, origin, altOrigin, csp, context, tmp;

// A blog post with `n` elements (and the script tag if n > 0); `extra` is
// more HTML (an iframe).
const blog = (n, extra = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>A post about digits</title>
${n ? '<script type="module" src="digit-lens.min.js"></script>' : ''}</head>
<body><article><h1>Reading digits</h1><p>Draw one:</p>
${Array.from({ length: n }, (_, i) => `<digit-lens id="lens${i}" size="200"></digit-lens>`).join('\n')}
${extra}<p>The end.</p></article></body></html>`;

before(async () => {
  if (skip) return;
  ({ server, origin } = await serveWeb());
  // The same server under another host name is another origin.
  altOrigin = origin.replace('127.0.0.1', 'localhost');
  // The host pages get the policy `make demo` serves.
  csp = (await fetch(origin + '/')).headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-embed-'));
  context = await chromium.launchPersistentContext(tmp, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS,
      '--enable-precise-memory-info'],
    viewport: { width: 1000, height: 1400 },
  });
  // Host pages: made-up URLs on the real origins, with the real policy.
  await context.route(/\/(blog|frame|xframe)\.html(\?.*)?$/, (route) => {
    const url = new URL(route.request().url());
    const name = url.pathname.slice(1);
    const body = name === 'blog.html' ? blog(Number(url.searchParams.get('n') || 2))
      : name === 'frame.html' ? blog(0, `<iframe src="blog.html?n=1" width="760" height="900" title="digits"></iframe>`)
      : blog(0, `<iframe src="${origin}/blog.html?n=1" width="760" height="900" title="digits"></iframe>`);
    // (a blog that frames the widget from another origin allows that frame)
    const policy = name === 'xframe.html' ? `${csp}; frame-src ${origin}` : csp;
    return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body,
      headers: { 'Content-Security-Policy': policy, 'X-Content-Type-Options': 'nosniff' } });
  });
  // In every frame, before any page script: the global names there are, and
  // a listener for CSP violations (kept under a symbol: not a global name).
  await context.addInitScript(() => {
    const k = Symbol.for('digitlens-test');
    globalThis[k] = { before: Object.getOwnPropertyNames(globalThis), violations: [] };
    document.addEventListener('securitypolicyviolation', (e) =>
      globalThis[k].violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
});

after(async () => {
  await context?.close();
  server?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(url) {
  const page = await context.newPage();
  const log = { errors: [], requests: [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.errors.push(m.text()); });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('request', (r) => log.requests.push(r.url()));
  await page.goto(url);
  return { page, log };
}

const state = (lens) => lens.evaluate((el) => el.shadowRoot.querySelector('.card').dataset.state);
async function waitState(lens, s) {
  await lens.evaluate((el, s) => new Promise((resolve, reject) => {
    const card = el.shadowRoot.querySelector('.card');
    if (card.dataset.state === s) return resolve();
    const t = setTimeout(() => reject(new Error(`state ${card.dataset.state}, waited for ${s}`)), 15_000);
    new MutationObserver((_, o) => {
      if (card.dataset.state === s) { clearTimeout(t); o.disconnect(); resolve(); }
    }).observe(card, { attributes: true });
  }), s);
}

// A "1" and a "7" drawn with the mouse on an element's pad (page coordinates,
// so this works inside an iframe too).
const ONE = [[[0.52, 0.14], [0.5, 0.5], [0.48, 0.86]]];
const SEVEN = [[[0.26, 0.18], [0.74, 0.18], [0.62, 0.42], [0.46, 0.86]]];
const draw = (page, lens, strokes) => drawOn(page, lens.locator('canvas[part=pad]'), strokes);
const digitShown = (lens) => lens.locator('[part=digit]').textContent();

// Global names the page's scripts added, CSP violations seen, in one frame.
const audit = (frame) => frame.evaluate(() => {
  const t = globalThis[Symbol.for('digitlens-test')];
  const before = new Set(t.before);
  // (window[0], window[1]: the page's iframes, not names a script added)
  return { added: Object.getOwnPropertyNames(globalThis).filter((n) => !before.has(n) && !/^\d+$/.test(n)),
    violations: t.violations, defined: !!customElements.get('digit-lens') };
});

// Every request is the host page itself or one of the element's own files,
// on the host page's origin.
function assertOwnRequests(requests, pages) {
  const other = requests.filter((u) => {
    const url = new URL(u);
    if (pages.some((p) => u.startsWith(p))) return false;
    return !(url.origin === origin && OWN.has(url.pathname.slice(1)));
  });
  assert.deepEqual(other, [], 'no request beyond the host pages and the element\'s own files');
}

describe('<digit-lens> embedded in other pages, under the demo\'s CSP', { skip }, () => {
  test('two elements on one page work independently; no globals, violations or foreign requests', async () => {
    const { page, log } = await open(`${origin}/blog.html?n=2`);
    const a = page.locator('#lens0'), b = page.locator('#lens1');
    await waitState(a, 'idle');
    await waitState(b, 'idle');
    await draw(page, a, ONE);
    await waitState(a, 'ok');
    assert.equal(await digitShown(a), '1');
    assert.equal(await state(b), 'idle', 'drawing on the first leaves the second alone');
    await draw(page, b, SEVEN);
    await waitState(b, 'ok');
    assert.equal(await digitShown(b), '7');
    assert.equal(await digitShown(a), '1', 'the first still shows its own digit');
    // each keeps its own result; a sample on one does not touch the other
    await page.evaluate(() => new Promise((resolve) => {
      const el = document.querySelector('#lens0');
      el.addEventListener('result', () => resolve(), { once: true });
      el.sample();
    }));
    assert.equal(await page.evaluate(() => document.querySelector('#lens1').result.digit), 7);
    const r = await page.evaluate(() => [...document.querySelectorAll('digit-lens')].map((el) =>
      ({ digit: el.result.digit, sum: el.result.probs.reduce((s, p) => s + p, 0), maps: el.result.maps.length })));
    for (const x of r) {
      assert.ok(Math.abs(x.sum - 1) < 1e-4);
      assert.equal(x.maps, 10);
    }

    const { added, violations, defined } = await audit(page.mainFrame());
    assert.ok(defined, 'the element is defined');
    assert.deepEqual(added, [], 'no global name added to the host page');
    assert.deepEqual(violations, [], 'no securitypolicyviolation event');
    assert.deepEqual(log.errors, [], 'no console error or warning');
    assertOwnRequests(log.requests, [`${origin}/blog.html`]);
    assert.ok(log.requests.some((u) => u.endsWith('/samples.bin')), 'samples.bin only once asked for');
    await page.close();
  });

  test('the demo page as `make demo` serves it: no violation, no global, only its own files', async () => {
    const { page, log } = await open(`${origin}/`);
    const a = page.locator('digit-lens').first();
    await waitState(a, 'idle');
    await draw(page, a, SEVEN);
    await waitState(a, 'ok');
    await page.evaluate(() => new Promise((resolve) => {
      const el = document.querySelector('digit-lens');
      el.addEventListener('result', () => resolve(), { once: true });
      el.sample();
    }));
    const { added, violations } = await audit(page.mainFrame());
    assert.deepEqual(added, [], 'no global name added');
    assert.deepEqual(violations, [], 'no securitypolicyviolation event');
    assert.deepEqual(log.errors, [], 'no console error or warning');
    // the page's own stylesheet, icon and script (page.js: the network
    // switch and the compare view), besides the element's files; its
    // element has `teach`, whose panel (teach.js) comes after the drawing
    const other = log.requests.filter((u) => !(u === `${origin}/` || /\/(style\.css|favicon\.(svg|ico)|page\.js|teach\.js)$/.test(u)));
    assertOwnRequests(other, []);
    await page.close();
  });

  test('no request for samples.bin until a sample is asked for', async () => {
    const { page, log } = await open(`${origin}/blog.html?n=1`);
    const a = page.locator('#lens0');
    await waitState(a, 'idle');
    await draw(page, a, SEVEN);
    await waitState(a, 'ok');
    assert.deepEqual(log.requests.filter((u) => /samples\.bin/.test(u)), []);
    assertOwnRequests(log.requests, [`${origin}/blog.html`]);
    await page.close();
  });

  for (const [name, url, inner] of [
    ['a same-origin iframe', () => `${origin}/frame.html`, () => `${origin}/blog.html`],
    ['a cross-origin iframe', () => `${altOrigin}/xframe.html`, () => `${origin}/blog.html`],
  ]) {
    test(`inside ${name}: drawn digits are read; no globals, violations or foreign requests`, async () => {
      const { page, log } = await open(url());
      const frame = page.frameLocator('iframe');
      const a = frame.locator('#lens0');
      await waitState(a, 'idle');
      await draw(page, a, ONE);
      await waitState(a, 'ok');
      assert.equal(await digitShown(a), '1');
      await frame.locator('#lens0 button[data-act=clear]').click();
      await waitState(a, 'idle');
      await draw(page, a, SEVEN);
      await waitState(a, 'ok');
      assert.equal(await digitShown(a), '7');
      const inFrame = page.frames().find((f) => f.url().startsWith(inner()));
      assert.ok(inFrame, 'the iframe loaded');
      for (const f of [page.mainFrame(), inFrame]) {
        const { added, violations } = await audit(f);
        assert.deepEqual(added, [], `no global name added (${f.url()})`);
        assert.deepEqual(violations, [], `no securitypolicyviolation (${f.url()})`);
      }
      assert.deepEqual(log.errors, [], 'no console error or warning');
      assertOwnRequests(log.requests, [url(), inner()]);
      await page.close();
    });
  }

  test('10,000 classifications in a row: wasm memory and JS heap stay flat', async (t) => {
    const { page, log } = await open(`${origin}/blog.html?n=1`);
    const el = page.locator('#lens0');
    await waitState(el, 'idle');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize').value;
    };
    // The module the element uses (the same URL, so the same module
    // instance), driven from the page: digits from the bundled samples.
    const run = (n) => page.evaluate(async (n) => {
      const { load } = await import('./digit-lens.min.js');
      const t = globalThis[Symbol.for('digitlens-test')];
      if (!t.lens) {
        t.lens = await load({ methods: 'gradcam' });
        const b = new Uint8Array(await (await fetch('samples.bin')).arrayBuffer());
        const count = new DataView(b.buffer).getUint32(4, true);
        t.x = Array.from({ length: 50 }, (_, i) =>
          Float32Array.from(b.subarray(8 + count + i * 784, 8 + count + (i + 1) * 784), (v) => v / 255));
        t.buf = t.lens.memory.buffer;
      }
      let sum = 0;
      for (let i = 0; i < n; i++) sum += t.lens.classify(t.x[i % 50]).digit;
      return { bytes: t.lens.memory.buffer.byteLength, same: t.lens.memory.buffer === t.buf, sum };
    }, n);
    const w0 = await run(500); // warm up: compile, JIT, first allocations
    const h0 = await heap();
    const w1 = await run(10_000);
    const h1 = await heap();
    assert.equal(w1.bytes, w0.bytes, 'wasm memory size unchanged');
    assert.ok(w1.same, 'the wasm memory buffer was never replaced (no growth)');
    assert.ok(h1 - h0 < 512 * 1024, `JS heap after GC grew by ${((h1 - h0) / 1024).toFixed(0)} KB over 10,000 classifications`);

    // And through the element: its whole update (classify, explain, eleven
    // heatmaps, canvases), one sample after another.
    const cycle = (n) => page.evaluate(async (n) => {
      const el = document.querySelector('#lens0');
      let events = 0;
      const on = () => { events++; };
      el.addEventListener('result', on);
      for (let i = 0; i < n; i++) await el.sample();
      el.removeEventListener('result', on);
      return events;
    }, n);
    assert.equal(await cycle(100), 100);
    const e0 = await heap();
    assert.equal(await cycle(1_000), 1_000);
    const e1 = await heap();
    assert.ok(e1 - e0 < 512 * 1024, `JS heap after GC grew by ${((e1 - e0) / 1024).toFixed(0)} KB over 1,000 element updates`);
    t.diagnostic(`JS heap after GC: ${h0} -> ${h1} bytes over 10,000 classifications, ` +
      `${e0} -> ${e1} over 1,000 element updates; wasm memory ${w1.bytes} bytes throughout`);
    const { violations } = await audit(page.mainFrame());
    assert.deepEqual(violations, []);
    assert.deepEqual(log.errors, []);
    await page.close();
  });
});
