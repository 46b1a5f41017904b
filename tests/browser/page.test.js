// page.test.js — the demo page in Debian's Chromium, served as `make demo`
// serves it (tools/serve.mjs, strict CSP): digits drawn with real pointer
// events on canvas[part=pad] are read; the overlay's pixels are the map of
// the class shown, where preprocessing took the drawing from, and the
// strip's are the ten maps on one scale; undo and clear restore the pixels
// they promise; a map that is all zero says so; no console error and no
// request beyond the page's origin; the page downloads the bundle, the
// Grad-CAM-only wasm and the weights, and the full wasm only when another
// method is chosen (whose maps are then the full module's); a browser
// without WebAssembly SIMD gets the -nosimd builds; bad input gets a clear
// message. The page's network switch and compare view (web/page.js): the
// seed network's weights fetched only when asked for, once; each network's
// maps on the overlay where its grid puts them, the strip, a chosen class
// and every method on both; the compare view's pixels and captions, after
// a stroke and during one; weights that cannot load leave the two-conv
// network in use and say so. Screenshots land in build/.
//
// Expected pixels are computed in the page from the element's own `result`
// (maps, input) with the loader's API (lens.heatmap), and its parts are
// found by their `part` names: no layout, map size or canvas size is
// assumed here (a network's map side and grid come from its weights file,
// through the loader).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, needChromium, serveWeb, drawOn } from './harness.js';
import { withoutSimd } from '../node/nosimd.js';
import { assertOverlayShows as assertPlacedOverlay, placedMax } from '../node/overlay.js';
import { load } from '../../web/digitlens.js';

const BUILD = path.join(ROOT, 'build');
const NEEDS = ['digitlens.wasm', 'digitlens-nosimd.wasm', 'digitlens-full.wasm', 'twoconv.safetensors', 'seednet.safetensors',
  'samples.bin', 'digit-lens.min.js'];
const missing = NEEDS.filter((f) => !fs.existsSync(path.join(WEB, f)));
const skip = needChromium() || (missing.length ? `web/${missing.join(', web/')} not built (make wasm)` : false);

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
// A bar across the top of the "1": the network reads a 7.
const TOP_BAR = [[[0.25, 0.14], [0.52, 0.14]]];
// A loop and a stem: a 9 whose Grad-CAM map is zero everywhere on the seed
// network (most drawn 9s have no positive Grad-CAM evidence there: README).
const NINE = [Array.from({ length: 13 }, (_, i) => {
  const t = (i / 12) * 2 * Math.PI;
  return [0.5 + 0.18 * Math.sin(t), 0.32 - 0.14 * Math.cos(t)];
}), [[0.68, 0.32], [0.66, 0.86]]];
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

// (an error on the way ends the wait, with the card's message)
async function waitState(page, state) {
  const got = await page.waitForFunction((s) => {
    const now = document.querySelector('digit-lens')?.shadowRoot?.querySelector('.card')?.dataset.state;
    return (now === s || now === 'error') && now;
  }, state, { timeout: 15_000 });
  const now = await got.jsonValue();
  if (now !== state) assert.fail(`waited for ${state}, the card says ${now}: ${await text(page, 'message')}`);
}

// Draw with the mouse: real pointerdown/move/up on the pad's screen box.
const draw = (page, strokes) => drawOn(page, pad(page), strokes);

// Record the `result` events of the element on the element itself.
const recordResults = (page) => page.evaluate(() => {
  const el = document.querySelector('digit-lens');
  el.seen = [];
  el.addEventListener('result', (e) => el.seen.push(e.detail.digit));
});

// The largest alpha of the overlay ([part=heat]): 0 when it shows nothing.
const heatMax = (page) => page.evaluate(() => {
  const c = document.querySelector('digit-lens').shadowRoot.querySelector('[part=heat]');
  const h = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let max = 0;
  for (let i = 3; i < h.length; i += 4) max = Math.max(max, h[i]);
  return max;
});

