// report.test.js — `explain --method` on both networks (every method, JSON
// shape, the undefined field, the usage error) and `report` on a small
// subset with both networks and two small drawn sets made here from MNIST
// test images: the files it writes, its metrics against eval, classify and
// explain, the page, and the README part it rewrites; then `report` with
// one network, its bad input, and the drawn sets `make drawn` wrote.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePNG, assertOverlayShows, placedMax } from './overlay.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'build', 'digitlens');
const WEIGHTS = path.join(ROOT, 'weights', 'seednet.safetensors');
const TWOCONV = path.join(ROOT, 'weights', 'twoconv.safetensors');
const T10K = path.join(ROOT, 'data', 'mnist', 't10k-images-idx3-ubyte');
const T10K_LABELS = path.join(ROOT, 'data', 'mnist', 't10k-labels-idx1-ubyte');
const DRAWN = path.join(ROOT, 'data', 'drawn');
const METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'scorecam',
  'ablationcam', 'eigencam', 'counterfactual', 'guided-backprop', 'guided-gradcam'];
// the two networks, in the order make report gives them
const NETS = [
  { id: 'twoconv', name: 'two-conv network', weights: TWOCONV, side: 10, grid: { side: 10, off: 4.5, stride: 2 },
    parameters: 13066, macs: 699200, cam_layer: 'relu2', cascade: ['fc', 'conv2', 'conv1'] },
  { id: 'seednet', name: 'seed network', weights: WEIGHTS, side: 24, grid: { side: 24, off: 2, stride: 1 },
    parameters: 17602, macs: 190080, cam_layer: 'relu', cascade: ['fc', 'conv'] },
];
const FIGURES = ['confusion', 'gallery', 'mean_gradcam', 'errors', 'methods', 'deletion', 'insertion', 'sanity'];

const skip = !fs.existsSync(BIN) ? `${BIN} is not built (make native)`
  : !fs.existsSync(T10K) ? 'data/mnist is not fetched (make data)'
    : !fs.existsSync(WEIGHTS) ? `${WEIGHTS} does not exist (make train)` : false;
const skip2 = skip || (!fs.existsSync(TWOCONV) && `${TWOCONV} does not exist (make train)`);

function run(args) {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return r;
}
const lines = (r) => r.stdout.trim().split('\n').map((l) => JSON.parse(l));
const pct = (k, n) => `${(100 * k / n).toFixed(2)} %`;

// A weights file whose conv biases are very negative and conv weights zero:
// every activation is zero, so every method is undefined.
function deadWeights(dir) {
  const buf = fs.readFileSync(WEIGHTS);
  const n = Number(buf.readBigUInt64LE(0));
  const head = JSON.parse(buf.subarray(8, 8 + n).toString());
  const out = Buffer.from(buf);
  const view = (name) => {
    const [a, b] = head[name].data_offsets;
    return new Float32Array(out.buffer, out.byteOffset + 8 + n + a, (b - a) / 4);
  };
  view('conv.weight').fill(0);
  view('conv.bias').fill(-1);
  const f = path.join(dir, 'dead.safetensors');
  fs.writeFileSync(f, out);
  return f;
}

// Two small sets laid out as `make drawn` lays out data/drawn, from MNIST
// test images: `drawn`, images 0-299 in three styles (i % 3), and `writer`,
// 60 of one style: first two test images each network reads wrong (so that
// its figure has errors to frame), then from image 300 on. The styles files
// have the fields render.mjs writes (the report reads index, label and style
// and skips the rest).
const SYN = { drawn: { n: 300, styles: ['plain', 'thin', 'thick'] }, writer: { n: 60, styles: ['writer'] } };
function makeDrawn(dir) {
  const img = fs.readFileSync(T10K), lab = fs.readFileSync(T10K_LABELS);
  const errors = NETS.flatMap((net) => lines(run(['classify', '--weights', net.weights, '--json', T10K, '--limit', '10000']))
    .map((o, i) => (o.digit === lab[8 + i] ? -1 : i)).filter((i) => i >= 0).slice(0, 2));
  SYN.drawn.idx = Array.from({ length: 300 }, (_, i) => i);
  SYN.writer.idx = [...new Set(errors)];
  for (let i = 300; SYN.writer.idx.length < SYN.writer.n; i++) SYN.writer.idx.push(i);
  for (const [set, { idx, n, styles }] of Object.entries(SYN)) {
    fs.mkdirSync(path.join(dir, set), { recursive: true });
    const ih = Buffer.alloc(16), lh = Buffer.alloc(8);
    ih.writeUInt32BE(0x803, 0); ih.writeUInt32BE(n, 4); ih.writeUInt32BE(28, 8); ih.writeUInt32BE(28, 12);
    lh.writeUInt32BE(0x801, 0); lh.writeUInt32BE(n, 4);
    fs.writeFileSync(path.join(dir, set, 't10k-images-idx3-ubyte'),
      Buffer.concat([ih, ...idx.map((i) => img.subarray(16 + i * 784, 16 + (i + 1) * 784))]));
    fs.writeFileSync(path.join(dir, set, 't10k-labels-idx1-ubyte'), Buffer.concat([lh, Buffer.from(idx.map((i) => lab[8 + i]))]));
    const images = idx.map((t, i) => ({
      index: i, label: lab[8 + t], style: styles[i % styles.length], template: 'plain', rare: false,
      strokes: 1, points: 40, pen: 0.0582, height: 0.6, slant: -0.1, wobble: 0.02, off: [0.1, -0.2],
    }));
    fs.writeFileSync(path.join(dir, `${set}-styles.json`), JSON.stringify({
      set, seed: 20261207, count: n, files: [`${set}/t10k-images-idx3-ubyte`, `${set}/t10k-labels-idx1-ubyte`], images,
    }).replace(/\},\{"index"/g, '},\n{"index"'));
  }
}

