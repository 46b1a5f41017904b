// page.test.js — the demo page in Debian's Chromium, served as `make demo`
// serves it (tools/serve.mjs, strict CSP): digits drawn with real pointer
// events on canvas[part=pad] are read, the heatmap lies on the strokes, no
// console error and no request beyond the page's origin; the page downloads
// the bundle, the Grad-CAM-only wasm and the weights, and the full wasm only
// when another method is chosen (whose maps are then the full module's);
// bad input gets a clear message. Screenshots land in build/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, serveWeb, drawOn } from './harness.js';

const BUILD = path.join(ROOT, 'build');
const NEEDS = ['digitlens.wasm', 'digitlens-nosimd.wasm', 'digitlens-full.wasm', 'seednet.safetensors',
  'samples.bin', 'digit-lens.min.js'];
const missing = NEEDS.filter((f) => !fs.existsSync(path.join(WEB, f)));
const skip = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not installed (make setup)`
  : missing.length ? `web/${missing.join(', web/')} not built (make wasm)` : false;

// Strokes in pad units (0..1), each a list of points.
const DIGITS = {
  1: [[[0.52, 0.14], [0.5, 0.5], [0.48, 0.86]]],
  7: [[[0.26, 0.18], [0.74, 0.18], [0.62, 0.42], [0.46, 0.86]]],
  0: [Array.from({ length: 41 }, (_, i) => {
    const t = (i / 40) * 2 * Math.PI;
    return [0.5 + 0.22 * Math.sin(t), 0.5 - 0.33 * Math.cos(t)];
  })],
};
// The same digits small, in corners: the heatmap must follow them there
// (it is computed in the 28x28 frame that preprocessing makes).
const shrink = (strokes, x0, y0) => strokes.map((s) => s.map(([x, y]) => [x0 + 0.4 * x, y0 + 0.4 * y]));
const DRAWN = [['1', DIGITS[1]], ['7', DIGITS[7]], ['0', DIGITS[0]],
  ['0', shrink(DIGITS[0], 0.06, 0.06)], ['1', shrink(DIGITS[1], 0.55, 0.55)], ['7', shrink(DIGITS[7], 0.5, 0.08)]];
// Zigzags from edge to edge, closer than the stroke width: ink everywhere.
// (The pad's corners are rounded off: start inside them.)
const SCRIBBLE = [Array.from({ length: 34 }, (_, i) => [i % 2 ? 0.97 : 0.04, 0.03 + 0.94 * (i / 33)])];

let server, origin, context, tmp;

before(async () => {
  if (skip) return;
  ({ server, origin } = await serveWeb());
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-chromium-'));
  context = await chromium.launchPersistentContext(tmp, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 900, height: 1000 },
  });
});

after(async () => {
  await context?.close();
  server?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// A page that records console errors, page errors and every request.
async function open(url = '/', setup, waitUntil = 'load') {
  const page = await context.newPage();
  const log = { errors: [], warnings: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
    if (m.type() === 'warning') log.warnings.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('request', (r) => log.requests.push(r.url()));
  if (setup) await setup(page);
  await page.goto(origin + url, { waitUntil });
  return { page, log };
}

const pad = (page) => page.locator('digit-lens canvas[part=pad]').first();
const text = (page, part) => page.locator(`digit-lens [part=${part}]`).first().textContent();

async function waitState(page, state) {
  await page.waitForFunction((s) => document.querySelector('digit-lens')
    .shadowRoot.querySelector('.card').dataset.state === s, state, { timeout: 15_000 });
}

// Draw with the mouse: real pointerdown/move/up on the pad's screen box.
const draw = (page, strokes) => drawOn(page, pad(page), strokes);

// Record the `result` events of the element on the element itself.
const recordResults = (page) => page.evaluate(() => {
  const el = document.querySelector('digit-lens');
  el.seen = [];
  el.addEventListener('result', (e) => el.seen.push(e.detail.digit));
});

// Heat overlay alpha on and near the strokes (within 1/14 of the pad, about
// two input pixels: a first-layer Grad-CAM lights the edges of a stroke as
// much as its middle) vs far from them (more than 1/5 of the pad away).
const heatStats = (page) => page.evaluate(() => {
  const root = document.querySelector('digit-lens').shadowRoot;
  const padC = root.querySelector('[part=pad]'), heatC = root.querySelector('[part=heat]');
  const n = heatC.width, s = padC.width / n, near = Math.round(n / 14), R = Math.round(n / 5);
  const p = padC.getContext('2d').getImageData(0, 0, padC.width, padC.height).data;
  const h = heatC.getContext('2d').getImageData(0, 0, n, n).data;
  const ink = new Uint8Array(n * n), sum = new Int32Array((n + 1) * (n + 1));
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) ink[y * n + x] = p[4 * (Math.floor(y * s) * padC.width + Math.floor(x * s))] > 128;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++)
      sum[(y + 1) * (n + 1) + x + 1] = ink[y * n + x] + sum[y * (n + 1) + x + 1] + sum[(y + 1) * (n + 1) + x] - sum[y * (n + 1) + x];
  const box = (x0, y0, x1, y1) => sum[y1 * (n + 1) + x1] - sum[y0 * (n + 1) + x1] - sum[y1 * (n + 1) + x0] + sum[y0 * (n + 1) + x0];
  let on = 0, nOn = 0, far = 0, nFar = 0, max = 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const a = h[4 * (y * n + x) + 3];
      max = Math.max(max, a);
      if (box(Math.max(0, x - near), Math.max(0, y - near), Math.min(n, x + near + 1), Math.min(n, y + near + 1))) { on += a; nOn++; }
      else if (!box(Math.max(0, x - R), Math.max(0, y - R), Math.min(n, x + R + 1), Math.min(n, y + R + 1))) { far += a; nFar++; }
    }
  return { on: on / nOn, far: far / nFar, max, nOn, nFar };
});

describe('the demo page in Chromium', { skip }, () => {
  test('drawn digits are read, the heatmap sits on the strokes, nothing leaves the origin', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    assert.match(await text(page, 'message'), /Draw a digit/);
    await recordResults(page);
    const lit = [];
    for (const [digit, strokes] of DRAWN) {
      await page.locator('digit-lens button[data-act=clear]').click();
      await draw(page, strokes);
      await waitState(page, 'ok');
      assert.equal(await text(page, 'digit'), digit, `the page shows ${digit}`);
      const { result, seen } = await page.evaluate(() => {
        const el = document.querySelector('digit-lens');
        return { result: { digit: el.result.digit, probs: [...el.result.probs],
          mapMax: Math.max(...el.result.maps[el.result.digit]) }, seen: el.seen.splice(0) };
      });
      assert.equal(result.digit, Number(digit), 'the result property');
      assert.equal(seen.at(-1), Number(digit), `the last result event carries ${digit} (events: ${seen})`);
      assert.ok(result.probs.every(Number.isFinite) && Math.abs(result.probs.reduce((a, b) => a + b) - 1) < 1e-4);
      const heat = await heatStats(page);
      if (result.mapMax > 0) {
        lit.push(digit);
        assert.ok(heat.max > 100, `${digit}: heatmap not blank (max alpha ${heat.max})`);
        assert.ok(heat.on > 2 * heat.far + 5,
          `${digit}: heat on/near strokes ${heat.on.toFixed(1)} > 2x far from them ${heat.far.toFixed(1)}`);
      } else {
        assert.equal(heat.max, 0, `${digit}: an all-zero map shows no heat`);
        assert.match(await page.locator('digit-lens .sub').textContent(), /no positive/);
      }
      if (strokes === DIGITS[7]) await page.screenshot({ path: path.join(BUILD, 'page-7.png'), fullPage: true });
    }
    assert.ok(lit.length >= 3, `most drawn digits have a Grad-CAM map that is not all zero (${lit})`);

    // any class on demand: the bar of 3 shows the map of 3
    await page.locator('digit-lens .bar[data-cls="3"]').click();
    assert.match(await page.locator('digit-lens .sub').textContent(), /why 3/);
    assert.equal(await page.locator('digit-lens .bar[data-cls="3"]').getAttribute('aria-checked'), 'true');

    // a sample digit from the bundled set
    await page.locator('digit-lens button[data-act=sample]').click();
    await page.waitForFunction(() => /sample labelled/.test(
      document.querySelector('digit-lens').shadowRoot.querySelector('.sub').textContent));
    await page.locator('digit-lens').first().screenshot({ path: path.join(BUILD, 'element-sample.png') });

    assert.deepEqual(log.errors, [], 'no console errors (CSP violations included)');
    const foreign = log.requests.filter((u) => !u.startsWith(origin + '/'));
    assert.deepEqual(foreign, [], 'no request to another origin');
    assert.ok(log.requests.some((u) => u.endsWith('.wasm')), 'the wasm was fetched');
    await page.close();
  });

  test('the page downloads the bundle, the Grad-CAM wasm and the weights, all preloaded ones used', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    // Chromium warns 3 s after the load event about a preload nobody used
    await page.waitForFunction(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return nav.loadEventEnd > 0 && performance.now() > nav.loadEventEnd + 3300;
    }, null, { timeout: 15_000, polling: 100 });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
    const files = log.requests.map((u) => new URL(u).pathname).filter((p) => p !== '/favicon.svg');
    assert.deepEqual(files.sort(), ['/', '/digit-lens.min.js', '/digitlens.wasm', '/seednet.safetensors', '/style.css'],
      'one script, the small wasm, the weights, the style sheet; each once');
    assert.deepEqual(log.warnings, [], 'no console warning (a preload that does not match its fetch is one)');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('while the model loads the page waits 0.4 s, then only the pad is laid out; the rest comes after, in boxes kept for it', async () => {
    // the weights held back 1.5 s: a slow network
    const { page, log } = await open('/', (p) => p.route('**/seednet.safetensors', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    }), 'commit');
    const look = () => page.evaluate(() => {
      const el = document.querySelector('digit-lens'), root = el.shadowRoot, card = root.querySelector('.card');
      const h = (s) => root.querySelector(s).getBoundingClientRect().height;
      return { state: card.dataset.state, fresh: 'fresh' in card.dataset, starting: el.matches(':state(starting)'),
        page: getComputedStyle(document.querySelector('main')).contentVisibility, t: performance.now(),
        card: h('.card'), heights: ['.tools', '.bars', '.stripbox'].map(h),
        parts: ['.tools', '.bars', '.stripbox'].map((s) => getComputedStyle(root.querySelector(s)).contentVisibility),
        message: root.querySelector('[part=message]').textContent };
    });
    await page.waitForFunction(() => document.querySelector('digit-lens')?.shadowRoot?.querySelector('.card'));
    const first = await look();
    assert.ok(first.t < 350, `looked too late (${first.t.toFixed(0)} ms): the machine is overloaded`);
    assert.equal(first.state, 'loading');
    assert.ok(first.starting, 'the element is :state(starting)');
    assert.equal(first.page, 'hidden', 'the page is not painted before the model is ready');
    await page.waitForFunction(() => performance.now() > 900); // 0.4 s after the first style
    const before = await look();
    assert.equal(before.state, 'loading', 'the weights are still held back');
    assert.equal(before.page, 'visible', 'after 0.4 s the page shows, the model loading');
    assert.ok(before.fresh, 'the card starts fresh');
    assert.deepEqual(before.parts, ['hidden', 'hidden', 'hidden'], 'tools, bars and strip not laid out yet');
    assert.match(before.message, /Loading the model/);
    await waitState(page, 'idle');
    await page.waitForFunction(() => !('fresh' in document.querySelector('digit-lens').shadowRoot.querySelector('.card').dataset));
    const after = await look();
    assert.equal(after.starting, false);
    assert.equal(after.page, 'visible');
    assert.deepEqual(after.parts, ['visible', 'visible', 'visible']);
    assert.ok(await page.locator('digit-lens button[data-act=sample]').isVisible(), 'the tools are shown');
    // (at this width and with Debian's fonts; elsewhere a few pixels may differ)
    after.heights.forEach((hgt, i) => assert.ok(Math.abs(hgt - before.heights[i]) <= 4,
      `part ${i} keeps its height when laid out (${before.heights[i].toFixed(1)} -> ${hgt.toFixed(1)} px)`));
    assert.ok(Math.abs(after.card - before.card) <= 4,
      `the card keeps its height (${before.card.toFixed(1)} -> ${after.card.toFixed(1)} px)`);
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('a model that cannot load ends the wait at once: the page shows the error', async () => {
    const { page } = await open('/', (p) => p.route('**/seednet.safetensors', (route) => route.fulfill({ status: 500 })));
    await waitState(page, 'error');
    const t = await page.evaluate(() => ({ now: performance.now(), page: getComputedStyle(document.querySelector('main')).contentVisibility,
      starting: document.querySelector('digit-lens').matches(':state(starting)') }));
    assert.equal(t.starting, false);
    assert.equal(t.page, 'visible', `the error is shown at ${t.now.toFixed(0)} ms`);
    assert.match(await text(page, 'message'), /Could not load the model\. weights: .*seednet\.safetensors answered HTTP 500/);
    await page.close();
  });

  test('choosing gradcam++ loads the full wasm once and shows its maps', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    await recordResults(page);
    const full = () => log.requests.filter((u) => u.endsWith('/digitlens-full.wasm')).length;
    assert.equal(full(), 0, 'not before another method is chosen');
    await page.locator('digit-lens select[part=method]').selectOption('gradcam++');
    await page.waitForFunction(() => document.querySelector('digit-lens').seen.length > 0, null, { timeout: 15_000 });
    await waitState(page, 'ok');
    assert.equal(full(), 1, 'digitlens-full.wasm fetched once');
    assert.equal(await text(page, 'digit'), '7');
    // The element's maps are what the full module computes for the image it saw.
    const cmp = await page.evaluate(async () => {
      const el = document.querySelector('digit-lens');
      const { load } = await import('./digit-lens.min.js');
      const lens = await load();
      const want = lens.explain(el.result.input, { method: 'gradcam++' });
      let diff = 0, max = 0;
      for (let c = 0; c < 10; c++)
        for (let i = 0; i < 576; i++) {
          diff = Math.max(diff, Math.abs(el.result.maps[c][i] - want.maps[c][i]));
          max = Math.max(max, want.maps[c][i]);
        }
      return { diff, max, digit: want.digit, seen: el.seen.splice(0) };
    });
    assert.equal(cmp.digit, 7);
    assert.deepEqual(cmp.seen, [7], 'one result event for the method change');
    assert.equal(cmp.diff, 0, 'the gradcam++ maps equal the full module\'s');
    assert.ok(cmp.max > 0, 'and are not all zero');
    const heat = await heatStats(page);
    assert.ok(heat.max > 100 && heat.on > 2 * heat.far + 5, `gradcam++ heat on the strokes (${JSON.stringify(heat)})`);
    // back to Grad-CAM, then another method: no new download
    await page.locator('digit-lens select[part=method]').selectOption('gradcam');
    await page.locator('digit-lens select[part=method]').selectOption('scorecam');
    await waitState(page, 'ok');
    assert.equal(full(), 1, 'the full module is kept');
    assert.equal(await text(page, 'digit'), '7');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('the bundle exports the API of digitlens.js and the element', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    const api = await page.evaluate(async () => {
      const a = await import('./digitlens.js'), b = await import('./digit-lens.min.js');
      const shape = (m) => Object.keys(m).sort().map((k) => `${k}:${typeof m[k]}`);
      return { loader: shape(a), bundle: shape(b), methods: [a.METHODS, b.METHODS],
        element: b.DigitLens === customElements.get('digit-lens'),
        err: new b.DigitLensError('x', 'ARG') instanceof Error };
    });
    assert.deepEqual(api.bundle, [...api.loader, 'DigitLens:function'].sort());
    assert.deepEqual(api.methods[0], api.methods[1]);
    assert.ok(api.element, 'DigitLens is the registered <digit-lens>');
    assert.ok(api.err);
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('undo removes the last stroke; clear empties the pad', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, DIGITS[1]);
    await waitState(page, 'ok');
    await draw(page, [[[0.1, 0.9], [0.9, 0.9]]]);
    await page.locator('digit-lens button[data-act=undo]').click();
    assert.equal(await text(page, 'digit'), '1');
    await page.locator('digit-lens button[data-act=undo]').click();
    await waitState(page, 'idle');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  describe('bad input gets a clear message, never NaN or an empty chart', () => {
    test('an empty pad', async () => {
      const { page } = await open('/');
      await waitState(page, 'idle');
      assert.match(await text(page, 'message'), /Draw a digit/);
      assert.equal(await text(page, 'digit'), '–');
      const err = await page.evaluate(async () => {
        const { load } = await import('./digit-lens.min.js');
        const lens = await load({ methods: 'gradcam' });
        try { lens.preprocess(new ImageData(100, 100)); } catch (e) { return `${e.name} ${e.code}: ${e.message}`; }
      });
      assert.match(err, /DigitLensError NO_INK: preprocess: no digit: the image is blank/);
      await page.close();
    });

    test('a scribble over the whole pad', async () => {
      const { page, log } = await open('/');
      await waitState(page, 'idle');
      await draw(page, SCRIBBLE);
      await waitState(page, 'error');
      assert.match(await text(page, 'message'), /covers most of the pad/);
      await page.screenshot({ path: path.join(BUILD, 'page-scribble.png') });
      assert.deepEqual(log.errors, []);
      await page.close();
    });

    // (the element keeps the model it had, and says what went wrong under the pad)
    const weights = async (page, url) => {
      await waitState(page, 'idle');
      await page.evaluate((u) => document.querySelector('digit-lens').setAttribute('weights', u), url);
      await page.waitForFunction(() => document.querySelector('digit-lens').shadowRoot.querySelector('[part=note]').textContent);
      return text(page, 'note');
    };

    test('a weights URL that 404s', async () => {
      const { page } = await open('/');
      assert.match(await weights(page, 'no-such-weights.safetensors'),
        /Could not load the model\. weights: .*no-such-weights\.safetensors answered HTTP 404/);
      await draw(page, DIGITS[7]);
      await waitState(page, 'ok');
      assert.equal(await text(page, 'digit'), '7', 'the model it had still reads');
      await page.close();
    });

    test('a weights URL that returns HTML', async () => {
      const { page } = await open('/');
      assert.match(await weights(page, 'index.html'), /index\.html is an HTML page, not a weights file/);
      await page.close();
    });

    test('weights with the wrong shapes', async () => {
      const { page } = await open('/', (p) => p.route('**/wrong-shapes.safetensors', (route) => {
        const json = JSON.stringify({ 'conv.weight': { dtype: 'F32', shape: [12, 1, 3, 3], data_offsets: [0, 432] },
          'conv.bias': { dtype: 'F32', shape: [12], data_offsets: [432, 480] } }).padEnd(184, ' ');
        const body = Buffer.alloc(8 + json.length + 480);
        body.writeBigUInt64LE(BigInt(json.length), 0);
        body.write(json, 8, 'latin1');
        return route.fulfill({ status: 200, contentType: 'application/octet-stream', body });
      }));
      assert.match(await weights(page, 'wrong-shapes.safetensors'), /Could not load the model\. weights: .*shape/i);
      await page.close();
    });

    test('a browser without WebAssembly', async () => {
      const { page } = await open('/', (p) => p.addInitScript(() => { delete globalThis.WebAssembly; }));
      await waitState(page, 'error');
      assert.match(await text(page, 'message'), /cannot run WebAssembly/);
      await page.close();
    });
  });
});