// The overlay ([part=heat]) against the element's own result: the map of
// class `cls` coloured by the loader (lens.heatmap, alpha = heat on the
// map's own scale, placed on the 28x28 input as the C library places it)
// and laid on the drawing where preprocessing took the input from. Where
// that is: preprocessing puts the ink's centre of mass at the centre of the
// network's frame, so the input's ink centroid lies on the pad's ink
// centroid, and an input pixel spans lens.frame().scale pad pixels (the
// loader's frame of the pad read whole). Returns, in input pixels, how far
// the overlay's heat centroid lies from the map's, and for each class with
// a positive map the mean |alpha difference| (0..255) between the overlay
// and that class's map laid there. The lens is the element's network (its
// weights attribute, or the default). With S: also the overlay taken back
// to the input's frame, S x S over the gray input (nearest overlay pixel,
// alpha over the input), the kind of image tests/node/overlay.js reads.
const overlayVsMaps = (page, cls, S = 0) => page.evaluate(async ([cls, S]) => {
  const el = document.querySelector('digit-lens'), root = el.shadowRoot;
  const padC = root.querySelector('[part=pad]'), heatC = root.querySelector('[part=heat]');
  const { load } = await import('./digit-lens.min.js');
  const weights = el.getAttribute('weights');
  const lens = await load({ methods: 'gradcam', ...(weights && { weights }) });
  const { maps, input } = el.result, n = Math.sqrt(input.length);
  const centroid = (w, h, at) => {
    let m = 0, mx = 0, my = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) { const v = at(x, y); m += v; mx += v * (x + 0.5); my += v * (y + 0.5); }
    return [mx / m, my / m];
  };
  const pad = padC.getContext('2d').getImageData(0, 0, padC.width, padC.height);
  // (read at 512 pixels at most: the loader takes images up to 1024)
  const small = document.createElement('canvas'), f = Math.min(1, 512 / Math.max(pad.width, pad.height));
  small.width = Math.round(pad.width * f);
  small.height = Math.round(pad.height * f);
  small.getContext('2d').drawImage(padC, 0, 0, small.width, small.height);
  lens.preprocess(small.getContext('2d').getImageData(0, 0, small.width, small.height));
  const scale = lens.frame().scale * (pad.width / small.width);
  const [ix, iy] = centroid(n, n, (x, y) => input[y * n + x]);
  const [px, py] = centroid(pad.width, pad.height, (x, y) => pad.data[4 * (y * pad.width + x)]);
  const k = heatC.width / padC.width, W = heatC.width, H = heatC.height;
  const heat = heatC.getContext('2d').getImageData(0, 0, W, H).data;
  // overlay pixel (X, Y) -> input coordinates (pixel i spans [i, i + 1))
  const qx = (X) => ix + ((X + 0.5) / k - px) / scale, qy = (Y) => iy + ((Y + 0.5) / k - py) / scale;
  const [hx, hy] = centroid(W, H, (X, Y) => heat[4 * (Y * W + X) + 3]);
  // each class's map at G x G over the input, sampled bilinearly at the overlay's pixels
  const G = 8 * n;
  const alpha = (c) => lens.heatmap(maps, c, { width: G, alpha: true }).data;
  const laid = (c) => {
    const a = alpha(c);
    const at = (u, v) => (u < 0 || v < 0 || u >= G || v >= G ? 0 : a[4 * (v * G + u) + 3]);
    return (X, Y) => {
      const gx = (qx(X) * G) / n - 0.5, gy = (qy(Y) * G) / n - 0.5, u = Math.floor(gx), v = Math.floor(gy), fx = gx - u, fy = gy - v;
      return (at(u, v) * (1 - fx) + at(u + 1, v) * fx) * (1 - fy) + (at(u, v + 1) * (1 - fx) + at(u + 1, v + 1) * fx) * fy;
    };
  };
  const a = alpha(cls), [mx, my] = centroid(G, G, (u, v) => a[4 * (v * G + u) + 3]);
  const diffs = maps.map((m, c) => {
    if (!m.some((v) => v > 0)) return null;
    const f = laid(c);
    let sum = 0;
    for (let Y = 0; Y < H; Y++) for (let X = 0; X < W; X++) sum += Math.abs(heat[4 * (Y * W + X) + 3] - f(X, Y));
    return sum / (W * H);
  });
  let max = 0;
  for (let i = 3; i < heat.length; i += 4) max = Math.max(max, heat[i]);
  const off = [qx(hx - 0.5) - (mx * n) / G, qy(hy - 0.5) - (my * n) / G];
  let onInput = null;
  if (S) {
    // input coordinate u (pixel i spans [i, i + 1)) -> overlay pixel floor(k (px + (u - ix) scale))
    const X = (u) => Math.floor(k * (px + (u - ix) * scale)), Y = (v) => Math.floor(k * (py + (v - iy) * scale));
    const data = new Uint8Array(S * S * 3);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const u = ((x + 0.5) * n) / S, v = ((y + 0.5) * n) / S, hX = X(u), hY = Y(v);
        const g = Math.round(input[Math.floor(v) * n + Math.floor(u)] * 255);
        const h = hX >= 0 && hY >= 0 && hX < W && hY < H ? 4 * (hY * W + hX) : -1, a = h < 0 ? 0 : heat[h + 3] / 255;
        for (let ch = 0; ch < 3; ch++) data[3 * (y * S + x) + ch] = Math.round(g * (1 - a) + (h < 0 ? 0 : heat[h + ch]) * a);
      }
    onInput = { width: S, height: S, channels: 3, data: [...data], map: [...maps[cls]], side: Math.sqrt(maps[cls].length) };
  }
  return { off, dist: Math.hypot(...off), diffs, max, onInput };
}, [cls, S]);

// The overlay shows the map of class cls, where the map places it: its heat
// centroid within half an input pixel of the map's (a diagonal shift of one
// input pixel is 1.4), and its alpha closer to that class's map than to any
// other's, within a mean of 1/255. (Checked to fail when the page shifts
// its overlay by one input pixel diagonally, and when it keeps drawing the
// predicted class's map after another class is chosen.)
async function assertOverlayShows(page, cls, what) {
  const o = await overlayVsMaps(page, cls);
  const fmt = (v) => (v === null ? '-' : v.toFixed(2));
  assert.ok(o.max > 100, `${what}: the overlay is not blank (max alpha ${o.max})`);
  assert.ok(o.dist < 0.5, `${what}: the overlay's heat centroid is ${o.dist.toFixed(2)} input pixels from the map's ` +
    `(${o.off.map(fmt)})`);
  const others = o.diffs.filter((d, c) => c !== cls && d !== null);
  assert.ok(o.diffs[cls] < 1 && others.every((d) => d > 2 * o.diffs[cls]),
    `${what}: the overlay is the map of ${cls} (mean |alpha difference| to each class's map: ${o.diffs.map(fmt).join(' ')})`);
}

// The strip's ten tiles ([part=strip] canvas, in class order) against the
// ten maps on one scale (lens.heatmap(maps, c, {shared: true}), at each
// tile's size): equal, within 2 of 255 per channel, wherever no input pixel
// near is inked (the input is drawn over the tiles). The strip is drawn
// after the overlay: tiles are read again each frame, up to a second, until
// they match. (Checked to fail when every tile shows the predicted class,
// and when each is on its own scale.)
const stripVsMaps = (page) => page.evaluate(async () => {
  const el = document.querySelector('digit-lens'), root = el.shadowRoot;
  const { load } = await import('./digit-lens.min.js');
  const weights = el.getAttribute('weights');
  const lens = await load({ methods: 'gradcam', ...(weights && { weights }) });
  const tiles = [...root.querySelectorAll('[part=strip] canvas')];
  const check = () => {
    const { maps, input } = el.result, n = Math.sqrt(input.length);
    return tiles.map((tile, c) => {
      const w = tile.width, h = tile.height, got = tile.getContext('2d').getImageData(0, 0, w, h).data;
      const want = lens.heatmap(maps, c, { width: w, height: h, shared: true }).data;
      let compared = 0, differ = 0, worst = 0;
      for (let v = 0; v < h; v++)
        for (let u = 0; u < w; u++) {
          const gx = Math.floor(((u + 0.5) * n) / w - 0.5), gy = Math.floor(((v + 0.5) * n) / h - 0.5);
          let ink = 0;
          for (let y = Math.max(0, gy - 1); y <= Math.min(n - 1, gy + 2); y++)
            for (let x = Math.max(0, gx - 1); x <= Math.min(n - 1, gx + 2); x++) ink += input[y * n + x];
          if (ink > 0) continue;
          compared++;
          const i = 4 * (v * w + u), d = Math.max(...[0, 1, 2].map((ch) => Math.abs(got[i + ch] - want[i + ch])));
          if (d > 2) differ++;
          worst = Math.max(worst, d);
        }
      return { compared, differ, worst, size: w * h };
    });
  };
  let r = check();
  for (let f = 0; f < 60 && r.some((t) => t.differ); f++) {
    await new Promise((res) => requestAnimationFrame(() => setTimeout(res)));
    r = check();
  }
  return r;
});

