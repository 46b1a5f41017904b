// blog.test.js — <digit-lens> embedded as a blog author embeds it, following
// only the README: tests/browser/blog/post.html (two elements, the script at
// the end of the body, fallback text inside each) with the blog's hostile
// style sheet (blog.css: `* { box-sizing: content-box }`, `canvas
// { max-width: 100% }`, purple uppercase buttons, an 18 px body, a 640 px
// column, and the README's box reservation), in a folder under a sub-path
// next to exactly the files of the README's copy list, served by
// tools/serve.mjs (strict CSP). In Chromium: a desktop, 320 and 390 px
// phones with touch, a light blog on a dark OS, the keyboard alone with
// the accessibility tree read through the DevTools protocol, bad attribute
// values, a missing samples file, the script held back 1.5 s (layout shift),
// and the page opened from disk (file://) with digit-lens.one.js.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, serveWeb, drawOn } from './harness.js';

const BLOG = path.join(ROOT, 'tests', 'browser', 'blog');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
// The files the README tells an author to copy next to the page: the
// backquoted names of its paragraph "copy these files from `web/`".
const COPY = README.match(/copy these files from `web\/`[^]*?\n\n/)?.[0].match(/`[^`/]+\.[a-z]+`/g)
  ?.map((s) => s.slice(1, -1)) ?? [];
const missing = COPY.filter((f) => !fs.existsSync(path.join(WEB, f)));
const skip = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not installed (make setup)`
  : !fs.existsSync(path.join(WEB, 'digit-lens.one.js')) || missing.length ? 'web/ not built (make wasm)' : false;
const WEIGHTS = COPY.find((f) => f.endsWith('.safetensors'));
const POST = '/posts/2026/digits/post.html'; // a blog under a sub-path

const SEVEN = [[[0.26, 0.18], [0.74, 0.18], [0.62, 0.42], [0.46, 0.86]]];
const ONE = [[[0.52, 0.14], [0.5, 0.5], [0.48, 0.86]]];

let server, origin, browser, site;

before(async () => {
  if (skip) return;
  site = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-blog-'));
  const dir = path.join(site, path.dirname(POST));
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(BLOG)) fs.copyFileSync(path.join(BLOG, f), path.join(dir, f));
  for (const f of COPY) fs.copyFileSync(path.join(WEB, f), path.join(dir, f));
  ({ server, origin } = await serveWeb(site));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (site) fs.rmSync(site, { recursive: true, force: true });
});

const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = (width, height) => ({ viewport: { width, height }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });

// A page in a fresh context: console errors and page errors, every request
// and every answer of 400 or more, the `error` events of each element
// (listened to before the element is defined).
async function open(url, options = DESKTOP, setup, waitUntil = 'load') {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const log = { errors: [], requests: [], failed: [] };
  page.on('console', (m) => { if (m.type() === 'error') log.errors.push(m.text()); });
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('request', (r) => log.requests.push(new URL(r.url()).pathname));
  page.on('response', (r) => { if (r.status() >= 400) log.failed.push(`${r.status()} ${r.url()}`); });
  await page.addInitScript(() => {
    globalThis.lensErrors = [];
    document.addEventListener('DOMContentLoaded', () => {
      for (const el of document.querySelectorAll('digit-lens'))
        el.addEventListener('error', (e) => globalThis.lensErrors.push(
          { id: el.id, name: e.error?.name, code: e.error?.code, message: e.error?.message }));
    });
  });
  if (setup) await setup(page);
  await page.goto(url, { waitUntil });
  return { page, log, close: () => context.close() };
}

const part = (page, id, sel) => page.locator(`#${id}`).locator(sel);
async function draw(page, id, strokes) {
  const pad = part(page, id, '[part=pad]');
  await pad.scrollIntoViewIfNeeded();
  await drawOn(page, pad, strokes);
}
const text = (page, id, sel) => part(page, id, sel).textContent();
async function waitState(page, id, state) {
  await page.waitForFunction(([id, s]) => document.getElementById(id)?.shadowRoot
    ?.querySelector('.card').dataset.state === s, [id, state], { timeout: 15_000 });
}
// The next `result` event of element id after fn() ran (a sample, a key).
async function nextResult(page, id, fn) {
  const got = page.evaluate((id) => new Promise((r) =>
    document.getElementById(id).addEventListener('result', (e) => r(e.detail.digit), { once: true })), id);
  await fn();
  return got;
}

