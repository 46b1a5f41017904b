// report.test.js — `explain --method` (every method, JSON shape, the
// undefined field, the usage error) and `report` on a small subset: the
// files it writes, its metrics, and the README part it rewrites.
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
const T10K = path.join(ROOT, 'data', 'mnist', 't10k-images-idx3-ubyte');
const T10K_LABELS = path.join(ROOT, 'data', 'mnist', 't10k-labels-idx1-ubyte');
const METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'scorecam',
  'ablationcam', 'eigencam', 'counterfactual', 'guided-backprop', 'guided-gradcam'];

const skip = !fs.existsSync(BIN) ? `${BIN} is not built (make native)`
  : !fs.existsSync(T10K) ? 'data/mnist is not fetched (make data)'
    : !fs.existsSync(WEIGHTS) ? `${WEIGHTS} does not exist (make train)` : false;

function run(args) {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return r;
}

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

describe('explain --method', { skip }, () => {
  let tmp;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const m of METHODS) {
    test(`${m}: JSON with method, side and finite, non-negative maps`, () => {
      const r = run(['explain', '--method', m, '--class', 'all', '--json', T10K, '--limit', '3']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 3);
      const side = m.startsWith('guided') ? 28 : 24;
      for (const o of lines) {
        assert.equal(o.method, m);
        assert.equal(o.side, side);
        assert.equal(o.undefined, undefined);
        assert.deepEqual(Object.keys(o.maps), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        for (const rows of Object.values(o.maps)) {
          assert.equal(rows.length, side);
          for (const row of rows) {
            assert.equal(row.length, side);
            for (const v of row) assert.ok(Number.isFinite(v) && v >= 0, `${m}: ${v}`);
          }
        }
        // the predicted class's map is not empty (Grad-CAM of 9 may be: README)
        if (!(m === 'gradcam' && o.digit === 9) && m !== 'counterfactual')
          assert.ok(o.maps[o.digit].flat().some((v) => v > 0), `${m}: empty map for ${o.digit}`);
      }
    });
  }

  test('the default is gradcam, with the same maps as --method gradcam', () => {
    const a = run(['explain', '--json', T10K, '--index', '7']);
    const b = run(['explain', '--method', 'gradcam', '--json', T10K, '--index', '7']);
    assert.equal(a.status, 0);
    assert.equal(a.stdout, b.stdout);
    assert.equal(JSON.parse(a.stdout).method, 'gradcam');
  });

  test('methods differ from one another on the same digit', () => {
    const maps = METHODS.filter((m) => !m.startsWith('guided')).map((m) =>
      JSON.stringify(JSON.parse(run(['explain', '--method', m, '--json', T10K, '--index', '1']).stdout).maps));
    assert.equal(new Set(maps).size, maps.length);
  });

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
    const { hot } = assertOverlayShows(img, { S: 280 }, map, placedMax(map, 280), files[0]);
    assert.ok(hot > 100, `${hot} pixels with heat`);
  });
});