async function assertStripShowsMaps(page, what) {
  const tiles = await stripVsMaps(page);
  assert.equal(tiles.length, 10, `${what}: ten tiles`);
  tiles.forEach((t, c) => {
    assert.ok(t.compared >= t.size / 4, `${what}: tile ${c}: ${t.compared} of ${t.size} pixels away from the ink`);
    assert.equal(t.differ, 0, `${what}: tile ${c} is the map of ${c} on the shared scale ` +
      `(${t.differ} of ${t.compared} pixels differ, by up to ${t.worst})`);
  });
}

// ---- the page's network switch and compare view (web/page.js) ----------

// The two networks the page offers: the radio's value and the file in web/.
const NETS = { twoconv: 'twoconv.safetensors', seednet: 'seednet.safetensors' };

// Where a network's Grad-CAM cells lie on the 28x28 input, worked out here
// from the layers its weights file lists (the architecture metadata, read
// through the loader: valid convolutions and max-pools, read at cam_layer):
// each convolution of side k moves the first cell's centre by (k - 1) / 2
// steps, each pool of p by (p - 1) / 2 and multiplies the step by p. A file
// without it is the seed network, one convolution, its map centred
// (overlay.js's default). Checked against the loader's mapSide.
const grids = {};
async function gridOf(net) {
  if (grids[net]) return grids[net];
  const lens = await load({ weights: new Uint8Array(fs.readFileSync(path.join(WEB, NETS[net]))), methods: 'gradcam' });
  const side0 = lens.mapSide, arch = lens.metadata.architecture;
  let grid = { side: side0, off: (28 - side0) / 2, stride: 1 };
  if (arch) {
    let off = 0, stride = 1, side = 28;
    for (const [kind, name, ...args] of JSON.parse(arch)) {
      if (kind === 'conv') { off += (stride * (args[1] - 1)) / 2; side -= args[1] - 1; }
      else if (kind === 'maxpool') { off += (stride * (args[0] - 1)) / 2; stride *= args[0]; side = Math.floor(side / args[0]); }
      if (name === lens.metadata.cam_layer) break;
    }
    grid = { side, off, stride };
  }
  assert.equal(grid.side, side0, `${net}: the grid's side is the loader's mapSide`);
  return (grids[net] = grid);
}

// The side of the element's maps now (its last result).
const mapSide = (page) => page.evaluate(() => {
  const r = document.querySelector('digit-lens').result;
  return Math.sqrt(r.maps[r.digit].length);
});

// Choose a network with the page's switch (a click on its label) and wait
// until the element's result has that network's maps (its side).
async function switchTo(page, net) {
  const { side } = await gridOf(net);
  await page.locator(`fieldset.nets input[value=${net}]`).click();
  await page.waitForFunction((side) => {
    const r = document.querySelector('digit-lens').result;
    return r && r.maps[r.digit].length === side * side;
  }, side, { timeout: 15_000 });
}

// The element's overlay taken back to the input's frame (8 pixels per input
// pixel) shows the map of cls where the network's grid places it: heat
// wherever the placed map is a quarter of its top or more, plain gray
// wherever no cell near is positive (tests/node/overlay.js, which restates
// the README's geometry). (Checked to fail with the overlay shifted by one
// input pixel.)
async function assertOverlayOnGrid(page, cls, net, what) {
  const grid = await gridOf(net), S = 8 * 28;
  const { onInput } = await overlayVsMaps(page, cls, S);
  assert.equal(onInput.side, grid.side, `${what}: the map is ${onInput.side}x${onInput.side}, the ${net} network's ${grid.side}x${grid.side}`);
  const n = assertPlacedOverlay(onInput, { S, grid }, onInput.map, placedMax(onInput.map, S, grid), what);
  assert.ok(n.hot > 0 && n.cold > 0, `${what}: ${n.hot} hot and ${n.cold} cold pixels compared`);
}

// The compare view's canvases (#cmp-<net>) against what each network makes
// of the element's input, computed here with the loader: the input in gray
// (each input pixel a square), under that network's Grad-CAM of the class
// the pad reads (lens.heatmap at the canvas's size, alpha = heat) at 0.8 of
// its alpha. For each class with a positive map, the mean |difference| per
// channel (0..255) between the canvas and that class's picture; and the
// canvas's pixels and that network's raw map, for overlay.js. The view is
// painted after the element's frame: read again each frame, up to a
// second, until the pad's class matches.
const compareVsMaps = (page, { pixels = false } = {}) => page.evaluate(async ([NETS, pixels]) => {
  const el = document.querySelector('digit-lens');
  const { load } = await import('./digit-lens.min.js');
  const lenses = {};
  for (const [net, weights] of Object.entries(NETS)) lenses[net] = await load({ weights, methods: 'gradcam' });
  const check = () => {
    const { input, digit } = el.result, n = Math.sqrt(input.length);
    return Object.fromEntries(Object.entries(lenses).map(([net, lens]) => {
      const canvas = document.querySelector(`#cmp-${net}`), W = canvas.width, H = canvas.height;
      const got = canvas.getContext('2d').getImageData(0, 0, W, H).data;
      const r = lens.explain(input);
      const diffs = r.maps.map((m, c) => {
        if (!m.some((v) => v > 0) && c !== digit) return null;
        const heat = lens.heatmap(r.maps, c, { width: W, height: H, alpha: true }).data;
        let sum = 0;
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const i = 4 * (y * W + x), a = m.some((v) => v > 0) ? (0.8 * heat[i + 3]) / 255 : 0;
            const g = input[Math.floor(((y + 0.5) * n) / H) * n + Math.floor(((x + 0.5) * n) / W)] * 255;
            for (let ch = 0; ch < 3; ch++) sum += Math.abs(got[i + ch] - (g * (1 - a) + heat[i + ch] * a));
          }
        return sum / (3 * W * H);
      });
      return [net, { W, H, digit, reads: r.digit, prob: r.probs[r.digit], lit: r.maps[digit].some((v) => v > 0),
        side: r.side, diffs, says: document.querySelector(`#cmp-${net}-says`).textContent,
        ...(pixels && { map: [...r.maps[digit]],
          img: { width: W, height: H, channels: 4, data: [...got] } }) }];
    }));
  };
  let r = check();
  for (let f = 0; f < 60 && Object.values(r).some((t) => !(t.diffs[t.digit] < 1)); f++) {
    await new Promise((res) => requestAnimationFrame(() => setTimeout(res)));
    r = check();
  }
  return r;
}, [NETS, pixels]);