for (const net of NETS) {
  describe(`explain --method, ${net.name}`, { skip: net.id === 'twoconv' ? skip2 : skip }, () => {
    const W = ['--weights', net.weights];
    for (const m of METHODS) {
      test(`${m}: JSON with method, side, grid and finite, non-negative maps`, () => {
        const r = run(['explain', ...W, '--method', m, '--class', 'all', '--json', T10K, '--limit', '3']);
        assert.equal(r.status, 0, r.stderr);
        const out = lines(r);
        assert.equal(out.length, 3);
        const side = m.startsWith('guided') ? 28 : net.side;
        for (const o of out) {
          assert.equal(o.method, m);
          assert.equal(o.side, side);
          assert.deepEqual(o.grid, m.startsWith('guided') ? { side: 28, off: 0, stride: 1 } : net.grid);
          assert.equal(o.undefined, undefined);
          assert.deepEqual(Object.keys(o.maps), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
          for (const rows of Object.values(o.maps)) {
            assert.equal(rows.length, side);
            for (const row of rows) {
              assert.equal(row.length, side);
              for (const v of row) assert.ok(Number.isFinite(v) && v >= 0, `${m}: ${v}`);
            }
          }
          // the predicted class's map is not empty (the seed's Grad-CAM of 9 may be: README)
          if (!(m === 'gradcam' && o.digit === 9) && m !== 'counterfactual')
            assert.ok(o.maps[o.digit].flat().some((v) => v > 0), `${m}: empty map for ${o.digit}`);
        }
      });
    }

    test('the default is gradcam, with the same maps as --method gradcam', () => {
      const a = run(['explain', ...W, '--json', T10K, '--index', '7']);
      const b = run(['explain', ...W, '--method', 'gradcam', '--json', T10K, '--index', '7']);
      assert.equal(a.status, 0);
      assert.equal(a.stdout, b.stdout);
      assert.equal(JSON.parse(a.stdout).method, 'gradcam');
    });

    test('methods differ from one another on the same digit', () => {
      const maps = METHODS.filter((m) => !m.startsWith('guided')).map((m) =>
        JSON.stringify(JSON.parse(run(['explain', ...W, '--method', m, '--json', T10K, '--index', '1']).stdout).maps));
      assert.equal(new Set(maps).size, maps.length);
    });
  });
}

describe('explain --method', { skip }, () => {
  let tmp;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('all activations zero: zero maps and "undefined", never NaN', () => {
    const w = deadWeights(tmp);
    for (const m of METHODS) {
      const r = run(['explain', '--weights', w, '--method', m, '--class', 'all', '--json', T10K, '--index', '0']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!/NaN|null/.test(r.stdout), `${m}: ${r.stdout.slice(0, 200)}`);
      const o = JSON.parse(r.stdout);
      assert.deepEqual(o.undefined, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], m);
      for (const rows of Object.values(o.maps)) assert.ok(rows.flat().every((v) => v === 0));
    }
  });

  test('an unknown method is a usage error that lists the methods', () => {
    const r = run(['explain', '--method', 'gradcam+++', T10K]);
    assert.equal(r.status, 2);
    const first = r.stderr.split('\n')[0];
    assert.match(first, /unknown method 'gradcam\+\+\+'/);
    for (const m of METHODS) assert.ok(first.includes(m), `${m} listed: ${first}`);
  });

  test('PNG overlays for a 28x28 method', () => {
    const out = path.join(tmp, 'png');
    const r = run(['explain', '--method', 'guided-gradcam', '--out', out, T10K, '--index', '3']);
    assert.equal(r.status, 0, r.stderr);
    const files = fs.readdirSync(out);
    assert.equal(files.length, 1);
    // the map of the predicted class, on its own scale, placed with no border
    const o = JSON.parse(run(['explain', '--method', 'guided-gradcam', '--json', T10K, '--index', '3']).stdout);
    assert.equal(files[0], `t10k-images-idx3-ubyte-3-class${o.digit}.png`);
    const map = o.maps[o.digit].flat(), img = decodePNG(fs.readFileSync(path.join(out, files[0])));
    assert.equal(img.width, 280);
    const { hot } = assertOverlayShows(img, { S: 280, grid: o.grid }, map, placedMax(map, 280, o.grid), files[0]);
    assert.ok(hot > 100, `${hot} pixels with heat`);
  });
});