// Boxes in the viewport (CSS px) of the parts of element id.
const boxes = (page, id) => page.evaluate((id) => {
  const el = document.getElementById(id), root = el.shadowRoot;
  const b = (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, right: r.right, bottom: r.bottom, w: r.width, h: r.height }; };
  return { host: b(el), card: b(root.querySelector('.card')), pad: b(root.querySelector('[part=pad]')),
    digit: b(root.querySelector('[part=digit]')), bars: b(root.querySelector('.bars')),
    column: (() => { const c = el.parentElement, r = c.getBoundingClientRect(), p = getComputedStyle(c);
      return { x: r.x + parseFloat(p.paddingLeft), right: r.right - parseFloat(p.paddingRight), w: c.clientWidth - parseFloat(p.paddingLeft) - parseFloat(p.paddingRight) }; })(), stack: root.querySelector('.card').hasAttribute('data-stack'),
    padPixels: root.querySelector('[part=pad]').width, vw: innerWidth, vh: innerHeight,
    scrollWidth: document.documentElement.scrollWidth };
}, id);

// Draw with a finger: touch events through the DevTools protocol.
async function touchDraw(page, pad, strokes) {
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const at = ([x, y]) => ({ x: box.x + x * box.width, y: box.y + y * box.height });
  for (const s of strokes) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(s[0])] });
    for (let i = 1; i < s.length; i++)
      for (let k = 1; k <= 6; k++)
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(
          [s[i - 1][0] + (s[i][0] - s[i - 1][0]) * k / 6, s[i - 1][1] + (s[i][1] - s[i - 1][1]) * k / 6])] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
  await cdp.detach();
}