describe('report', { skip }, () => {
  let tmp, out, readme, r, metrics;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-report-'));
    out = path.join(tmp, 'results');
    readme = path.join(tmp, 'README.md');
    fs.writeFileSync(readme, '# x\n\nbefore\n\n<!-- results:begin (old) -->\nold text\n<!-- results:end -->\n\nafter\n');
    r = run(['report', '--out', out, '--readme', readme, '--faith', '200', '--sanity', '40']);
    if (r.status === 0) metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('runs and writes every figure, metrics.json and index.html', () => {
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['confusion.png', 'gallery.png', 'mean_gradcam.png', 'errors.png', 'methods.png',
      'deletion.png', 'insertion.png', 'sanity.png', 'metrics.json', 'index.html', 'results.css']) {
      const p = path.join(out, f);
      assert.ok(fs.existsSync(p) && fs.statSync(p).size > 100, f);
    }
  });

  // The gallery: the first ten test digits of each class (a row each), each
  // with the Grad-CAM map of its predicted class on its own scale. (Checked to
  // fail when report's overlays blend no heat, opacity 0.)
  test('gallery.png: each digit with the Grad-CAM map of its prediction, where the map places it', () => {
    const img = decodePNG(fs.readFileSync(path.join(out, 'gallery.png')));
    const S = img.width / 10 - 2; // tiles of S x S, 2 pixels apart
    assert.ok(Number.isInteger(S) && img.height === img.width, `10 x 10 tiles (${img.width}x${img.height})`);
    const labels = fs.readFileSync(T10K_LABELS).subarray(8), first = [];
    for (let c = 0; c < 10; c++)
      for (let i = 0, k = 0; k < 10; i++) if (labels[i] === c) first.push({ i, c, k: k++ });
    const limit = Math.max(...first.map((t) => t.i)) + 1;
    const maps = run(['explain', '--json', T10K, '--limit', String(limit)]).stdout.trim().split('\n').map((l) => JSON.parse(l));
    let hot = 0, cold = 0;
    for (const { i, c, k } of first) {
      const o = maps[i], map = o.maps[o.digit].flat();
      const n = assertOverlayShows(img, { x0: k * (S + 2) + 1, y0: c * (S + 2) + 1, S }, map, placedMax(map, S),
        `test image ${i} (row ${c}, column ${k})`);
      hot += n.hot;
      cold += n.cold;
    }
    assert.ok(hot > 100 * 50 && cold > 100 * S * S / 4, `pixels checked: ${hot} with heat, ${cold} without`);
  });

  test('index.html is CSP-safe: no inline script or style, links resolve', () => {
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.ok(!/<script/i.test(html));
    assert.ok(!/<style/i.test(html));
    assert.ok(!/\sstyle=/i.test(html));
    for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g))
      if (!src.startsWith('../')) assert.ok(fs.existsSync(path.join(out, src)), src);
  });

  test('accuracy and confusion matrix match eval', () => {
    const ev = JSON.parse(run(['eval', '--json']).stdout);
    assert.equal(metrics.correct, ev.correct);
    assert.deepEqual(metrics.confusion, ev.confusion);
    assert.equal(metrics.faith_images, 200);
    assert.equal(metrics.sanity_images, 40);
  });

  test('metrics: every method and both baselines, numbers in range', () => {
    assert.deepEqual(Object.keys(metrics.methods), [...METHODS, 'random', 'ink']);
    for (const [m, v] of Object.entries(metrics.methods)) {
      for (const k of ['deletion_auc', 'insertion_auc', 'average_drop', 'increase'])
        assert.ok(v[k] >= 0 && v[k] <= 1, `${m} ${k} ${v[k]}`);
      assert.ok(Math.abs(v.spearman_dense) <= 1 && Math.abs(v.spearman_all) <= 1);
      assert.equal(v.deletion.length, 29);
      assert.equal(v.insertion.length, 29);
      // the curves start at the whole image and at a blank one
      assert.equal(v.deletion[0], metrics.methods.ink.deletion[0]);
      assert.equal(v.insertion[28], metrics.methods.ink.insertion[28]);
      assert.equal(v.sanity_pass, v.spearman_dense < 0.5 && v.spearman_all < 0.5);
    }
    const { random, ink, gradcam, eigencam } = metrics.methods;
    // a random map is a random order: deletion and insertion alike, no better than ink
    assert.ok(Math.abs(random.deletion_auc - random.insertion_auc) < 0.1);
    assert.ok(ink.deletion_auc < random.deletion_auc && ink.insertion_auc > random.insertion_auc);
    assert.ok(gradcam.deletion_auc < random.deletion_auc);
    // Eigen-CAM never reads the dense layer; ink never reads the network
    assert.ok(eigencam.spearman_dense > 0.99);
    assert.ok(ink.spearman_dense === 1 && ink.spearman_all === 1);
    assert.ok(Math.abs(random.spearman_dense) < 0.1);
  });

  test('the Grad-CAM empty-map count matches explain --json', () => {
    const r2 = run(['explain', '--json', T10K, '--limit', '10000']);
    const empty = Array(10).fill(0), n = Array(10).fill(0);
    for (const l of r2.stdout.trim().split('\n')) {
      const o = JSON.parse(l);
      n[o.digit]++;
      if (o.maps[o.digit].flat().every((v) => v === 0)) empty[o.digit]++;
    }
    assert.deepEqual(metrics.gradcam_empty_own_class.map((e) => e.empty), empty);
    assert.deepEqual(metrics.gradcam_empty_own_class.map((e) => e.predicted), n);
  });

  test('README: only the part between the markers is rewritten', () => {
    const t = fs.readFileSync(readme, 'utf8');
    assert.ok(t.startsWith('# x\n\nbefore\n\n<!-- results:begin'));
    assert.ok(t.endsWith('<!-- results:end -->\n\nafter\n'));
    assert.ok(!t.includes('old text'));
    for (const m of METHODS) assert.ok(t.includes(`| \`${m}\` |`), `${m} in the formula table`);
    assert.match(t, /99\.\d\d % on the MNIST test set/);
    assert.ok(!/NaN|\bnull\b/.test(t));
  });

  test('a README without markers is refused before the run', () => {
    const bad = path.join(tmp, 'bad.md');
    fs.writeFileSync(bad, 'no markers\n');
    const r3 = run(['report', '--out', path.join(tmp, 'r2'), '--readme', bad, '--faith', '1', '--sanity', '1']);
    assert.equal(r3.status, 1);
    assert.match(r3.stderr, /markers/);
    assert.equal(fs.readFileSync(bad, 'utf8'), 'no markers\n');
  });
});

// The page's path: the same methods through web/digitlens.js and the .wasm
// agree with the native build (same weights file).
describe('methods in WebAssembly', { skip: skip || (!fs.existsSync(path.join(ROOT, 'web', 'digitlens.wasm')) && 'web/*.wasm not built') }, () => {
  test('every method: the maps equal the native ones within 1e-4 of their maximum', async () => {
    const { load, METHODS: JS_METHODS } = await import('../../web/digitlens.js');
    assert.deepEqual([...JS_METHODS], METHODS);
    const lens = await load({ weights: new Uint8Array(fs.readFileSync(WEIGHTS)) });
    const buf = fs.readFileSync(T10K);
    for (const idx of [0, 4]) {
      const x = Float32Array.from(buf.subarray(16 + idx * 784, 16 + (idx + 1) * 784), (v) => v / 255);
      for (const m of METHODS) {
        const r = lens.explain(x, { method: m });
        const o = JSON.parse(run(['explain', '--method', m, '--class', 'all', '--json', T10K, '--index', String(idx)]).stdout);
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