// A tile of a report figure (TILE x TILE at x0, y0) shows image `pixels`:
// where the overlay is gray it is the input dimmed to half, or darker where
// faint heat (t < 0.16, whose inferno colour is near black) is blended in;
// never brighter. Most gray pixels are the dimmed input exactly.
function assertDigitUnder(img, x0, y0, S, pixels, what) {
  let gray = 0, same = 0;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = ((y0 + y) * img.width + x0 + x) * img.channels, [r, g, b] = img.data.subarray(i, i + 3);
      if (r !== g || g !== b) continue;
      gray++;
      const want = Math.round(0.5 * pixels[Math.floor((y * 28) / S) * 28 + Math.floor((x * 28) / S)]);
      if (r > want) assert.fail(`${what}: gray ${r} at (${x}, ${y}), brighter than the input's ${want}`);
      same += r === want;
    }
  assert.ok(gray > (S * S) / 4 && same > 0.9 * gray, `${what}: ${same} of ${gray} gray pixels are the input's`);
}

// The one-pixel frame around a tile: red for a wrong prediction, white (the
// figure's background) for a right one.
function assertFrame(img, x0, y0, S, wrong, what) {
  const want = wrong ? [235, 0, 0] : [255, 255, 255];
  for (let k = -1; k <= S; k++)
    for (const [x, y] of [[x0 + k, y0 - 1], [x0 + k, y0 + S], [x0 - 1, y0 + k], [x0 + S, y0 + k]]) {
      const i = (y * img.width + x) * img.channels;
      assert.deepEqual([...img.data.subarray(i, i + 3)], want, `${what}: frame pixel (${x}, ${y})`);
    }
}

// Each tile of a figure of digits against explain --json of the same images
// with the same weights: the digit, the map where its grid places it, the frame.
function assertTiles(file, idx, cols, images, weights, labels, what) {
  const img = decodePNG(fs.readFileSync(file));
  const S = img.width / cols - 2, limit = Math.max(...idx) + 1;
  assert.ok(Number.isInteger(S) && img.height === (idx.length / cols) * (S + 2), `${cols} columns of tiles (${img.width}x${img.height})`);
  const maps = lines(run(['explain', '--weights', weights, '--json', images, '--limit', String(limit)]));
  const buf = fs.readFileSync(images);
  let hot = 0, cold = 0, wrong = 0;
  idx.forEach((i, q) => {
    if (i < 0) return;
    const x0 = (q % cols) * (S + 2) + 1, y0 = Math.floor(q / cols) * (S + 2) + 1, o = maps[i], map = o.maps[o.digit].flat();
    const at = `${what}, image ${i} (row ${Math.floor(q / cols)}, column ${q % cols})`;
    const n = assertOverlayShows(img, { x0, y0, S, grid: o.grid }, map, placedMax(map, S, o.grid), at);
    assertDigitUnder(img, x0, y0, S, buf.subarray(16 + i * 784, 16 + (i + 1) * 784), at);
    assertFrame(img, x0, y0, S, o.digit !== labels[i], at);
    hot += n.hot; cold += n.cold; wrong += o.digit !== labels[i];
  });
  return { hot, cold, wrong, S };
}