describe('<digit-lens> on a blog post, as the README tells an author to embed it', { skip }, () => {
  test('desktop: the copied files are all it needs, each fetched once for two elements; the blog\'s CSS stays out', async () => {
    assert.ok(COPY.length >= 4 && WEIGHTS, `the README's copy list (${COPY})`);
    const { page, log, close } = await open(origin + POST);
    await waitState(page, 'first', 'idle');
    await waitState(page, 'second', 'idle');
    // before a result: a light placeholder, not a dark bar; a margin around the card
    const idle = await page.evaluate(() => {
      const el = document.getElementById('first'), d = getComputedStyle(el.shadowRoot.querySelector('[part=digit]'));
      return { text: el.shadowRoot.querySelector('[part=digit]').textContent, color: d.color, weight: d.fontWeight,
        margin: getComputedStyle(el).marginTop };
    });
    assert.deepEqual(idle, { text: '–', color: 'rgb(228, 231, 236)', weight: '400', margin: '16px' });
    await draw(page, 'first', SEVEN);
    await waitState(page, 'first', 'ok');
    assert.equal(await text(page, 'first', '[part=digit]'), '7');
    // the widest percentage there can be, bold in the top bar, fits its column
    const fit = await page.evaluate(() => {
      const pct = document.getElementById('first').shadowRoot.querySelector('.top .pct');
      pct.textContent = '100.0%';
      return [pct.scrollWidth, pct.clientWidth, getComputedStyle(pct).fontWeight];
    });
    assert.ok(fit[0] <= fit[1] && fit[2] === '600', `"100.0%" in bold: ${fit[0]} px in a ${fit[1]} px column`);
    await draw(page, 'second', ONE);
    await waitState(page, 'second', 'ok');
    assert.equal(await text(page, 'second', '[part=digit]'), '1');
    assert.equal(await text(page, 'first', '[part=digit]'), '7', 'each element keeps its own result');
    // a sample: the README's copy list has the samples file
    const d = await nextResult(page, 'first', () => part(page, 'first', 'button[data-act=sample]').click());
    assert.ok(d >= 0 && d <= 9);
    assert.match(await text(page, 'first', '.sub'), /sample labelled \d/);
    const count = (f) => log.requests.filter((p) => p === path.dirname(POST) + '/' + f).length;
    for (const f of ['digit-lens.min.js', 'digitlens.wasm', WEIGHTS, 'samples.bin'])
      assert.equal(count(f), 1, `${f} fetched once for two elements (${count(f)})`);
    assert.deepEqual(log.failed, [], 'no request fails');

    // The blog's rules do not reach inside: buttons, canvases, fonts.
    const look = await page.evaluate(() => {
      const root = document.getElementById('first').shadowRoot, cs = (s) => getComputedStyle(root.querySelector(s));
      const pad = root.querySelector('[part=pad]');
      return { transform: cs('[data-act=clear]').textTransform, bg: cs('[data-act=clear]').backgroundColor,
        font: cs('.card').fontSize, sizing: cs('.stage').boxSizing, padCss: pad.getBoundingClientRect().width,
        stage: root.querySelector('.stage').getBoundingClientRect().width, blogButton: getComputedStyle(document.querySelector('header button')).textTransform };
    });
    assert.equal(look.blogButton, 'uppercase', 'the blog\'s own buttons are uppercase');
    assert.equal(look.transform, 'none');
    assert.notEqual(look.bg, 'rgb(123, 44, 191)', 'not the blog\'s purple');
    assert.equal(look.font, '14px', 'the element\'s font, not the blog\'s 18 px');
    assert.equal(look.sizing, 'border-box');
    assert.equal(look.padCss, look.stage, 'the pad fills its square');
    // In the 640 px column: the info beside the pad, the card inside the column.
    const b = await boxes(page, 'first');
    assert.equal(b.column.w, 640);
    assert.equal(b.stack, false);
    assert.ok(b.bars.x >= b.pad.right, 'the bars beside the pad');
    assert.ok(b.card.right <= b.column.right + 0.5 && b.card.x >= b.column.x - 0.5, `the card within the column (${b.card.x}..${b.card.right})`);
    assert.equal(b.pad.w, 364, 'no size: the pad takes what the 640 px column leaves beside the info');
    assert.ok(b.scrollWidth <= b.vw);
    // the column changes: the element lays itself out again
    await page.evaluate(() => { document.querySelector('article').style.maxWidth = '420px'; });
    await page.waitForFunction(() => document.getElementById('first').shadowRoot.querySelector('.card').hasAttribute('data-stack'));
    const n = await boxes(page, 'first');
    assert.equal(n.pad.w, 420 - 38, 'stacked, the pad as wide as the card allows');
    assert.ok(n.card.right <= n.column.right + 0.5);
    // a size wider than the column: shrunk to fit, not overflowing
    await page.evaluate(() => document.getElementById('second').setAttribute('size', '500'));
    await page.waitForFunction(() => document.getElementById('second').shadowRoot.querySelector('.stage').getBoundingClientRect().width === 382);
    const s2 = await boxes(page, 'second');
    assert.ok(s2.card.right <= s2.column.right + 0.5 && s2.stack, 'size="500" in a 420 px column: stacked, a 382 px pad');
    assert.equal(await text(page, 'second', '[part=note]'), '', 'a size that does not fit is no error');
    assert.equal(await text(page, 'first', '[part=digit]'), String(d), 'the result stays');
    assert.deepEqual(log.errors, []);
    assert.deepEqual(await page.evaluate(() => globalThis.lensErrors), []);
    await close();
  });

  for (const [width, height] of [[320, 568], [390, 844]]) {
    test(`a ${width} px phone with touch: no sideways scroll, stacked, drawn with a finger`, async () => {
      const { page, log, close } = await open(origin + POST, PHONE(width, height));
      await waitState(page, 'first', 'idle');
      const b = await boxes(page, 'first');
      assert.equal(b.vw, width);
      assert.ok(b.scrollWidth <= width, `no horizontal scroll (${b.scrollWidth} px wide)`);
      assert.ok(b.card.right <= b.column.right + 0.5, `the card (${b.card.w} px) fits the ${b.column.w} px column`);
      assert.ok(b.stack, 'stacked');
      assert.ok(b.pad.w >= 240 && b.pad.w === b.column.w - 38, `pad ${b.pad.w} px`);
      assert.equal(b.padPixels, Math.round(b.pad.w * 3), 'the pad is drawn at the device\'s pixels');
      const second = await boxes(page, 'second');
      assert.ok(second.card.right <= second.column.right + 0.5, 'size="240" fits too');
      await touchDraw(page, part(page, 'first', '[part=pad]'), SEVEN);
      await waitState(page, 'first', 'ok');
      assert.equal(await text(page, 'first', '[part=digit]'), '7');
      if (height >= 800) {
        // the pad, the prediction and the bars on one screen
        await page.evaluate(() => document.getElementById('first').scrollIntoView({ block: 'start' }));
        const s = await boxes(page, 'first');
        assert.ok(s.pad.y >= 0 && s.digit.bottom <= s.vh && s.bars.bottom <= s.vh,
          `pad from ${s.pad.y}, digit to ${s.digit.bottom}, bars to ${s.bars.bottom}, in ${s.vh} px`);
        assert.ok(s.bars.y >= s.pad.bottom, 'the bars under the pad');
      }
      assert.deepEqual(log.errors, []);
      await close();
    });
  }

  test('a light blog on a dark OS: a light card; theme, custom properties and parts from the page', async () => {
    const { page, close } = await open(origin + POST, { ...DESKTOP, colorScheme: 'dark' });
    await waitState(page, 'first', 'idle');
    const bg = () => page.evaluate(() => getComputedStyle(document.getElementById('first').shadowRoot.querySelector('.card')).backgroundColor);
    assert.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true);
    assert.equal(await bg(), 'rgb(255, 255, 255)', 'auto: the page is light (no color-scheme), so is the card');
    await page.evaluate(() => document.getElementById('first').setAttribute('theme', 'dark'));
    assert.equal(await bg(), 'rgb(21, 24, 33)', 'theme="dark"');
    await page.evaluate(() => { document.getElementById('first').setAttribute('theme', 'auto'); document.documentElement.style.colorScheme = 'light dark'; });
    assert.equal(await bg(), 'rgb(21, 24, 33)', 'auto on a page that says color-scheme: light dark, on a dark OS');
    await page.evaluate(() => document.getElementById('first').setAttribute('theme', 'light'));
    assert.equal(await bg(), 'rgb(255, 255, 255)', 'theme="light"');
    // The README's custom properties and parts, set by the page.
    await page.evaluate(() => { // (the page's CSP allows no inline style; a constructed sheet is the page's own)
      const s = new CSSStyleSheet();
      s.replaceSync(`#first { --card: rgb(250, 240, 220); --accent: rgb(0, 120, 90); --fg: rgb(40, 30, 20); }
        #first::part(digit) { color: rgb(200, 0, 0); }`);
      document.adoptedStyleSheets = [s];
    });
    await draw(page, 'first', SEVEN);
    await waitState(page, 'first', 'ok');
    const c = await page.evaluate(() => {
      const root = document.getElementById('first').shadowRoot, cs = (s) => getComputedStyle(root.querySelector(s));
      return { card: cs('.card').backgroundColor, fill: cs('.top .fill').backgroundColor, fg: cs('.sub b').color, digit: cs('[part=digit]').color };
    });
    assert.deepEqual(c, { card: 'rgb(250, 240, 220)', fill: 'rgb(0, 120, 90)', fg: 'rgb(40, 30, 20)', digit: 'rgb(200, 0, 0)' });
    await close();
  });

  test('keyboard alone: one Tab stop per group, arrow keys, keys 0-9 on the pad; names and roles in the accessibility tree', async () => {
    const { page, log, close } = await open(origin + POST);
    await waitState(page, 'first', 'idle');
    // Tab from the blog's own button through the first element
    const stops = async () => {
      await page.locator('header button').focus();
      const seen = [];
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press('Tab');
        const s = await page.evaluate(() => {
          const a = document.activeElement;
          if (a?.id !== 'first') return null;
          const f = a.shadowRoot.activeElement;
          return f.getAttribute('part') || f.dataset.act || (f.dataset.cls ? f.className.split(' ')[0] + f.dataset.cls : f.type);
        });
        if (!s) break;
        seen.push(s);
      }
      return seen;
    };
    assert.deepEqual(await stops(), ['pad', 'clear', 'sample', 'method'],
      'before any result: nothing that cannot be used (no bars, no tiles, no undo, no opacity)');
    // the pad: a key 0-9 loads a test digit of that class
    await page.evaluate(() => { const r = document.getElementById('first').shadowRoot.querySelector('.sr');
      globalThis.said = []; new MutationObserver(() => globalThis.said.push(r.textContent)).observe(r, { childList: true, characterData: true, subtree: true }); });
    await page.locator('header button').focus();
    await page.keyboard.press('Tab');
    // (the sample is random; one of the 30 threes, sample 18, the two-conv
    // network reads as a 5, so the key is checked by the label, the reading
    // by the element's own result)
    const got = await nextResult(page, 'first', () => page.keyboard.press('3'));
    assert.match(await text(page, 'first', '.sub'), /sample labelled 3/, 'key 3: a 3 from the samples');
    await page.waitForFunction(() => document.getElementById('first').shadowRoot.querySelector('.tile[aria-checked=true]'));
    assert.match((await page.evaluate(() => globalThis.said)).join('|'), new RegExp(`^Sample labelled 3\\. Reads ${got}, \\d+\\.\\d%\\.$`));
    assert.deepEqual(await stops(), ['pad', 'clear', 'sample', 'method', 'range', `bar${got}`, `tile${got}`],
      'after a result: one stop for the bars, one for the strip, each on the chosen class');
    // arrow keys move the choice in a group; the chosen one pressed again stays chosen
    const checked = (sel) => page.evaluate((sel) => [...document.getElementById('first').shadowRoot.querySelectorAll(sel)]
      .filter((b) => b.getAttribute('aria-checked') === 'true').map((b) => +b.dataset.cls), sel);
    const focused = () => page.evaluate(() => document.getElementById('first').shadowRoot.activeElement.dataset.cls);
    await part(page, 'first', '.bar[data-cls="3"]').focus();
    await page.keyboard.press('ArrowDown');
    assert.deepEqual([await checked('.bar'), await focused()], [[4], '4']);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    assert.deepEqual([await checked('.bar'), await focused()], [[2], '2']);
    assert.match(await text(page, 'first', '.sub'), /why 2/);
    for (const key of ['Space', 'Enter']) {
      await page.keyboard.press(key);
      assert.deepEqual(await checked('.bar'), [2], `${key} on the chosen 2: it stays chosen`);
    }
    await part(page, 'first', '.tile[data-cls="2"]').focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focused(), '9', 'the arrows wrap around');
    await page.waitForFunction(() => document.getElementById('first').shadowRoot.querySelector('.tile[data-cls="9"]').getAttribute('aria-checked') === 'true');
    assert.deepEqual(await checked('.bar'), [9], 'the strip and the bars choose the same class');

    // The accessibility tree, as a screen reader gets it.
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const byId = new Map(nodes.map((n) => [n.nodeId, n]));
    const role = (n) => n.role?.value, name = (n) => n.name?.value ?? '';
    const prop = (n, p) => n.properties?.find((x) => x.name === p)?.value.value;
    const groups = nodes.filter((n) => role(n) === 'radiogroup');
    const bars = groups.find((n) => /Class probabilities/.test(name(n)));
    const strip = groups.find((n) => /maps of all ten classes/.test(name(n)));
    assert.equal(groups.length, 2, 'the first element\'s two radio groups; the second\'s, with no result yet, are inert');
    const radios = (g) => g.childIds.map((id) => byId.get(id)).filter((n) => role(n) === 'radio');
    assert.equal(radios(bars).length, 10);
    for (const r of radios(bars)) assert.match(name(r), /^\d: (\d+\.\d) percent$/);
    assert.deepEqual(radios(bars).filter((r) => prop(r, 'checked') === 'true').map(name).map((s) => s[0]), ['9']);
    assert.deepEqual(radios(strip).map(name), [...Array(10).keys()].map((c) => `Grad-CAM map of class ${c}`));
    const pads = nodes.filter((n) => role(n) === 'application');
    assert.equal(pads.length, 2);
    assert.match(name(pads[0]), /draw a digit, or press a key 0 to 9/);
    const status = nodes.filter((n) => role(n) === 'status');
    assert.equal(status.length, 2, 'one live region per element');
    assert.ok(nodes.some((n) => role(n) === 'button' && name(n) === 'Load a random MNIST test digit'));
    assert.ok(nodes.some((n) => role(n) === 'combobox' && name(n) === 'Explanation method'));
    await cdp.detach();
    assert.deepEqual(log.errors, []);
    await close();
  });

  test('the live region speaks once per finished stroke, with the digit and its probability', async () => {
    const { page, close } = await open(origin + POST);
    await waitState(page, 'first', 'idle');
    await page.evaluate(() => {
      const root = document.getElementById('first').shadowRoot;
      globalThis.live = [...root.querySelectorAll('[aria-live], [role=status], [role=alert]')].map((e) => e.className || e.getAttribute('part'));
      globalThis.said = [];
      new MutationObserver((ms) => {
        for (const m of ms) {
          const region = (m.target.nodeType === 3 ? m.target.parentNode : m.target).closest('[aria-live], [role=status], [role=alert]');
          if (region) globalThis.said.push(region.textContent);
        }
      }).observe(root, { childList: true, characterData: true, subtree: true });
    });
    await page.evaluate(() => {
      globalThis.moves = 0;
      document.getElementById('first').shadowRoot.querySelector('[part=pad]').addEventListener('pointermove', () => globalThis.moves++);
    });
    await draw(page, 'first', SEVEN);
    await waitState(page, 'first', 'ok');
    const { live, said, n } = await page.evaluate(() => ({ live: globalThis.live, said: globalThis.said, n: globalThis.moves }));
    assert.deepEqual(live, ['sr'], 'one live region');
    assert.ok(n >= 15, `the stroke had ${n} pointer moves`);
    assert.equal(said.length, 1, `one announcement for the stroke (${JSON.stringify(said)})`);
    const p = await page.evaluate(() => document.getElementById('first').result.probs[7] * 100);
    assert.equal(said[0], `Reads 7, ${p.toFixed(1)}%.`);
    await close();
  });

  test('samples: none hides the button; a missing file or an HTML answer disables it with the reason, and the result stays', async () => {
    const { page, log, close } = await open(origin + POST);
    await waitState(page, 'first', 'idle');
    await draw(page, 'first', SEVEN);
    await waitState(page, 'first', 'ok');
    const sample = part(page, 'first', 'button[data-act=sample]');
    for (const [url, why, code] of [['missing.bin', /missing\.bin answered HTTP 404/, 'HTTP'],
      ['post.html', /post\.html is an HTML page, not a samples file/, 'HTTP']]) {
      await page.evaluate((u) => { globalThis.lensErrors.length = 0; document.getElementById('first').setAttribute('samples', u); }, url);
      assert.equal(await sample.isEnabled(), true);
      await sample.click();
      await page.waitForFunction(() => document.getElementById('first').shadowRoot.querySelector('[data-act=sample]').disabled);
      assert.match(await sample.getAttribute('title'), why, 'the tooltip says why');
      assert.match(await text(page, 'first', '[part=note]'), why, 'so does the card');
      assert.equal(await text(page, 'first', '[part=digit]'), '7', 'the result stays');
      assert.equal(await page.evaluate(() => document.getElementById('first').shadowRoot.querySelector('.card').dataset.state), 'ok');
      const errs = await page.evaluate(() => globalThis.lensErrors);
      assert.equal(errs.length, 1);
      assert.equal(errs[0].name, 'DigitLensError');
      assert.equal(errs[0].code, code);
      assert.match(errs[0].message, why);
    }
    await page.evaluate(() => document.getElementById('first').setAttribute('samples', 'none'));
    assert.equal(await sample.isHidden(), true, 'samples="none": no Sample button');
    assert.equal(await text(page, 'first', '[part=note]'), '', 'and no complaint left');
    assert.equal(await part(page, 'first', '[part=pad]').getAttribute('tabindex'), '-1', 'nor keys on the pad');
    assert.ok(log.failed.some((f) => f.startsWith('404 ') && f.endsWith('/missing.bin')));
    assert.deepEqual(log.errors.filter((e) => !/404/.test(e)), []);
    await close();
  });

  test('bad attribute values: said on the card and as DigitLensError events, and the element goes on', async () => {
    const page0 = await open(origin + POST);
    const { page, close } = page0;
    await waitState(page, 'first', 'idle');
    const errors = () => page.evaluate(() => globalThis.lensErrors.splice(0));
    const note = () => text(page, 'first', '[part=note]');
    const set = (a, v) => page.evaluate(([a, v]) => document.getElementById('first').setAttribute(a, v), [a, v]);
    await set('size', 'big');
    assert.match(await note(), /size="big" is not a number of pixels from 160 to 560: it fits the page/);
    await set('size', '5000');
    assert.match(await note(), /size="5000" is not a number of pixels from 160 to 560: 560 used/);
    await page.waitForFunction(() => document.getElementById('first').shadowRoot.querySelector('.stage').getBoundingClientRect().width === 560);
    await set('theme', 'purple');
    assert.match(await note(), /560 used\. theme="purple" is not light, dark or auto: auto used\./);
    const e = await errors();
    assert.deepEqual(e.map((x) => [x.name, x.code]), [['DigitLensError', 'ATTR'], ['DigitLensError', 'ATTR'], ['DigitLensError', 'ATTR']]);
    await draw(page, 'first', ONE);
    await waitState(page, 'first', 'ok');
    assert.equal(await text(page, 'first', '[part=digit]'), '1', 'it still reads');
    await set('size', '300');
    await set('theme', 'dark');
    assert.equal(await note(), '', 'fixed values clear the note');
    assert.deepEqual(await errors(), []);
    // weights that fail: the model it had goes on
    await set('weights', 'nothing-here.safetensors');
    await page.waitForFunction(() => /nothing-here/.test(document.getElementById('first').shadowRoot.querySelector('[part=note]').textContent));
    assert.match(await note(), /Could not load the model\. weights: .*nothing-here\.safetensors answered HTTP 404\. The one it had is still in use\./);
    assert.deepEqual((await errors()).map((x) => [x.name, x.code]), [['DigitLensError', 'HTTP']]);
    assert.equal(await text(page, 'first', '[part=digit]'), '1');
    await close();
    // weights that fail from the start: nothing to go on with, said in the card
    const { page: p2, close: c2 } = await open(origin + POST, DESKTOP, (p) =>
      p.route('**/post.html', async (r) => r.fulfill({ response: await r.fetch(),
        body: (await (await r.fetch()).text()).replace('id="second" size="240"', 'id="second" weights="post.html"') })));
    await waitState(p2, 'second', 'error');
    assert.match(await text(p2, 'second', '[part=message]'), /Could not load the model\. weights: .*post\.html is an HTML page, not a weights file/);
    assert.deepEqual(await p2.evaluate(() => globalThis.lensErrors.map((x) => [x.id, x.code])), [['second', 'HTTP']]);
    await waitState(p2, 'first', 'idle');
    await c2();
  });

  test('the script 1.5 s late: the fallback text shows, the README\'s reserved box keeps the layout shift under 0.05', async (t) => {
    const cls = async (css) => {
      const { page, close } = await open(origin + POST, DESKTOP, async (p) => {
        await p.addInitScript(() => {
          globalThis.cls = 0;
          new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) globalThis.cls += e.value; })
            .observe({ type: 'layout-shift', buffered: true });
        });
        await p.route('**/digit-lens.min.js', async (r) => { await new Promise((t) => setTimeout(t, 1500)); await r.continue(); });
        if (css) await p.route('**/blog.css', async (r) => r.fulfill({ response: await r.fetch(), body: css((await (await r.fetch()).text())) }));
      }, 'commit');
      await page.waitForFunction(() => document.querySelector('#second + p'));
      const early = await page.evaluate(() => ({ defined: !!customElements.get('digit-lens'),
        fallback: document.querySelector('#first .fallback').getBoundingClientRect().height }));
      await waitState(page, 'first', 'idle');
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const out = await page.evaluate(() => ({ cls: globalThis.cls,
        fallback: document.querySelector('#first .fallback').getBoundingClientRect().height }));
      await close();
      return { early, ...out };
    };
    const kept = await cls();
    assert.equal(kept.early.defined, false, 'looked while the script was held back');
    assert.ok(kept.early.fallback > 0, 'the fallback text shows until the element is defined');
    assert.equal(kept.fallback, 0, 'and not after');
    assert.ok(kept.cls < 0.05, `layout shift ${kept.cls.toFixed(4)} with the reserved box`);
    // the same page without the reservation shifts: the measure can fail
    const loose = await cls((s) => s.replace(/digit-lens[^{]*:not\(:defined\)[^}]*\}/g, ''));
    assert.ok(loose.cls > 0.05, `without it the layout shift is ${loose.cls.toFixed(4)}`);
    t.diagnostic(`layout shift ${kept.cls.toFixed(4)} with the reserved box, ${loose.cls.toFixed(4)} without`);
  });

  test('opened from disk (file://): digit-lens.one.js alone works; the module build shows the fallback text', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-file-'));
    try {
      const post = fs.readFileSync(path.join(BLOG, 'post.html'), 'utf8');
      fs.copyFileSync(path.join(BLOG, 'blog.css'), path.join(dir, 'blog.css'));
      fs.copyFileSync(path.join(WEB, 'digit-lens.one.js'), path.join(dir, 'digit-lens.one.js'));
      fs.writeFileSync(path.join(dir, 'one.html'), post.replace('<script type="module" src="digit-lens.min.js"></script>',
        '<script src="digit-lens.one.js"></script>'));
      fs.writeFileSync(path.join(dir, 'module.html'), post);
      const { page, log, close } = await open(pathToFileURL(path.join(dir, 'one.html')).href);
      await waitState(page, 'first', 'idle');
      await draw(page, 'first', SEVEN);
      await waitState(page, 'first', 'ok');
      assert.equal(await text(page, 'first', '[part=digit]'), '7');
      const ui = await page.evaluate(() => {
        const root = document.getElementById('first').shadowRoot, s = root.querySelector('[data-act=sample]');
        return { sample: [s.disabled, s.title], options: [...root.querySelectorAll('option')].map((o) => [o.value, o.disabled, o.textContent]) };
      });
      assert.deepEqual(ui.sample, [true, 'No samples in the one-file build: give a samples URL']);
      assert.deepEqual(ui.options[0], ['gradcam', false, 'gradcam']);
      assert.equal(ui.options.length, 11);
      for (const [v, disabled, t] of ui.options.slice(1)) assert.ok(disabled && t === `${v} (not in the one-file build)`);
      assert.deepEqual([...new Set(log.requests.map((p) => path.basename(p)))].sort(), ['blog.css', 'digit-lens.one.js', 'one.html']);
      assert.deepEqual(log.errors, []);
      assert.equal((await boxes(page, 'second')).stack, false);
      await close();
      // The module build from disk: blocked by the browser, as the README says.
      const m = await open(pathToFileURL(path.join(dir, 'module.html')).href);
      await m.page.waitForLoadState('load');
      const state = await m.page.evaluate(() => ({ defined: !!customElements.get('digit-lens'),
        fallback: document.querySelector('#first .fallback').getBoundingClientRect().height }));
      assert.equal(state.defined, false);
      assert.ok(state.fallback > 0, 'the fallback text is what the reader sees');
      assert.ok(m.log.errors.some((e) => /CORS|origin 'null'|file:/.test(e)), `the console says why (${m.log.errors})`);
      await m.close();
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