// Each canvas of the compare view is its network's Grad-CAM of the class
// the pad reads, over the input: within a mean of 1 of 255 per channel of
// the picture computed here (the view colours its heat at 112 pixels and
// scales it), and at least twice as far from every other class's; with
// pixels, also heat and plain gray where that network's grid puts them
// (overlay.js); its caption says what that network reads and how sure.
// (Checked to fail when the view paints the next class, when it shifts the
// heat by one input pixel, and when it stops following the pad.)
async function assertCompareShows(page, what, { pixels = false } = {}) {
  const got = await compareVsMaps(page, { pixels });
  const fmt = (v) => (v === null ? '-' : v.toFixed(2));
  for (const [net, t] of Object.entries(got)) {
    const w = `${what}: the ${net} canvas`;
    assert.equal(t.side, (await gridOf(net)).side, `${w}: that network's maps`);
    assert.ok(t.W >= 168 && t.W % 28 === 0 && t.H === t.W, `${w}: ${t.W}x${t.H}, each input pixel a square`);
    assert.ok(t.diffs[t.digit] < 1 && t.diffs.every((d, c) => c === t.digit || d === null || d > 2 * t.diffs[t.digit]),
      `${w} is its map of ${t.digit} over the input (mean |difference| to each class's picture: ${t.diffs.map(fmt).join(' ')})`);
    assert.equal(t.says, `reads ${t.reads} (${(100 * t.prob).toFixed(1)}%)\n` +
      (t.lit ? `Grad-CAM of ${t.digit}` : `no positive Grad-CAM evidence for ${t.digit}`), `${w}'s caption`);
    if (pixels && t.lit) {
      const grid = await gridOf(net);
      const n = assertPlacedOverlay(t.img, { S: t.W, grid }, t.map, placedMax(t.map, t.W, grid), w);
      assert.ok(n.hot > 0 && n.cold > 0, `${w}: ${n.hot} hot and ${n.cold} cold pixels compared`);
    }
  }
  return got;
}

// The pad's, the overlay's and the input canvas's pixels, and the result's
// probabilities and input, kept in the page under `name`; differences()
// counts the elements of each that differ from the kept ones now.
const SNAP = (page, name, op) => page.evaluate(([name, op]) => {
  const el = document.querySelector('digit-lens'), root = el.shadowRoot;
  const pixels = (part) => {
    const c = root.querySelector(`[part=${part}]`);
    return c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  };
  const now = { pad: pixels('pad'), heat: pixels('heat'), input: pixels('input'),
    probs: Float32Array.from(el.result?.probs ?? []), x: Float32Array.from(el.result?.input ?? []) };
  const kept = (globalThis[Symbol.for('digitlens-page-test')] ??= {});
  if (op === 'keep') { kept[name] = now; return null; }
  return Object.fromEntries(Object.entries(now).map(([k, v]) => {
    const was = kept[name][k];
    let n = Math.abs(v.length - was.length);
    for (let i = 0; i < Math.min(v.length, was.length); i++) n += v[i] !== was[i];
    return [k, n];
  }));
}, [name, op]);
const keep = (page, name) => SNAP(page, name, 'keep');
const differences = (page, name) => SNAP(page, name, 'compare');

