// drawn.test.js — the digits of tools/drawn (make drawn): not MNIST, drawn
// with pointer strokes in Chromium.
//   - the strokes: the same seed gives the same drawings, image i on its own,
//     labels 0..9 in turn, every style and template drawn, the writer's habits;
//   - the renderer: the same seed gives the same bytes (another seed others),
//     whatever was drawn before; its pad makes the bytes <digit-lens> makes
//     from the same pointer drags at the element's pen width;
//   - the files of data/drawn (when `make drawn` has made them): IDX as
//     c/idx.c reads them, the counts and labels of the styles files, the
//     committed seed's bytes, every digit in a 20x20 box with its centre of
//     mass at (14, 14), stroke widths by style that MNIST does not have, and
//     `digitlens eval` and score.mjs reading them alike.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, serveWeb } from './harness.js';
import { SEED, SETS, STYLES, WRITER, TEMPLATES, plan, drawing } from '../../tools/drawn/strokes.mjs';
import { openPad, dragger } from '../../tools/drawn/render.mjs';

const DATA = path.join(ROOT, 'data/drawn');
const CLI = path.join(ROOT, 'build/digitlens');
const NEEDS = ['digitlens.js', 'digitlens.wasm', 'digitlens-nosimd.wasm', 'seednet.safetensors', 'digit-lens.min.js'];
const missing = NEEDS.filter((f) => !fs.existsSync(path.join(WEB, f)));
const noBrowser = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not installed (make setup)`
  : missing.length ? `web/${missing.join(', web/')} not built (make wasm)` : false;
const noData = fs.existsSync(path.join(DATA, '.built')) ? false : 'data/drawn not built (make drawn)';

// One drawing of each block of ten of the drawn set (every style, every
// label), and four of the writer's.
const SAMPLE = [
  ...Array.from({ length: SETS.drawn.perClass / 10 }, (_, k) => drawing('drawn', 10 * k + (k % 10))),
  ...[0, 1, 4, 7].map((i) => drawing('writer', i)),
];

/** An IDX file's dimensions and data, checked as c/idx.c checks them. */
function readIdx(file, ndims) {
  const b = fs.readFileSync(file);
  assert.ok(b.length >= 4 + 4 * ndims, `${file}: header`);
  assert.deepEqual([...b.subarray(0, 4)], [0, 0, 8, ndims], `${file}: magic`);
  const dims = Array.from({ length: ndims }, (_, d) => b.readUInt32BE(4 + 4 * d));
  const data = b.subarray(4 + 4 * ndims);
  assert.equal(data.length, dims.reduce((a, v) => a * v, 1), `${file}: size`);
  return { dims, data };
}

function readSet(set) {
  const im = readIdx(path.join(DATA, set, 't10k-images-idx3-ubyte'), 3);
  const lb = readIdx(path.join(DATA, set, 't10k-labels-idx1-ubyte'), 1);
  const meta = JSON.parse(fs.readFileSync(path.join(DATA, `${set}-styles.json`), 'utf8'));
  return { count: im.dims[0], dims: im.dims, labels: lb.data, meta,
    image: (i) => im.data.subarray(784 * i, 784 * (i + 1)) };
}

/** Ink box, centre of mass (pixel-edge coordinates: pixel j spans [j, j+1))
 * and stroke width: 2 x area / perimeter (a stroke of width w and length L
 * has area wL and perimeter about 2L), the perimeter summed as the
 * differences between neighbours along rows and columns, the area as ink. */
function geometry(px) {
  let x0 = 28, x1 = -1, y0 = 28, y1 = -1, m = 0, mx = 0, my = 0, per = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = px[28 * y + x];
      if (v > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      m += v; mx += v * (x + 0.5); my += v * (y + 0.5);
      per += Math.abs(v - (x < 27 ? px[28 * y + x + 1] : 0)) + Math.abs(v - (y < 27 ? px[28 * y + x + 28] : 0));
      if (x === 0) per += v;
      if (y === 0) per += v;
    }
  }
  return { w: x1 - x0 + 1, h: y1 - y0 + 1, x0, x1, y0, y1, cx: mx / m, cy: my / m, width: (2 * m) / per };
}

// What preprocessing promises (c/preprocess.c): the ink's box scaled to fit
// 20x20, shifted by whole pixels to put the centre of mass within half a
// pixel of (14, 14), unless that would push the box out of the field (then
// it touches the field's edge). Rounding to bytes moves the centre by a few
// hundredths and can only shrink the box. Returns whether it was clamped.
function assertPreprocessed(px, what) {
  const g = geometry(px);
  assert.ok(g.w <= 20 && g.h <= 20 && Math.max(g.w, g.h) >= 19, `${what}: ink box ${g.w}x${g.h}`);
  const clamped = g.x0 === 0 || g.y0 === 0 || g.x1 === 27 || g.y1 === 27;
  if (!clamped)
    assert.ok(Math.abs(g.cx - 14) <= 0.55 && Math.abs(g.cy - 14) <= 0.55,
      `${what}: centre of mass (${g.cx.toFixed(2)}, ${g.cy.toFixed(2)})`);
  return clamped;
}

// the two plans, made once (half a second each)
const PLAN = { drawn: plan('drawn'), writer: plan('writer') };

const quantile = (a, q) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(q * (s.length - 1))]; };

describe('strokes.mjs: the drawings', () => {
  test('the same seed gives the same drawings, another seed others; drawing i depends on i alone', () => {
    const a = PLAN.drawn, b = plan('drawn'), other = plan('drawn', { seed: SEED + 1 });
    assert.equal(a.length, 1100);
    assert.deepEqual(a, b);
    assert.deepEqual(drawing('drawn', 537), a[537]);
    assert.deepEqual(plan('drawn', { perClass: 3 }), a.slice(0, 30));
    const same = a.filter((d, i) => JSON.stringify(d.strokes) === JSON.stringify(other[i].strokes)).length;
    assert.equal(same, 0, 'drawings alike under two seeds');
    assert.notDeepEqual(PLAN.writer, plan('writer', { seed: SEED + 1 }));
  });

  test('labels 0..9 in turn; every style 10 a class (variant 20); every template drawn', () => {
    const d = PLAN.drawn, w = PLAN.writer;
    assert.equal(w.length, 300);
    for (const set of [d, w]) set.forEach((x, i) => assert.equal(x.label, i % 10));
    const per = {};
    for (const x of d) per[`${x.style} ${x.label}`] = (per[`${x.style} ${x.label}`] ?? 0) + 1;
    for (const s of STYLES) for (let c = 0; c < 10; c++)
      assert.equal(per[`${s.name} ${c}`], s.name === 'variant' ? 20 : 10, `${s.name} ${c}`);
    const drawn = new Set(d.map((x) => `${x.label}-${x.template}`));
    for (const [c, ts] of Object.entries(TEMPLATES)) for (const t of Object.keys(ts)) assert.ok(drawn.has(`${c}-${t}`), `${c}-${t} never drawn`);
    // the variant style draws only the rare templates, the others never
    for (const x of d) assert.equal(x.rare, x.style === 'variant', `${x.index} ${x.style} ${x.label}-${x.template}`);
  });

  test('pens, sizes, slants and positions by style; the writer keeps its habits', () => {
    const d = PLAN.drawn, by = (name) => d.filter((x) => x.style === name).map((x) => x.params);
    const max = (name, k) => Math.max(...by(name).map((p) => p[k])), min = (name, k) => Math.min(...by(name).map((p) => p[k]));
    assert.ok(max('thin', 'pen') < 0.035 && min('thick', 'pen') > 0.11 && min('plain', 'pen') > 0.05);
    assert.ok(max('small', 'height') < 0.31 && min('large', 'height') > 0.8);
    assert.ok(min('offcentre', 'off') >= 0.75 && max('plain', 'off') <= 0.15);
    assert.ok(by('slanted').every((p) => Math.abs(p.slant) >= 0.38 * 0.6));
    assert.ok(by('rotated').every((p) => Math.abs(p.rot) >= 12));
    // every pointer point lands on the pad
    for (const x of [...d, ...PLAN.writer])
      for (const [px, py] of x.strokes.flat()) assert.ok(px > 0 && px < 1 && py > 0 && py < 1, `${x.set} ${x.index}`);
    for (const x of PLAN.writer) {
      assert.equal(x.template, WRITER.templates[x.label]);
      assert.ok(x.params.slant >= 0.4 && x.params.pen >= 0.105, `writer ${x.index}`);
    }
    assert.equal(WRITER.templates[7], 'crossed');
    assert.equal(WRITER.templates[1], 'flag');
    assert.equal(WRITER.templates[4], 'open');
  });
});

describe('render.mjs: drawn in Chromium', { skip: noBrowser }, () => {
  let pad, first;
  before(async () => {
    pad = await openPad();
    first = [];
    for (const d of SAMPLE) first.push(await pad.draw(d));
  });
  after(() => pad?.close());

  test('the same seed gives the same bytes, whatever was drawn before; another seed others', async () => {
    for (let k = SAMPLE.length; k-- > 0;) // in the other order
      assert.deepEqual(await pad.draw(SAMPLE[k]), first[k], `${SAMPLE[k].set} ${SAMPLE[k].index}`);
    for (const [k, d] of SAMPLE.slice(0, 4).entries())
      assert.notDeepEqual(await pad.draw(drawing(d.set, d.index, SEED + 1)), first[k], `${d.set} ${d.index}`);
  });

  test('each digit fits 20x20 with its centre of mass at (14, 14)', () => {
    const clamped = SAMPLE.filter((d, k) => assertPreprocessed(first[k], `${d.set} ${d.index}`));
    assert.ok(clamped.length <= 1, `${clamped.length} off-centre`);
  });

  test('the files of make drawn are these bytes', { skip: noData }, () => {
    for (const [k, d] of SAMPLE.entries())
      assert.deepEqual(readSet(d.set).image(d.index), Buffer.from(first[k]), `${d.set} ${d.index}`);
  });

  // The pad of <digit-lens> itself, drawn with the same mouse events: after
  // a redraw (a size change; its live painting depends on how the moves were
  // grouped into frames, pad.js says why) it gives the network the same bytes.
  test('<digit-lens> makes the same 28x28 input from the same drags at its pen width', async () => {
    const { server, origin } = await serveWeb();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 800 }, deviceScaleFactor: 1 });
      await page.route(`${origin}/host.html`, (route) => route.fulfill({ contentType: 'text/html',
        body: '<!doctype html><script type="module" src="digit-lens.min.js"></script><digit-lens size="280"></digit-lens>' }));
      await page.goto(`${origin}/host.html`);
      await page.waitForFunction(() => document.querySelector('digit-lens')?.shadowRoot
        ?.querySelector('.card')?.dataset.state === 'idle');
      // its pad moved to the page's corner, where pad.html's is: the mouse's
      // coordinates are 32-bit floats, and the pad's offset subtracted from
      // them leaves other roundings elsewhere (at the element's offset,
      // 27 px, 2 of 3 digits differed by one level in one pixel); without
      // its block margin (16 px), which an absolute box keeps
      const el = page.locator('digit-lens canvas[part=pad]'), at = await el.boundingBox();
      await page.evaluate(([x, y]) => {
        const lens = document.querySelector('digit-lens'), r = lens.getBoundingClientRect();
        Object.assign(lens.style, { position: 'absolute', margin: '0', left: `${r.x - x}px`, top: `${r.y - y}px` });
      }, [at.x, at.y]);
      const box = await el.boundingBox(), drag = await dragger(page);
      assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 280, 280]);
      for (const d of [SAMPLE[0], SAMPLE[3], SAMPLE[SAMPLE.length - 3]]) {
        const theirs = { ...d, pen: 1 / 14 };
        await page.evaluate(() => document.querySelector('digit-lens').clear());
        await drag(box, d.strokes);
        const input = await page.evaluate(() => {
          const lens = document.querySelector('digit-lens');
          lens.setAttribute('size', '281');
          lens.setAttribute('size', '280'); // #resize, #redraw, #update: a new result
          return Array.from(lens.result.input, (v) => Math.round(v * 255));
        });
        assert.deepEqual(Uint8Array.from(input), await pad.draw(theirs), `${d.set} ${d.index}`);
      }
    } finally {
      await browser.close();
      server.kill();
    }
  });
});

describe('data/drawn: the sets make drawn wrote', { skip: noData }, () => {
  const sets = noData ? [] : [readSet('drawn'), readSet('writer')];

  test('IDX files of 28x28 images with their labels; the styles files agree', () => {
    const [d, w] = sets;
    assert.deepEqual(d.dims, [1100, 28, 28]);
    assert.deepEqual(w.dims, [300, 28, 28]);
    for (const s of sets) {
      assert.equal(s.labels.length, s.count);
      assert.equal(s.meta.seed, SEED);
      assert.equal(s.meta.count, s.count);
      s.labels.forEach((y, i) => {
        assert.equal(y, i % 10, `${s.meta.set} ${i}`);
        assert.equal(s.meta.images[i].label, y);
        assert.equal(s.meta.images[i].index, i);
      });
    }
    const styles = new Set(d.meta.images.map((x) => x.style));
    assert.deepEqual([...styles].sort(), STYLES.map((s) => s.name).sort());
  });

  test('every digit fits 20x20 with its centre of mass at (14, 14)', () => {
    let clamped = 0, n = 0;
    for (const s of sets) for (let i = 0; i < s.count; i++, n++) clamped += assertPreprocessed(s.image(i), `${s.meta.set} ${i}`);
    assert.ok(clamped <= n / 100, `${clamped} of ${n} digits too lopsided to centre`);
  });

  test('stroke widths: thin, thick and the writer apart, wider spread than MNIST', () => {
    const [d, w] = sets, by = {};
    d.meta.images.forEach((x, i) => (by[x.style] ??= []).push(geometry(d.image(i)).width));
    const med = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, quantile(v, 0.5)]));
    const writer = quantile(Array.from({ length: w.count }, (_, i) => geometry(w.image(i)).width), 0.5);
    // (pixels; MNIST's test set: 1.5, 2.0, 2.8 at 10, 50, 90 %)
    assert.ok(med.thin < 1.2 && med.thick > 2.5 && med.thick > 2.5 * med.thin, JSON.stringify(med));
    assert.ok(med.plain > med.thin + 0.4 && med.plain < med.thick - 0.8, JSON.stringify(med));
    assert.ok(med.small > med.plain + 1 && med.large < med.plain, JSON.stringify(med)); // same pen, scaled
    assert.ok(writer > med.plain + 0.5, `writer ${writer}`);
    const mnist = path.join(ROOT, 'data/mnist/t10k-images-idx3-ubyte');
    if (fs.existsSync(mnist)) {
      const m = readIdx(mnist, 3).data, mw = [];
      for (let i = 0; i < 10000; i++) mw.push(geometry(m.subarray(784 * i, 784 * (i + 1))).width);
      const all = Object.values(by).flat();
      assert.ok(quantile(all, 0.1) < quantile(mw, 0.1) - 0.2 && quantile(all, 0.9) > quantile(mw, 0.9) + 0.2,
        `drawn ${quantile(all, 0.1).toFixed(2)}..${quantile(all, 0.9).toFixed(2)}, ` +
        `MNIST ${quantile(mw, 0.1).toFixed(2)}..${quantile(mw, 0.9).toFixed(2)}`);
    }
  });

  test('digitlens eval reads each set; score.mjs counts as it does', { skip: !fs.existsSync(CLI) && 'build/digitlens not built (make native)' }, () => {
    const scores = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'tools/drawn/score.mjs'), '--json'], { encoding: 'utf8' }));
    for (const s of sets) {
      const ev = JSON.parse(execFileSync(CLI, ['eval', '--json', '--data', path.join(DATA, s.meta.set)], { encoding: 'utf8' }));
      assert.equal(ev.total, s.count);
      const sc = scores.find((x) => x.set === s.meta.set);
      assert.equal(sc.total, ev.total);
      assert.equal(sc.correct, ev.correct);
      assert.equal(Object.values(sc.style).reduce((n, g) => n + g.correct, 0), ev.correct);
    }
  });
});