describe('report, two networks and drawn sets', { skip: skip2 }, () => {
  let tmp, out, readme, drawn, r, metrics, labels;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-'));
    out = path.join(tmp, 'results');
    readme = path.join(tmp, 'README.md');
    drawn = path.join(tmp, 'drawn');
    makeDrawn(drawn);
    labels = fs.readFileSync(T10K_LABELS).subarray(8);
    fs.writeFileSync(readme, '# x\n\nbefore\n\n<!-- results:begin (old) -->\nold text\n<!-- results:end -->\n\nafter\n');
    r = run(['report', ...NETS.flatMap((n) => ['--weights', n.weights]), '--drawn', drawn, '--out', out,
      '--readme', readme, '--faith', '200', '--sanity', '40', '--drawn-faith', '100']);
    if (r.status === 0) metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const netOf = (id) => metrics.networks.find((n) => n.id === id);

  test('runs and writes every figure of each network, metrics.json and index.html', () => {
    assert.equal(r.status, 0, r.stderr);
    const want = ['metrics.json', 'index.html', 'results.css',
      ...NETS.flatMap((n) => [...FIGURES, 'drawn', 'writer'].map((f) => `${f}-${n.id}.png`))];
    for (const f of want) {
      const p = path.join(out, f);
      assert.ok(fs.existsSync(p) && fs.statSync(p).size > 100, f);
    }
    assert.deepEqual(fs.readdirSync(out).sort(), want.sort());
  });

  test('the networks as their weights files describe them, in the order given', () => {
    assert.deepEqual(metrics.networks.map((n) => n.id), NETS.map((n) => n.id));
    for (const want of NETS) {
      const n = netOf(want.id);
      assert.equal(n.name, want.name);
      assert.equal(n.weights, want.weights);
      assert.deepEqual(n.grid, want.grid);
      assert.equal(n.parameters, want.parameters);
      assert.equal(n.macs, want.macs);
      assert.equal(n.cam_layer, want.cam_layer);
      assert.deepEqual(n.cascade, want.cascade);
      assert.equal(n.alpha_fixed, true);
    }
    assert.equal(netOf('twoconv').receptive_field, 10);
    assert.equal(netOf('seednet').receptive_field, 5);
  });

  // The same test digits under both networks: the first ten of each class,
  // a row each, with the Grad-CAM map of the prediction on its own scale,
  // placed by the network's grid. (Checked to fail when report's overlays
  // blend no heat, when the frames are drawn for right predictions, and
  // when the second network's gallery starts one image later.)
  test('gallery-*.png: the same digits under each network, each with its Grad-CAM map; a red frame on each error', () => {
    const first = [];
    for (let c = 0; c < 10; c++)
      for (let i = 0, k = 0; k < 10; i++) if (labels[i] === c) { first.push(i); k++; }
    assert.deepEqual(metrics.gallery, first);
    for (const net of NETS) {
      const { hot, cold, S } = assertTiles(path.join(out, `gallery-${net.id}.png`), first, 10, T10K, net.weights,
        labels, `gallery-${net.id}.png`);
      assert.ok(hot > 100 * 30 && cold > (100 * S * S) / 8, `${net.id}: pixels checked: ${hot} with heat, ${cold} without`);
    }
  });

  test('drawn-*.png, writer-*.png: a row per style (or three of each class), the first digit of each class', () => {
    for (const [set, { n, styles }] of Object.entries(SYN)) {
      const meta = JSON.parse(fs.readFileSync(path.join(drawn, `${set}-styles.json`), 'utf8'));
      const lab = fs.readFileSync(path.join(drawn, set, 't10k-labels-idx1-ubyte')).subarray(8);
      assert.deepEqual(metrics.drawn_sets[set], { images: n, styles });
      const rows = styles.length > 1 ? styles.length : 3, want = Array(rows * 10).fill(-1);
      const seen = {};
      meta.images.forEach((im, i) => {
        const key = styles.length > 1 ? `${im.style}/${im.label}` : im.label, k = (seen[key] = (seen[key] ?? 0) + 1) - 1;
        if (styles.length > 1 && k === 0) want[styles.indexOf(im.style) * 10 + im.label] = i;
        if (styles.length === 1 && k < 3) want[k * 10 + im.label] = i;
      });
      assert.deepEqual(metrics.drawn_tiles[set], want, set);
      for (const net of NETS) {
        const { wrong } = assertTiles(path.join(out, `${set}-${net.id}.png`), want, 10,
          path.join(drawn, set, 't10k-images-idx3-ubyte'), net.weights, lab, `${set}-${net.id}.png`);
        // writer begins with two images each network reads wrong
        if (set === 'writer') assert.ok(wrong >= 2, `${net.id}: ${wrong} framed errors in writer-${net.id}.png`);
      }
    }
  });

  test('index.html is CSP-safe: no inline script or style; shows every figure of both networks; links resolve', () => {
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.ok(!/<script/i.test(html));
    assert.ok(!/<style/i.test(html));
    assert.ok(!/\sstyle=/i.test(html));
    assert.ok(!/\son[a-z]+=/i.test(html), 'no event handler attributes');
    const srcs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    for (const src of srcs) if (!src.startsWith('../')) assert.ok(fs.existsSync(path.join(out, src)), src);
    for (const f of fs.readdirSync(out).filter((f) => f.endsWith('.png'))) assert.ok(srcs.includes(f), `${f} shown`);
    for (const n of NETS) assert.ok(html.includes(`<figcaption>${n.name}</figcaption>`), n.name);
    // the classes the page uses are in results.css
    const css = fs.readFileSync(path.join(out, 'results.css'), 'utf8');
    for (const cls of new Set([...html.matchAll(/class="([^"]+)"/g)].flatMap((m) => m[1].split(' '))))
      assert.ok(new RegExp(`\\.${cls}\\b`).test(css), `.${cls} in results.css`);
  });

  test('accuracy and confusion matrices match eval, on MNIST and on each drawn set', () => {
    for (const net of NETS) {
      const m = netOf(net.id);
      const ev = JSON.parse(run(['eval', '--weights', net.weights, '--json']).stdout);
      assert.equal(m.mnist.correct, ev.correct);
      assert.deepEqual(m.mnist.confusion, ev.confusion);
      for (const set of Object.keys(SYN)) {
        const e = JSON.parse(run(['eval', '--weights', net.weights, '--data', path.join(drawn, set), '--json']).stdout);
        assert.equal(m.drawn[set].correct, e.correct, `${net.id} ${set}`);
        assert.equal(m.drawn[set].images, SYN[set].n);
        assert.deepEqual(m.drawn[set].confusion, e.confusion, `${net.id} ${set}`);
      }
    }
    assert.equal(metrics.faith_images, 200);
    assert.equal(metrics.sanity_images, 40);
    // the networks differ: this is a comparison, not one network twice
    assert.notDeepEqual(netOf('twoconv').mnist.confusion, netOf('seednet').mnist.confusion);
  });

  test('accuracy per style matches classify --json joined with the styles file', () => {
    for (const net of NETS)
      for (const [set, { n }] of Object.entries(SYN)) {
        const meta = JSON.parse(fs.readFileSync(path.join(drawn, `${set}-styles.json`), 'utf8'));
        const preds = lines(run(['classify', '--weights', net.weights, '--json', '--limit', String(n),
          path.join(drawn, set, 't10k-images-idx3-ubyte')])).map((o) => o.digit);
        const want = {};
        meta.images.forEach((im, i) => {
          const g = (want[im.style] ??= { correct: 0, total: 0 });
          g.correct += preds[i] === im.label; g.total++;
        });
        const got = netOf(net.id).drawn[set].styles;
        assert.deepEqual(Object.keys(got), Object.keys(want));
        for (const [k, g] of Object.entries(want)) {
          assert.equal(got[k].correct, g.correct, `${net.id} ${set} ${k}`);
          assert.equal(got[k].total, g.total, `${net.id} ${set} ${k}`);
        }
        // Grad-CAM, random and ink on the subset --drawn-faith 100 asks for
        const f = netOf(net.id).drawn[set];
        assert.equal(f.faith_images, Math.ceil(n / Math.max(1, Math.floor(n / 100))));
        assert.ok(f.faith.gradcam.deletion_auc < f.faith.random.deletion_auc, `${net.id} ${set} deletion`);
        assert.ok(f.faith.ink.insertion_auc > f.faith.random.insertion_auc, `${net.id} ${set} insertion`);
      }
  });

  test('metrics: every method and both baselines, numbers in range, for each network', () => {
    for (const net of NETS) {
      const { methods } = netOf(net.id);
      assert.deepEqual(Object.keys(methods), [...METHODS, 'random', 'ink']);
      for (const [m, v] of Object.entries(methods)) {
        const what = `${net.id} ${m}`;
        for (const k of ['deletion_auc', 'insertion_auc', 'average_drop', 'increase'])
          assert.ok(v[k] >= 0 && v[k] <= 1, `${what} ${k} ${v[k]}`);
        assert.equal(v.spearman_cascade.length, net.cascade.length, what);
        assert.equal(v.spearman_placed_cascade.length, net.cascade.length, what);
        for (const rho of [...v.spearman_cascade, ...v.spearman_placed_cascade]) assert.ok(Math.abs(rho) <= 1, what);
        assert.equal(v.spearman_dense, v.spearman_cascade[0]);
        assert.equal(v.spearman_all, v.spearman_cascade.at(-1));
        assert.equal(v.sanity_pass, v.spearman_cascade.every((rho) => rho < 0.5), what);
        assert.equal(v.deletion.length, 29);
        assert.equal(v.insertion.length, 29);
        // the curves start at the whole image and at a blank one
        assert.equal(v.deletion[0], methods.ink.deletion[0]);
        assert.equal(v.insertion[28], methods.ink.insertion[28]);
        assert.ok(v.map_ms >= 0);
      }
      const { random, ink, gradcam, eigencam, scorecam } = methods;
      // a random map is a random order: deletion and insertion alike, no better than ink
      assert.ok(Math.abs(random.deletion_auc - random.insertion_auc) < 0.1);
      assert.ok(ink.deletion_auc < random.deletion_auc && ink.insertion_auc > random.insertion_auc);
      assert.ok(gradcam.deletion_auc < random.deletion_auc);
      // Eigen-CAM never reads the dense layer; ink never reads the network
      assert.ok(eigencam.spearman_dense > 0.99);
      assert.ok(ink.spearman_dense === 1 && ink.spearman_all === 1);
      assert.ok(Math.abs(random.spearman_dense) < 0.1);
      // Grad-CAM reads the dense layer: its map changes when fc is randomised
      assert.ok(gradcam.spearman_dense < 0.5, `${net.id} gradcam ${gradcam.spearman_dense}`);
      // Score-CAM runs a forward pass per channel of A: 32 on the two-conv network, 12 on the seed
      assert.ok(scorecam.map_ms > gradcam.map_ms, `${net.id} scorecam ${scorecam.map_ms} ms, gradcam ${gradcam.map_ms} ms`);
    }
    // The zeros that placement adds around a 10x10 map are ties shared by
    // both maps: on the placed maps, rho is higher than on A's cells.
    const g = netOf('twoconv').methods.gradcam;
    assert.ok(g.spearman_placed_cascade[0] > g.spearman_cascade[0] + 0.1, `${g.spearman_placed_cascade[0]} vs ${g.spearman_cascade[0]}`);
  });

  test('the Grad-CAM empty-map counts match explain --json, for each network', () => {
    for (const net of NETS) {
      const empty = Array(10).fill(0), n = Array(10).fill(0);
      for (const o of lines(run(['explain', '--weights', net.weights, '--json', T10K, '--limit', '10000']))) {
        n[o.digit]++;
        if (o.maps[o.digit].flat().every((v) => v === 0)) empty[o.digit]++;
      }
      const m = netOf(net.id).mnist;
      assert.deepEqual(m.gradcam_empty_own_class.map((e) => e.empty), empty, net.id);
      assert.deepEqual(m.gradcam_empty_own_class.map((e) => e.predicted), n, net.id);
      assert.equal(m.gradcam_empty, empty.reduce((a, b) => a + b));
    }
  });

  test('goals: each value from the metrics, met as the target says', () => {
    for (const net of NETS) {
      const m = netOf(net.id), g = m.methods, mn = m.mnist;
      const rates = mn.gradcam_empty_own_class.map((e) => (e.predicted ? (100 * e.empty) / e.predicted : 0));
      const want = [
        [100 * mn.accuracy, 99.3, (v, t) => v >= t],
        [g.gradcam.deletion_auc / g.random.deletion_auc, 0.55, (v, t) => v <= t],
        [g.gradcam.insertion_auc / g.random.insertion_auc, 1.2, (v, t) => v >= t],
        [(100 * mn.gradcam_empty) / 10000, 1, (v, t) => v < t],
        [Math.max(...rates), 5, (v, t) => v < t],
      ];
      assert.equal(m.goals.length, want.length);
      want.forEach(([v, t, ok], q) => {
        assert.ok(Math.abs(m.goals[q].value - v) < 2e-3, `${net.id} goal ${q}: ${m.goals[q].value} vs ${v}`);
        assert.equal(m.goals[q].target, t);
        assert.equal(m.goals[q].met, ok(m.goals[q].value, t), `${net.id}: ${m.goals[q].goal}`);
      });
      assert.equal(m.goals[0].need, '9,930 correct of 10,000');
      assert.equal(m.goals[3].need, `fewer than 100 empty maps, has ${mn.gradcam_empty.toLocaleString('en-US')}`);
    }
  });

  test('README: only the part between the markers is rewritten, with both networks\' numbers', () => {
    const t = fs.readFileSync(readme, 'utf8');
    assert.ok(t.startsWith('# x\n\nbefore\n\n<!-- results:begin'));
    assert.ok(t.endsWith('<!-- results:end -->\n\nafter\n'));
    assert.ok(!t.includes('old text'));
    assert.ok(!/NaN|\bnull\b|-nan|inf\b/.test(t));
    for (const m of METHODS) assert.ok(t.includes(`| \`${m}\` |`), `${m} in the formula table`);
    const [tc, sd] = NETS.map((n) => netOf(n.id));
    assert.ok(t.includes(`| goal | two-conv network | seed network |`));
    // accuracy, per set
    assert.ok(t.includes(`| MNIST test accuracy | ${pct(tc.mnist.correct, 10000)} (`));
    for (const set of Object.keys(SYN))
      assert.ok(t.includes(`| **${set}** (${SYN[set].n}) | **${pct(tc.drawn[set].correct, SYN[set].n)}** | **${pct(sd.drawn[set].correct, SYN[set].n)}** |`), set);
    for (const [k, g] of Object.entries(tc.drawn.drawn.styles))
      assert.ok(t.includes(`| drawn: ${k} (${g.total}) | ${pct(g.correct, g.total)} | ${pct(sd.drawn.drawn.styles[k].correct, g.total)} |`), k);
    // the faithfulness table: each cell two-conv / seed
    for (const m of [...METHODS, 'random', 'ink']) {
      const a = tc.methods[m], b = sd.methods[m], pf = (v) => (v.sanity_pass ? 'pass' : 'fail');
      assert.ok(t.includes(`| ${m}${m === 'random' || m === 'ink' ? ' (baseline)' : ''} | ${a.deletion_auc.toFixed(3)} / ${b.deletion_auc.toFixed(3)} | ` +
        `${a.insertion_auc.toFixed(3)} / ${b.insertion_auc.toFixed(3)} |`), `${m} row`);
      assert.ok(t.includes(` | ${pf(a)} / ${pf(b)} |\n`), `${m} sanity`);
    }
    // goals, met or missed as metrics says
    for (let q = 0; q < 5; q++)
      assert.ok(t.includes(`| ${tc.goals[q].goal} | ${tc.goals[q].text}: ${tc.goals[q].met ? '**met**' : 'missed'} | ` +
        `${sd.goals[q].text}: ${sd.goals[q].met ? '**met**' : 'missed'} |`), tc.goals[q].goal);
    const met = tc.goals.filter((g) => g.met).length;
    assert.ok(t.includes(`The two-conv network meets ${met} of the 5 goals above`));
    for (const g of tc.goals.filter((g) => !g.met)) assert.ok(t.includes(`${g.goal} (${g.text}: it needs ${g.need})`), g.goal);
    // the discussion's figures are the run's
    assert.ok(t.includes(`Grad-CAM's deletion AUC is ${(tc.methods.gradcam.deletion_auc / tc.methods.random.deletion_auc).toFixed(3)}x the random map's`));
    assert.ok(t.includes(`cell q centred on input pixel 2q + 4.5`));
    assert.ok(t.includes(`all zero for ${sd.mnist.gradcam_empty.toLocaleString('en-US')} of the 10,000 test images`));
  });

  test('a README without markers is refused before the run', () => {
    const bad = path.join(tmp, 'bad.md');
    fs.writeFileSync(bad, 'no markers\n');
    const r3 = run(['report', '--out', path.join(tmp, 'r2'), '--readme', bad, '--faith', '1', '--sanity', '1']);
    assert.equal(r3.status, 1);
    assert.match(r3.stderr, /markers/);
    assert.equal(fs.readFileSync(bad, 'utf8'), 'no markers\n');
    assert.ok(!fs.existsSync(path.join(tmp, 'r2', 'metrics.json')));
  });

  test('bad input: a third network, drawn sets missing or not matching their styles file', () => {
    const o = path.join(tmp, 'r3'), base = ['report', '--out', o, '--faith', '1', '--sanity', '1'];
    const three = run([...base, '--weights', WEIGHTS, '--weights', WEIGHTS, '--weights', WEIGHTS]);
    assert.equal(three.status, 2);
    assert.match(three.stderr.split('\n')[0], /--weights: at most 2 networks/);
    const none = run([...base, '--drawn', path.join(tmp, 'nothing')]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /nothing\/drawn\/t10k-images-idx3-ubyte: no such file/);
    // a styles file whose labels are not the IDX file's
    const bad = path.join(tmp, 'bad-drawn');
    fs.cpSync(drawn, bad, { recursive: true });
    const f = path.join(bad, 'writer-styles.json'), meta = JSON.parse(fs.readFileSync(f, 'utf8'));
    meta.images[7].label = (meta.images[7].label + 1) % 10;
    fs.writeFileSync(f, JSON.stringify(meta));
    const r4 = run([...base, '--drawn', bad]);
    assert.equal(r4.status, 1);
    assert.match(r4.stderr, /writer-styles\.json: image 7: index 7, label \d/);
    fs.writeFileSync(f, '{"images": [');
    const r5 = run([...base, '--drawn', bad]);
    assert.equal(r5.status, 1);
    assert.match(r5.stderr, /writer-styles\.json: is not JSON/);
    assert.ok(!fs.existsSync(path.join(o, 'metrics.json')), 'nothing written');
  });
});

describe('report, one network', { skip }, () => {
  test('one column: the seed network alone, no drawn sets', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-'));
    try {
      const out = path.join(tmp, 'results'), readme = path.join(tmp, 'README.md');
      fs.writeFileSync(readme, '<!-- results:begin -->\n<!-- results:end -->\n');
      const r = run(['report', '--weights', WEIGHTS, '--out', out, '--readme', readme, '--faith', '20', '--sanity', '4']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(out).sort(),
        ['index.html', 'metrics.json', 'results.css', ...FIGURES.map((f) => `${f}-seednet.png`)].sort());
      const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
      assert.deepEqual(m.networks.map((n) => n.id), ['seednet']);
      assert.deepEqual(m.networks[0].drawn, {});
      const t = fs.readFileSync(readme, 'utf8');
      assert.ok(t.includes('| goal | seed network |\n| --- | --- |\n'));
      assert.ok(!t.includes('two-conv') && !t.includes("not MNIST's"));
      assert.ok(!/NaN|\bnull\b/.test(t));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// The sets make drawn wrote: report's accuracy per style is score.mjs's.
const noDrawn = skip2 || (!fs.existsSync(path.join(DRAWN, '.built')) && 'data/drawn not built (make drawn)');
describe('report on data/drawn', { skip: noDrawn }, () => {
  test('accuracy per set and per style as tools/drawn/score.mjs counts it, for each network', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-'));
    try {
      const r = run(['report', ...NETS.flatMap((n) => ['--weights', n.weights]), '--drawn', DRAWN, '--out', tmp,
        '--faith', '10', '--sanity', '2', '--drawn-faith', '20']);
      assert.equal(r.status, 0, r.stderr);
      const m = JSON.parse(fs.readFileSync(path.join(tmp, 'metrics.json'), 'utf8'));
      assert.equal(m.drawn_sets.drawn.images, 1100);
      assert.equal(m.drawn_sets.writer.images, 300);
      for (const net of NETS) {
        const s = spawnSync('node', [path.join(ROOT, 'tools/drawn/score.mjs'), '--weights', net.weights, '--json'],
          { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
        assert.equal(s.status, 0, s.stderr);
        for (const want of JSON.parse(s.stdout)) {
          const got = m.networks.find((n) => n.id === net.id).drawn[want.set];
          assert.equal(got.correct, want.correct, `${net.id} ${want.set}`);
          for (const [k, g] of Object.entries(want.style))
            assert.deepEqual([got.styles[k].correct, got.styles[k].total], [g.correct, g.total], `${net.id} ${want.set} ${k}`);
        }
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// The page's path: the same methods through web/digitlens.js and the .wasm
// agree with the native build (same weights file), for each network.
describe('methods in WebAssembly', { skip: skip2 || (!fs.existsSync(path.join(ROOT, 'web', 'digitlens.wasm')) && 'web/*.wasm not built') }, () => {
  for (const net of NETS)
    test(`every method, ${net.name}: the maps equal the native ones within 1e-4 of their maximum`, async () => {
      const { load, METHODS: JS_METHODS } = await import('../../web/digitlens.js');
      assert.deepEqual([...JS_METHODS], METHODS);
      const lens = await load({ weights: new Uint8Array(fs.readFileSync(net.weights)) });
      const buf = fs.readFileSync(T10K);
      for (const idx of [0, 4]) {
        const x = Float32Array.from(buf.subarray(16 + idx * 784, 16 + (idx + 1) * 784), (v) => v / 255);
        for (const m of METHODS) {
          const r = lens.explain(x, { method: m });
          const o = JSON.parse(run(['explain', '--weights', net.weights, '--method', m, '--class', 'all', '--json', T10K,
            '--index', String(idx)]).stdout);
          assert.equal(r.method, m);
          assert.equal(r.side, o.side);
          assert.equal(r.digit, o.digit);
          for (let c = 0; c < 10; c++) {
            const want = o.maps[c].flat(), got = r.maps[c];
            const mx = Math.max(1e-6, ...want);
            for (let i = 0; i < want.length; i++)
              assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * mx, `${m} class ${c} [${i}]: ${got[i]} vs ${want[i]}`);
          }
          // the heatmap of a 28x28 map goes through the same display path
          const h = lens.heatmap(r.maps, r.digit, { width: 28 });
          assert.equal(h.data.length, 28 * 28 * 4);
        }
      }
      assert.throws(() => lens.explain(new Float32Array(784), { method: 'nope' }), /unknown method 'nope'/);
    });
});