describe('the demo page in Chromium', { skip }, () => {
  test('drawn digits are read; the overlay is the map of the class shown, where the map places it; the strip the ten maps; nothing leaves the origin', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    assert.match(await text(page, 'message'), /Draw a digit/);
    await recordResults(page);
    const lit = [];
    for (const [n, [digit, strokes]] of DRAWN.entries()) {
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
      if (result.mapMax > 0) {
        lit.push(digit);
        await assertOverlayShows(page, result.digit, `drawing ${n} (${digit})`);
      } else {
        assert.equal(await heatMax(page), 0, `${digit}: an all-zero map shows no heat`);
        assert.match(await page.locator('digit-lens .sub').textContent(), /no positive/);
      }
      await assertStripShowsMaps(page, `drawing ${n} (${digit})`);
      if (strokes === DIGITS[7]) await page.screenshot({ path: path.join(BUILD, 'page-7.png'), fullPage: true });
    }
    assert.ok(lit.length >= 3, `most drawn digits have a Grad-CAM map that is not all zero (${lit})`);

    // any class on demand: the bar of 3 shows the map of 3, not the drawn 7's
    assert.ok(await page.evaluate(() => document.querySelector('digit-lens').result.maps[3].some((v) => v > 0)),
      'the last drawing has a positive map of 3');
    await page.locator('digit-lens .bar[data-cls="3"]').click();
    assert.match(await page.locator('digit-lens .sub').textContent(), /why 3/);
    assert.equal(await page.locator('digit-lens .bar[data-cls="3"]').getAttribute('aria-checked'), 'true');
    await assertOverlayShows(page, 3, 'the bar of 3 chosen');
    await assertStripShowsMaps(page, 'the bar of 3 chosen');

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
    assert.deepEqual(files.sort(), ['/', '/digit-lens.min.js', '/digitlens.wasm', '/page.js', '/style.css', '/teach.js', '/twoconv.safetensors'],
      'the element\'s script, the small wasm, the default weights, the style sheet, the page\'s own script (no seed network until asked), ' +
      'the teach panel after the drawing (nothing of the trainer until Teach); each once');
    assert.deepEqual(log.warnings, [], 'no console warning (a preload that does not match its fetch is one)');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // The page's hold is a CSS animation (at most 0.4 s of `content-visibility:
  // hidden` while the element is :state(starting)). The document timeline is
  // stopped while the page loads (DevTools' Animation domain) and started
  // again by the test, and the weights are held back until the test lets
  // them go: the test sees each stage however slow the machine, and asserts
  // no time (timing is make bench's).
  const frozen = async (page) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Animation.enable');
    await cdp.send('Animation.setPlaybackRate', { playbackRate: 0 });
    return () => cdp.send('Animation.setPlaybackRate', { playbackRate: 1 });
  };

  test('while the model loads the page is held (0.4 s at most), then only the pad is laid out; the rest comes after, in boxes kept for it', async () => {
    let release, play;
    const weights = new Promise((r) => { release = r; });
    const { page, log } = await open('/', async (p) => {
      await p.route('**/twoconv.safetensors', async (route) => { await weights; await route.continue(); });
      play = await frozen(p);
    }, 'commit');
    const look = () => page.evaluate(() => {
      const el = document.querySelector('digit-lens'), root = el.shadowRoot, card = root.querySelector('.card');
      const h = (s) => root.querySelector(s).getBoundingClientRect().height;
      const main = document.querySelector('main');
      return { state: card.dataset.state, fresh: 'fresh' in card.dataset, starting: el.matches(':state(starting)'),
        page: getComputedStyle(main).contentVisibility,
        hold: main.getAnimations().map((a) => a.effect.getComputedTiming().duration),
        card: h('.card'), heights: ['.tools', '.bars', '.stripbox'].map(h),
        parts: ['.tools', '.bars', '.stripbox'].map((s) => getComputedStyle(root.querySelector(s)).contentVisibility),
        message: root.querySelector('[part=message]').textContent };
    });
    await page.waitForFunction(() => document.querySelector('digit-lens')?.shadowRoot?.querySelector('.card'));
    const first = await look();
    assert.equal(first.state, 'loading');
    assert.ok(first.starting, 'the element is :state(starting)');
    assert.equal(first.page, 'hidden', 'the page is not painted before the model is ready');
    assert.equal(first.hold.length, 1, 'one animation holds the page');
    assert.ok(first.hold[0] <= 400, `the hold lasts 0.4 s at most (${first.hold[0]} ms)`);
    await play(); // the hold runs out while the weights are still held back
    await page.waitForFunction(() => getComputedStyle(document.querySelector('main')).contentVisibility === 'visible');
    const before = await look();
    assert.equal(before.state, 'loading', 'the weights are still held back');
    assert.ok(before.starting);
    assert.ok(before.fresh, 'the card starts fresh');
    assert.deepEqual(before.parts, ['hidden', 'hidden', 'hidden'], 'tools, bars and strip not laid out yet');
    assert.match(before.message, /Loading the model/);
    release();
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

  test('a model that cannot load ends the hold at once: the page shows the error', async () => {
    // (the document timeline stopped: only the element's leaving
    // :state(starting) can show the page)
    const { page } = await open('/', async (p) => {
      await p.route('**/twoconv.safetensors', (route) => route.fulfill({ status: 500 }));
      await frozen(p);
    });
    await waitState(page, 'error');
    const t = await page.evaluate(() => ({ page: getComputedStyle(document.querySelector('main')).contentVisibility,
      starting: document.querySelector('digit-lens').matches(':state(starting)') }));
    assert.equal(t.starting, false);
    assert.equal(t.page, 'visible', 'the error is shown');
    assert.match(await text(page, 'message'), /Could not load the model\. weights: .*twoconv\.safetensors answered HTTP 500/);
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
        for (let i = 0; i < want.maps[c].length; i++) {
          diff = Math.max(diff, Math.abs(el.result.maps[c][i] - want.maps[c][i]));
          max = Math.max(max, want.maps[c][i]);
        }
      return { diff, max, digit: want.digit, seen: el.seen.splice(0) };
    });
    assert.equal(cmp.digit, 7);
    assert.deepEqual(cmp.seen, [7], 'one result event for the method change');
    assert.equal(cmp.diff, 0, 'the gradcam++ maps equal the full module\'s');
    assert.ok(cmp.max > 0, 'and are not all zero');
    await assertOverlayShows(page, 7, 'gradcam++');
    // back to Grad-CAM, then another method: no new download
    await page.locator('digit-lens select[part=method]').selectOption('gradcam');
    await page.locator('digit-lens select[part=method]').selectOption('scorecam');
    await waitState(page, 'ok');
    assert.equal(full(), 1, 'the full module is kept');
    assert.equal(await text(page, 'digit'), '7');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // README: browsers without WebAssembly SIMD get the -nosimd twins. The page
  // runs here in such a browser (tests/node/nosimd.js: every module with
  // SIMD refused): the element must fetch the plain builds and no other, and
  // read and draw what the SIMD build computes (in this Node process), bit
  // for bit. Requests are told apart by their initiator (DevTools' Network
  // domain): the demo page's <head> preloads digitlens.wasm, for the
  // browsers that have SIMD, and a browser without it downloads that too.
  // (Checked to fail with a simdSupported() that always says yes.)
  test('a browser without WebAssembly SIMD: the element fetches the -nosimd builds and no other, with the same results', async () => {
    const requests = [];
    const { page, log } = await open('/', async (p) => {
      await p.addInitScript(withoutSimd);
      const cdp = await context.newCDPSession(p);
      cdp.on('Network.requestWillBeSent', (e) =>
        requests.push({ path: new URL(e.request.url).pathname, by: e.initiator.type }));
      await cdp.send('Network.enable');
    });
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    assert.equal(await text(page, 'digit'), '7');
    await assertOverlayShows(page, 7, 'without SIMD');
    await assertStripShowsMaps(page, 'without SIMD');
    const r = await page.evaluate(() => {
      const e = document.querySelector('digit-lens').result;
      return { digit: e.digit, input: [...e.input], probs: [...e.probs], maps: e.maps.map((m) => [...m]) };
    });
    const lens = await load({ weights: new Uint8Array(fs.readFileSync(path.join(WEB, 'twoconv.safetensors'))), methods: 'gradcam' });
    assert.equal(lens.simd, true, 'this process runs the SIMD build');
    const want = lens.explain(Float32Array.from(r.input));
    assert.equal(r.digit, want.digit);
    assert.deepEqual(Float32Array.from(r.probs), want.probs, 'the probabilities, bit for bit');
    r.maps.forEach((m, c) => assert.deepEqual(Float32Array.from(m), want.maps[c], `the map of ${c}, bit for bit`));
    // another method: the full module, without SIMD
    await recordResults(page);
    await page.locator('digit-lens select[part=method]').selectOption('gradcam++');
    await page.waitForFunction(() => document.querySelector('digit-lens').seen.length > 0, null, { timeout: 15_000 });
    assert.equal(await text(page, 'digit'), '7');
    const wasm = requests.filter((q) => q.path.endsWith('.wasm'));
    assert.deepEqual([...new Set(wasm.filter((q) => q.by !== 'parser').map((q) => q.path))],
      ['/digitlens-nosimd.wasm', '/digitlens-full-nosimd.wasm'], `the element's wasm requests (${JSON.stringify(wasm)})`);
    assert.deepEqual(wasm.filter((q) => q.by === 'parser').map((q) => q.path), ['/digitlens.wasm'],
      'the <head>\'s preload, and nothing else, asks for a SIMD build');
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

  // Undo: the pad, the input, the probabilities and the overlay exactly as
  // before the last stroke, which changed the reading (a 1 with a bar on top
  // is a 7). Clear: the pad as it was before any drawing. (Checked to fail
  // when undo drops the stroke from the list but leaves it painted, and so
  // classified, and when clear leaves the pad painted.)
  test('undo restores the pixels and the reading from before the last stroke; clear empties the pad', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await keep(page, 'blank');
    await draw(page, DIGITS[1]);
    await waitState(page, 'ok');
    assert.equal(await text(page, 'digit'), '1');
    await keep(page, 'one');
    await draw(page, TOP_BAR);
    assert.equal(await text(page, 'digit'), '7', 'the bar on top makes it a 7');
    await page.locator('digit-lens button[data-act=undo]').click();
    assert.equal(await text(page, 'digit'), '1');
    assert.deepEqual(await differences(page, 'one'), { pad: 0, heat: 0, input: 0, probs: 0, x: 0 },
      'after undo, the elements that differ from before the bar');
    await page.locator('digit-lens button[data-act=clear]').click();
    await waitState(page, 'idle');
    assert.equal(await text(page, 'digit'), '–');
    assert.match(await text(page, 'message'), /Draw a digit/);
    const d = await differences(page, 'blank');
    assert.equal(d.pad, 0, 'after clear, the pad is as before any drawing');
    assert.equal(await heatMax(page), 0, 'and no heat is shown');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // The branch for a map with no positive evidence runs: a drawn 9 whose
  // Grad-CAM map is zero everywhere on the seed network (the page's switch
  // chooses it; the two-conv network has evidence for this 9). (Checked to
  // fail when the page says "heatmap: why 9" for it.)
  test('a digit whose Grad-CAM map is all zero (the seed network): the page says so and shows no heat', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, NINE);
    await waitState(page, 'ok');
    await switchTo(page, 'seednet');
    assert.equal(await text(page, 'digit'), '9');
    assert.ok(await page.evaluate(() => document.querySelector('digit-lens').result.maps[9].every((v) => v === 0)),
      'the map of 9 is zero everywhere');
    const empty = async (what) => {
      assert.match(await page.locator('digit-lens .sub').textContent(), /no positive Grad-CAM evidence for 9/, what);
      assert.equal(await heatMax(page), 0, `${what}: no heat`);
    };
    await empty('the drawn 9');
    await assertStripShowsMaps(page, 'the drawn 9');
    // another class's map, then 9's again: the overlay is emptied, not kept
    await page.locator('digit-lens .bar[data-cls="1"]').click();
    await assertOverlayShows(page, 1, 'the 9 with the bar of 1 chosen');
    await page.locator('digit-lens .bar[data-cls="9"]').click();
    await empty('the bar of 9 chosen after 1');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // ---- the network switch and the compare view (web/page.js) ----------

  const requested = (log, file) => log.requests.filter((u) => new URL(u).pathname === `/${file}`).length;
  const openCompare = async (page) => {
    await page.locator('#compare summary').click();
    assert.ok(await page.evaluate(() => document.querySelector('#compare').open), 'the compare view is open');
  };

  // The seed network is the page's second network: its weights are fetched
  // when the switch chooses it or the compare view opens, not before, and
  // once (the loader fetches each file once a page: the element and
  // page.js share it). (Checked to fail when page.js loads both networks
  // at start, and when the switch does not load the seed network.)
  test('the seed network\'s weights: no request until the switch or the compare view asks, then one however often switched and opened', async () => {
    for (const first of ['switch', 'compare view']) {
      const { page, log } = await open('/');
      await waitState(page, 'idle');
      await draw(page, DIGITS[7]);
      await waitState(page, 'ok');
      await page.waitForLoadState('networkidle');
      assert.equal(requested(log, 'seednet.safetensors'), 0, `${first} first: not for the page, nor for a drawing`);
      if (first === 'switch') await switchTo(page, 'seednet');
      else {
        await openCompare(page);
        await assertCompareShows(page, 'the view opened');
      }
      assert.equal(requested(log, 'seednet.safetensors'), 1, `${first} first: fetched when asked for`);
      for (const net of ['twoconv', 'seednet', 'twoconv', 'seednet']) await switchTo(page, net);
      if (first === 'switch') await openCompare(page);
      else {
        await page.locator('#compare summary').click(); // closed, opened again
        await page.locator('#compare summary').click();
      }
      await draw(page, TOP_BAR);
      await assertCompareShows(page, `${first} first, switched and opened`);
      assert.equal(requested(log, 'seednet.safetensors'), 1, `${first} first: seednet.safetensors fetched once`);
      assert.equal(requested(log, 'twoconv.safetensors'), 1, `${first} first: twoconv.safetensors fetched once`);
      assert.equal(requested(log, 'digitlens.wasm'), 1, `${first} first: digitlens.wasm fetched once`);
      assert.equal(requested(log, 'digitlens-full.wasm'), 0, `${first} first: no full module for Grad-CAM`);
      assert.deepEqual(log.requests.filter((u) => !u.startsWith(origin + '/')), [], 'no request to another origin');
      assert.deepEqual(log.errors, []);
      await page.close();
    }
  });

  // The switch changes the element's network: its maps are that network's
  // (their side the loader's mapSide for that file), the overlay shows them
  // where that network's grid puts them (overlay.js), the strip shows the
  // ten, a chosen class shows its own; and back again. (Checked to fail
  // when the switch does not set the element's weights, and when the
  // overlay is shifted by one input pixel.)
  test('the switch: the seed network\'s 24x24 maps on the overlay, the strip and a chosen class; back to two-conv\'s 10x10', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    // a class other than the one read whose map is positive
    const another = () => page.evaluate(() => {
      const { maps, digit } = document.querySelector('digit-lens').result;
      return maps.findIndex((m, c) => c !== digit && m.some((v) => v > 0));
    });
    const bar = (c) => page.locator(`digit-lens .bar[data-cls="${c}"]`);
    for (const net of ['twoconv', 'seednet', 'twoconv']) {
      await switchTo(page, net);
      const { side } = await gridOf(net);
      assert.equal(await mapSide(page), side, `${net}: the element's maps are ${side}x${side}`);
      assert.equal(await page.locator(`fieldset.nets input[value=${net}]`).isChecked(), true);
      assert.equal(await text(page, 'digit'), '7', `${net} reads the 7`);
      await bar(7).click();
      await assertOverlayShows(page, 7, `${net}: the 7`);
      await assertOverlayOnGrid(page, 7, net, `${net}: the 7`);
      await assertStripShowsMaps(page, `${net}: the 7`);
      const c = await another();
      assert.ok(c >= 0, `${net}: another class has a positive map`);
      await bar(c).click();
      assert.equal(await bar(c).getAttribute('aria-checked'), 'true');
      assert.match(await page.locator('digit-lens .sub').textContent(), new RegExp(`why ${c}`));
      await assertOverlayShows(page, c, `${net}: the bar of ${c} chosen`);
      await assertOverlayOnGrid(page, c, net, `${net}: the bar of ${c} chosen`);
      await assertStripShowsMaps(page, `${net}: the bar of ${c} chosen`);
      if (net === 'seednet') await page.screenshot({ path: path.join(BUILD, 'page-seednet.png') });
    }
    assert.doesNotMatch(await page.locator('main').innerText(), /NaN/);
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // The compare view paints both networks' Grad-CAM of the class the pad
  // reads over its input, for each drawing and while a stroke is drawn (the
  // element fires `result` on every frame of a stroke).
  test('the compare view: each network\'s Grad-CAM of the class the pad reads over its input, what each reads; live while drawing; side by side on a phone', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await openCompare(page);
    assert.deepEqual(await page.locator('[id^=cmp-][id$=-says]').allTextContents(),
      ['draw a digit on the pad', 'draw a digit on the pad'], 'nothing drawn yet');
    await draw(page, DIGITS[1]);
    await waitState(page, 'ok');
    await assertCompareShows(page, 'a 1', { pixels: true });
    await draw(page, TOP_BAR); // a 7 now
    assert.equal(await text(page, 'digit'), '7');
    await assertCompareShows(page, 'the 1 with a bar', { pixels: true });
    await page.locator('#compare').screenshot({ path: path.join(BUILD, 'page-compare.png') });
    // during a stroke: a 0 drawn from the top, stopped half way
    await page.locator('digit-lens button[data-act=clear]').click();
    await recordResults(page);
    // (the screenshot scrolled to the view, below the card and its teaching panel: the pad back in view)
    await pad(page).scrollIntoViewIfNeeded();
    const box = await pad(page).boundingBox(), at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
    const ring = DIGITS[0][0];
    await page.mouse.move(...at(ring[0]));
    await page.mouse.down();
    for (const p of ring.slice(1, 25)) await page.mouse.move(...at(p), { steps: 2 });
    await page.waitForFunction(() => document.querySelector('digit-lens').seen.length > 0);
    const mid = await assertCompareShows(page, 'half a 0, the button still down');
    for (const p of ring.slice(25)) await page.mouse.move(...at(p), { steps: 2 });
    await page.mouse.up();
    assert.equal(await text(page, 'digit'), '0');
    const done = await assertCompareShows(page, 'the 0', { pixels: true });
    assert.ok(mid.twoconv.diffs[done.twoconv.digit] === null || done.twoconv.diffs[done.twoconv.digit] < mid.twoconv.diffs[done.twoconv.digit],
      'the view changed between half the stroke and all of it');
    // a phone: no sideways scroll, the two canvases side by side
    await page.setViewportSize({ width: 375, height: 800 });
    await page.locator('#compare').scrollIntoViewIfNeeded();
    const phone = await page.evaluate(() => {
      const r = [...document.querySelectorAll('#compare canvas')].map((c) => c.getBoundingClientRect());
      return { scroll: document.documentElement.scrollWidth, width: innerWidth, tops: r.map((b) => b.top),
        sides: r.map((b) => [b.left, b.right, b.width]) };
    });
    assert.ok(phone.scroll <= phone.width, `no sideways scroll at 375 px (${phone.scroll} px wide)`);
    assert.equal(phone.tops[0], phone.tops[1], 'the two canvases side by side');
    phone.sides.forEach(([l, r, w]) => assert.ok(l >= 0 && r <= phone.width && w >= 120, `a canvas at ${l}..${r} px`));
    await page.locator('#compare').screenshot({ path: path.join(BUILD, 'page-compare-375.png') });
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // Every method on either network: the element's maps are the full
  // module's for that network's weights and the image it saw.
  test('every method on the seed network and back: that network\'s maps from the full module', async () => {
    const { page, log } = await open('/');
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    await switchTo(page, 'seednet');
    await recordResults(page);
    await page.locator('digit-lens select[part=method]').selectOption('gradcam++');
    await page.waitForFunction(() => document.querySelector('digit-lens').seen.length > 0, null, { timeout: 15_000 });
    await waitState(page, 'ok');
    assert.equal(requested(log, 'digitlens-full.wasm'), 1, 'digitlens-full.wasm fetched for it');
    const vsFull = (method) => page.evaluate(async ([method, NETS]) => {
      const el = document.querySelector('digit-lens');
      const { load } = await import('./digit-lens.min.js');
      const net = document.querySelector('input[name=net]:checked').value;
      const lens = await load({ weights: NETS[net] });
      const want = lens.explain(el.result.input, { method });
      let diff = 0, max = 0, finite = true;
      for (let c = 0; c < 10; c++) {
        const got = el.result.maps[c];
        if (!got || got.length !== want.maps[c].length) return { net, mismatch: `maps[${c}]: ${got?.length} values, want ${want.maps[c].length}` };
        for (let i = 0; i < got.length; i++) {
          finite &&= Number.isFinite(got[i]);
          diff = Math.max(diff, Math.abs(got[i] - want.maps[c][i]));
          max = Math.max(max, want.maps[c][i]);
        }
      }
      return { net, diff, max, finite, side: want.side, digit: el.result.digit, want: want.digit,
        text: el.shadowRoot.querySelector('.card').textContent };
    }, [method, NETS]);
    const check = async (net, method) => {
      const r = await vsFull(method);
      assert.equal(r.net, net);
      assert.equal(r.mismatch, undefined, `${net} ${method}: ${r.mismatch}`);
      assert.equal(r.side, method.startsWith('guided') ? 28 : (await gridOf(net)).side, `${net} ${method}: the maps' side`);
      assert.equal(r.digit, r.want);
      assert.ok(r.finite, `${net} ${method}: finite maps`);
      assert.equal(r.diff, 0, `${net} ${method}: the element's maps are the full module's for the ${net} weights`);
      assert.doesNotMatch(r.text, /NaN/, `${net} ${method}: no NaN on the card`);
      return r;
    };
    const pp = await check('seednet', 'gradcam++');
    assert.ok(pp.max > 0, 'the gradcam++ maps are not all zero');
    await assertOverlayShows(page, pp.digit, 'seed gradcam++');
    await assertOverlayOnGrid(page, pp.digit, 'seednet', 'seed gradcam++');
    await assertStripShowsMaps(page, 'seed gradcam++');
    // switched with gradcam++ chosen: the two-conv network in the full module
    await switchTo(page, 'twoconv');
    assert.equal(await page.locator('digit-lens select[part=method]').inputValue(), 'gradcam++');
    await check('twoconv', 'gradcam++');
    // every method, on both (switched on gradcam++: the guided methods'
    // 28x28 maps do not tell the networks apart)
    const methods = await page.evaluate(() => [...document.querySelector('digit-lens').shadowRoot.querySelectorAll('[part=method] option')].map((o) => o.value));
    assert.equal(methods.length, 11);
    for (const net of ['seednet', 'twoconv']) {
      await page.locator('digit-lens select[part=method]').selectOption('gradcam++');
      await switchTo(page, net);
      for (const m of methods) {
        await page.locator('digit-lens select[part=method]').selectOption(m);
        await waitState(page, 'ok');
        await check(net, m);
      }
    }
    assert.equal(requested(log, 'digitlens-full.wasm'), 1, 'the full module fetched once');
    assert.equal(requested(log, 'seednet.safetensors'), 1, 'the seed weights fetched once');
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  // A seed weights file that arrives cut short: the element keeps the
  // two-conv network, the switch goes back to it and says why; the compare
  // view says it for its seed canvas. (Checked to fail when the switch
  // hands the element weights it has not checked: the radio stays on seed
  // and nothing is said under it.)
  test('seed weights that cannot load: the two-conv network stays in use, the page says why', async () => {
    const bytes = fs.readFileSync(path.join(WEB, NETS.seednet));
    const { page, log } = await open('/', (p) => p.route('**/seednet.safetensors', (route) =>
      route.fulfill({ status: 200, contentType: 'application/octet-stream', body: bytes.subarray(0, bytes.length >> 1) })));
    await waitState(page, 'idle');
    await draw(page, DIGITS[7]);
    await waitState(page, 'ok');
    await page.locator('fieldset.nets input[value=seednet]').click();
    await page.waitForFunction(() => document.querySelector('#net-msg').textContent, null, { timeout: 15_000 });
    const msg = page.locator('#net-msg');
    assert.ok(await msg.isVisible(), 'the message is shown');
    assert.match(await msg.textContent(),
      /^Could not load the seed network \(weights: .*truncated.*\); the two-conv network is still in use\.$/);
    assert.equal(await page.locator('fieldset.nets input[value=twoconv]').isChecked(), true, 'the switch is back on two-conv');
    assert.equal(await page.evaluate(() => document.querySelector('digit-lens').getAttribute('weights')), null);
    await page.locator('fieldset.nets').screenshot({ path: path.join(BUILD, 'page-seednet-error.png') });
    // the element still runs the two-conv network
    await page.locator('digit-lens button[data-act=clear]').click();
    await draw(page, DIGITS[1]);
    await waitState(page, 'ok');
    assert.equal(await text(page, 'digit'), '1');
    assert.equal(await mapSide(page), (await gridOf('twoconv')).side, 'the element\'s maps are two-conv\'s');
    await assertOverlayShows(page, 1, 'two-conv still');
    await openCompare(page);
    await page.waitForFunction(() => /could not load/.test(document.querySelector('#cmp-seednet-says').textContent));
    assert.match(await page.locator('#cmp-seednet-says').textContent(), /^could not load: weights: .*truncated/);
    assert.match(await page.locator('#cmp-twoconv-says').textContent(), /^reads \d \(\d+\.\d%\)/);
    assert.deepEqual(log.errors, [], 'no console error (no unhandled rejection)');
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
