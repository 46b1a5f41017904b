#!/usr/bin/env node
// render.mjs — draw the digits of strokes.mjs with real pointer drags in
// headless Chromium and write them as MNIST IDX files:
//
//   node tools/drawn/render.mjs [--out data/drawn] [--seed N] [--sets drawn,writer]
//                               [--per-class N]
//
// For each set: OUT/SET/t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte
// (the names `digitlens eval --data OUT/SET` reads) and OUT/SET-styles.json
// (each image's label, style, template and drawing parameters).
//
// Each drawing is played as mouse input through the DevTools protocol (what
// playwright's page.mouse sends: Chromium turns it into pointerdown, moves,
// pointerup, as for a real mouse) on pad.html, the pad of <digit-lens> with
// its pen width set per drawing; the pad is read and preprocessed the way
// the element does it (lens.preprocess, the C code of the page), and the
// 28x28 floats rounded to bytes. The points the pad received are checked
// against the points sent.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEED, SETS, plan } from './strokes.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// tests/browser/harness.js: Debian's Chromium and its flags on this machine
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--disable-quic'];
// The page and the loader are served from disk by page.route: no server
// (nothing listens on port 9; every request is answered here).
const ORIGIN = 'http://127.0.0.1:9'; // loopback: a secure context, as the demo's (getCoalescedEvents)
// how far (pad units) a point may land from where it was sent: Chromium
// carries the coordinates as 32-bit floats (seen: 1e-8 off)
const POINT_TOL = 1e-5;
const FILES = {
  '/pad.html': ['tools/drawn/pad.html', 'text/html'],
  '/pad.css': ['tools/drawn/pad.css', 'text/css'],
  '/pad.js': ['tools/drawn/pad.js', 'text/javascript'],
  '/web/digitlens.js': ['web/digitlens.js', 'text/javascript'],
  '/web/digitlens.wasm': ['web/digitlens.wasm', 'application/wasm'],
  '/web/digitlens-nosimd.wasm': ['web/digitlens-nosimd.wasm', 'application/wasm'],
  '/web/seednet.safetensors': ['web/seednet.safetensors', 'application/octet-stream'],
};

/** drag(box, strokes): the strokes (points in 0..1 of box, a page
 * element's bounding box) as mouse drags on the page, one mouse event per
 * point. They go out together over one DevTools session, in order, each
 * acknowledged later: Chromium then hands the page the moves of one frame
 * as one pointermove with its coalesced events, as for a fast mouse.
 * (Awaiting each move, as page.mouse does, costs a frame: a drawing of 150
 * points took 2.5 s.) */
export async function dragger(page) {
  const cdp = await page.context().newCDPSession(page);
  const mouse = (type, [x, y], buttons) => cdp.send('Input.dispatchMouseEvent', {
    type, x, y, buttons, button: type === 'mouseMoved' && !buttons ? 'none' : 'left',
    clickCount: type === 'mouseMoved' ? 0 : 1 });
  return async (box, strokes) => {
    const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
    const sent = [];
    for (const s of strokes) {
      sent.push(mouse('mouseMoved', at(s[0]), 0), mouse('mousePressed', at(s[0]), 1));
      for (let i = 1; i < s.length; i++) sent.push(mouse('mouseMoved', at(s[i]), 1));
      sent.push(mouse('mouseReleased', at(s[s.length - 1]), 0));
    }
    await Promise.all(sent);
  };
}

/** A headless Chromium with the pad open: { draw(drawing) -> bytes(784), close() }. */
export async function openPad() {
  for (const [, [f]] of Object.entries(FILES))
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing (make wasm)`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (make setup)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 400, height: 400 }, deviceScaleFactor: 1 });
  await page.route(`${ORIGIN}/**`, (route) => {
    const f = FILES[new URL(route.request().url()).pathname];
    if (!f) return route.fulfill({ status: 404, body: 'not here' });
    return route.fulfill({ path: path.join(ROOT, f[0]), contentType: f[1] });
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${ORIGIN}/pad.html`);
  await page.waitForFunction(() => globalThis.drawnPad);
  await page.evaluate(() => globalThis.drawnPad.ready);
  const box = await page.locator('canvas').boundingBox();
  const drag = await dragger(page);

  async function draw(d) {
    await page.evaluate((pen) => globalThis.drawnPad.clear(pen), d.pen);
    await drag(box, d.strokes);
    const { pixels, strokes } = await page.evaluate(() => globalThis.drawnPad.read());
    if (errors.length) throw new Error(`pad.html: ${errors.join('; ')}`);
    // every point sent reached the pad, where it was sent (coalesced moves unpacked)
    const got = strokes.flat(), want = d.strokes.flat();
    if (strokes.length !== d.strokes.length || got.length !== want.length)
      throw new Error(`drawing ${d.set} ${d.index}: sent ${d.strokes.length} strokes of ${want.length} points, ` +
        `the pad got ${strokes.length} of ${got.length}`);
    const far = got.findIndex((p, i) => Math.hypot(p[0] - want[i][0], p[1] - want[i][1]) > POINT_TOL);
    if (far >= 0) throw new Error(`drawing ${d.set} ${d.index}: point ${far} sent at ${want[far]}, got at ${got[far]}`);
    return Uint8Array.from(pixels);
  }
  return { draw, close: () => browser.close() };
}

/** IDX files (c/idx.c): images u8 [n, 28, 28], labels u8 [n]. */
export function idxImages(images) {
  const b = Buffer.alloc(16 + images.length * 784);
  b.writeUInt32BE(0x803, 0);
  b.writeUInt32BE(images.length, 4);
  b.writeUInt32BE(28, 8);
  b.writeUInt32BE(28, 12);
  images.forEach((im, i) => b.set(im, 16 + i * 784));
  return b;
}
export function idxLabels(labels) {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x801, 0);
  b.writeUInt32BE(labels.length, 4);
  b.set(labels, 8);
  return b;
}

// whole files or nothing: written beside, then renamed
function writeAtomic(file, bytes) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', bytes);
  fs.renameSync(file + '.tmp', file);
}

/** Render the sets and write them under out. */
export async function renderSets({ out, seed = SEED, sets = Object.keys(SETS), perClass, log = () => {} }) {
  const pad = await openPad();
  try {
    for (const set of sets) {
      const t0 = performance.now(), drawings = plan(set, { seed, perClass });
      const images = [];
      for (const d of drawings) images.push(await pad.draw(d));
      writeAtomic(path.join(out, set, 't10k-images-idx3-ubyte'), idxImages(images));
      writeAtomic(path.join(out, set, 't10k-labels-idx1-ubyte'), idxLabels(drawings.map((d) => d.label)));
      const styles = {
        set, seed, count: drawings.length,
        files: [`${set}/t10k-images-idx3-ubyte`, `${set}/t10k-labels-idx1-ubyte`],
        images: drawings.map(({ index, label, style, template, rare, params, strokes }) =>
          ({ index, label, style, template, rare, strokes: strokes.length,
            points: strokes.reduce((n, s) => n + s.length, 0), ...params })),
      };
      writeAtomic(path.join(out, `${set}-styles.json`), JSON.stringify(styles, null, 0).replace(/\},\{/g, '},\n{') + '\n');
      log(`render: ${set}: ${drawings.length} drawings in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await pad.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2), opt = { out: path.join(ROOT, 'data/drawn') };
  for (let i = 0; i < args.length; i++) {
    const a = args[i], v = () => args[++i] ?? usage(`${a} needs a value`);
    if (a === '--out') opt.out = v();
    else if (a === '--seed') opt.seed = Number(v());
    else if (a === '--sets') opt.sets = v().split(',');
    else if (a === '--per-class') opt.perClass = Number(v());
    else usage(`unknown argument '${a}'`);
  }
  function usage(msg) {
    console.error(`render: ${msg}\nusage: render.mjs [--out DIR] [--seed N] [--sets drawn,writer] [--per-class N]`);
    process.exit(2);
  }
  if (opt.seed !== undefined && !Number.isInteger(opt.seed)) usage('--seed must be an integer');
  if (opt.perClass !== undefined && !(Number.isInteger(opt.perClass) && opt.perClass > 0)) usage('--per-class must be a positive integer');
  for (const s of opt.sets ?? []) if (!SETS[s]) usage(`unknown set '${s}'`);
  renderSets({ ...opt, log: console.log }).catch((e) => { console.error(`render: ${e.message}`); process.exit(1); });
}
