// wasm.test.js — web/digitlens.js and the four .wasm builds under Node (the
// page's Grad-CAM-only module and the full one with every method, each with
// and without SIMD): they load with zero imports and fixed memory; on the
// first 1,000 MNIST test images they agree with the native build (digits,
// logits, probs and Grad-CAM maps the same bits), and the
// small module's Grad-CAM is the full module's to the bit; an engine without
// SIMD (tests/node/nosimd.js) gets the plain builds, with the same bits; bad
// arguments throw errors that say what is wrong; 10,000 calls in a row leave
// the memory as it was.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load, simdSupported, wasmFile, DigitLensError, METHODS } from '../../web/digitlens.js';
import { safetensors } from './safetensors.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB = path.join(ROOT, 'web');
const BIN = path.join(ROOT, 'build', 'digitlens');
// DIGITLENS_WEIGHTS: any weights file, to run the parity test before training
const WEIGHTS = process.env.DIGITLENS_WEIGHTS || path.join(ROOT, 'weights', 'seednet.safetensors');
const T10K = path.join(ROOT, 'data', 'mnist', 't10k-images-idx3-ubyte');
const BUILDS = { simd: 'digitlens.wasm', nosimd: 'digitlens-nosimd.wasm',
  full: 'digitlens-full.wasm', 'full-nosimd': 'digitlens-full-nosimd.wasm' };
const FULL = (b) => b.startsWith('full');
const N_PARITY = 1000;

const noWasm = Object.values(BUILDS).every((f) => fs.existsSync(path.join(WEB, f)))
  ? false : 'web/*.wasm not built (make wasm)';
const noWeights = noWasm || (fs.existsSync(WEIGHTS) ? false : `${WEIGHTS} does not exist yet (make train)`);
const noData = noWeights || (fs.existsSync(T10K) ? false : 'data/mnist not fetched (make data)');
const noNative = noData || (fs.existsSync(BIN) ? false : `${BIN} not built (make native)`);

const wasmURL = (b) => pathToFileURL(path.join(WEB, BUILDS[b]));
const weightBytes = () => new Uint8Array(fs.readFileSync(WEIGHTS));
// fn throws a DigitLensError with this code (if given) and a message matching re
const throwsDL = (fn, code, re) => assert.throws(fn, (e) => {
  assert.ok(e instanceof DigitLensError, `DigitLensError, got ${e}`);
  if (code) assert.equal(e.code, code, e.message);
  assert.match(e.message, re);
  return true;
});

function mnist(n) {
  const buf = fs.readFileSync(T10K);
  assert.equal(buf.readUInt32BE(0), 0x803);
  return Array.from({ length: n }, (_, i) =>
    Float32Array.from(buf.subarray(16 + i * 784, 16 + (i + 1) * 784), (v) => v / 255));
}

const seednetShapes = { 'conv.weight': [12, 1, 5, 5], 'conv.bias': [12], 'fc.weight': [10, 1728], 'fc.bias': [10] };
const count = (shape) => shape.reduce((a, b) => a * b, 1);
function randomWeights(seed = 1, shapes = seednetShapes, fill) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  return safetensors(Object.fromEntries(Object.entries(shapes).map(([k, sh]) =>
    [k, [sh, Float32Array.from({ length: count(sh) }, fill || rnd)]])));
}

// |a - b| <= rtol * max(|a|, |b|, scale): relative, with the map's (or the
// logits') magnitude as the floor so values near zero compare sensibly.
function assertClose(a, b, rtol, scale, what) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const tol = rtol * Math.max(Math.abs(a[i]), Math.abs(b[i]), scale);
    if (!(Math.abs(a[i] - b[i]) <= tol))
      assert.fail(`${what}[${i}]: wasm ${a[i]} vs native ${b[i]}, |diff| ${Math.abs(a[i] - b[i])} > ${tol}`);
  }
}
const maxAbs = (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe('wasm module', { skip: noWasm }, () => {
  for (const b of Object.keys(BUILDS)) {
    test(`${BUILDS[b]}: zero imports, dl_ exports, memory that cannot grow`, async () => {
      const mod = await WebAssembly.compile(fs.readFileSync(path.join(WEB, BUILDS[b])));
      assert.deepEqual(WebAssembly.Module.imports(mod), []);
      const names = WebAssembly.Module.exports(mod).map((e) => e.name);
      for (const n of ['dl_load_weights', 'dl_classify', 'dl_explain', 'dl_preprocess_rgba',
        'dl_preprocess_gray', 'dl_heat', 'dl_last_error', 'dl_explain_method', 'dl_method_count',
        'dl_method_name', 'dl_frame', 'memory'])
        assert.ok(names.includes(n), `exports ${n}`);
      const { exports: x } = await WebAssembly.instantiate(mod, {});
      assert.throws(() => x.memory.grow(1), RangeError, 'memory is fixed');
      // the methods it has: all of them, or Grad-CAM alone
      assert.equal(x.dl_method_count(), FULL(b) ? METHODS.length : 1);
      const u8 = new Uint8Array(x.memory.buffer), name = (i) => {
        const p = x.dl_method_name(i);
        return new TextDecoder().decode(u8.subarray(p, u8.indexOf(0, p)));
      };
      assert.deepEqual(Array.from({ length: x.dl_method_count() }, (_, i) => name(i)), METHODS.slice(0, x.dl_method_count()));
      assert.equal(name(x.dl_method_count()), '', 'no name past the last method');
    });
  }

  test('the Grad-CAM-only module is the smaller one, SIMD and not', () => {
    for (const [small, full] of [['simd', 'full'], ['nosimd', 'full-nosimd']]) {
      const a = fs.statSync(path.join(WEB, BUILDS[small])).size, b = fs.statSync(path.join(WEB, BUILDS[full])).size;
      assert.ok(a < b - 2048, `${BUILDS[small]} (${a} bytes) is smaller than ${BUILDS[full]} (${b})`);
    }
  });

  test('the SIMD builds use SIMD; the others validate with MVP features only', () => {
    const mvp = (f) => spawnSync('wasm-opt', ['--mvp-features', '--enable-mutable-globals', '--enable-sign-ext',
      path.join(WEB, f), '-o', os.devNull], { encoding: 'utf8' });
    for (const [plainB, simdB] of [['nosimd', 'simd'], ['full-nosimd', 'full']]) {
      const plain = mvp(BUILDS[plainB]), simd = mvp(BUILDS[simdB]);
      if (plain.error) throw plain.error;
      assert.equal(plain.status, 0, plain.stderr);
      assert.notEqual(simd.status, 0, `${BUILDS[simdB]} has SIMD instructions`);
      assert.match(simd.stderr, /all used features should be allowed/);
    }
    assert.ok(simdSupported(), 'Node 20 runs WASM SIMD');
  });
});

describe('digitlens.js in Node', { skip: noWeights }, () => {
  let lens, x;
  before(async () => {
    lens = await load({ weights: pathToFileURL(WEIGHTS) });
    x = noData ? new Float32Array(784).fill(0.5) : mnist(1)[0];
  });

  test('load() picks the SIMD build here and reads the weights from a file: URL', async () => {
    assert.equal(lens.simd, true);
    assert.equal(typeof lens.metadata, 'object');
    const fromBytes = await load({ weights: weightBytes().buffer });
    assert.deepEqual(fromBytes.classify(x), lens.classify(x));
  });

  // README: browsers without WebAssembly SIMD get the -nosimd twins. Node
  // here is made such an engine (nosimd.js: every SIMD module refused), in a
  // process of its own; the loader must see it and load the plain builds, and
  // they give this process's SIMD results bit for bit. (Checked to fail with
  // a simdSupported() that always says yes: the SIMD build is refused.)
  test('an engine without SIMD: simdSupported() says no, load() takes the -nosimd builds, the same bits', { skip: noData }, async () => {
    const imgs = mnist(20);
    const child = `
      import { withoutSimd } from ${JSON.stringify(new URL('./nosimd.js', import.meta.url).href)};
      withoutSimd();
      const { load, simdSupported, wasmFile } = await import(${JSON.stringify(pathToFileURL(path.join(WEB, 'digitlens.js')).href)});
      const fs = await import('node:fs');
      const { weights, imgs } = JSON.parse(fs.readFileSync(0, 'utf8'));
      const simdBytes = fs.readFileSync(${JSON.stringify(path.join(WEB, BUILDS.simd))});
      const refused = await WebAssembly.compile(simdBytes).then(() => false, (e) => e instanceof WebAssembly.CompileError);
      const w = new Uint8Array(fs.readFileSync(weights));
      const small = await load({ weights: w, methods: 'gradcam' }), full = await small.withAllMethods();
      const out = (r) => ({ digit: r.digit, logits: [...r.logits], probs: [...r.probs], maps: r.maps.map((m) => [...m]) });
      console.log(JSON.stringify({ probe: simdSupported(), files: [wasmFile('gradcam'), wasmFile('all')],
        simd: [small.simd, full.simd], validates: WebAssembly.validate(simdBytes), refused,
        small: imgs.map((x) => out(small.explain(x))), full: imgs.map((x) => out(full.explain(x))) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child],
      { input: JSON.stringify({ weights: WEIGHTS, imgs: imgs.map((x) => [...x]) }), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `the engine without SIMD:\n${r.stderr}`);
    const o = JSON.parse(r.stdout);
    assert.equal(o.validates, false, 'the engine refuses the SIMD build (validate)');
    assert.ok(o.refused, 'the engine refuses the SIMD build (compile: a CompileError)');
    assert.equal(o.probe, false, 'simdSupported() sees it');
    assert.deepEqual(o.files, [BUILDS.nosimd, BUILDS['full-nosimd']]);
    assert.deepEqual(o.simd, [false, false], 'load() took the plain builds');
    const full = await load({ weights: weightBytes() });
    assert.equal(full.simd, true);
    imgs.forEach((x, i) => {
      for (const [got, want] of [[o.small[i], lens.explain(x)], [o.full[i], full.explain(x)]]) {
        assert.equal(got.digit, want.digit);
        assert.deepEqual(Float32Array.from(got.logits), want.logits, `image ${i}: logits`);
        assert.deepEqual(Float32Array.from(got.probs), want.probs, `image ${i}: probabilities`);
        got.maps.forEach((m, c) => assert.deepEqual(Float32Array.from(m), want.maps[c], `image ${i}: map ${c}`));
      }
    });
  });

  test("load({ methods }): 'all' by default, 'gradcam' the small module; withAllMethods()", async () => {
    assert.equal(wasmFile('gradcam', true), 'digitlens.wasm');
    assert.equal(wasmFile('gradcam', false), 'digitlens-nosimd.wasm');
    assert.equal(wasmFile('all', true), 'digitlens-full.wasm');
    assert.equal(wasmFile('all', false), 'digitlens-full-nosimd.wasm');
    assert.throws(() => wasmFile('some'), /methods must be 'all' or 'gradcam'/);
    assert.deepEqual(lens.methods, METHODS, 'load() has every method');
    const small = await load({ weights: weightBytes(), methods: 'gradcam' });
    assert.deepEqual(small.methods, ['gradcam']);
    assert.deepEqual(small.explain(x), lens.explain(x), 'the same Grad-CAM, to the bit');
    assert.throws(() => small.explain(x, { method: 'gradcam++' }), (e) => e instanceof DigitLensError &&
      e.code === 'METHOD' && /Grad-CAM alone, not 'gradcam\+\+'.*withAllMethods/.test(e.message));
    assert.throws(() => small.explain(x, { method: 'nope' }), /unknown method 'nope'/);
    const full = await small.withAllMethods();
    assert.deepEqual(full.methods, METHODS);
    for (const method of ['gradcam', 'gradcam++', 'scorecam'])
      assert.deepEqual(full.explain(x, { method }), lens.explain(x, { method }), `${method} with the same weights`);
    await assert.rejects(load({ methods: 'some' }), /methods must be 'all' or 'gradcam'/);
  });

  test("the small module's Grad-CAM equals the full module's on 200 test images, and a dead input", { skip: noData }, async () => {
    const runs = [];
    for (const b of ['simd', 'full', 'nosimd', 'full-nosimd'])
      runs.push(await load({ weights: weightBytes(), wasm: wasmURL(b) }));
    const imgs = mnist(200);
    for (const [i, img] of imgs.entries()) {
      const [s, f, sn, fn] = runs.map((l) => l.explain(img));
      assert.deepEqual(s, f, `image ${i}: SIMD`);
      assert.deepEqual(sn, fn, `image ${i}: no SIMD`);
    }
    // Weights that make every ReLU map zero: Grad-CAM is undefined for every
    // class, and the small module says so as the full one does.
    const dead = randomWeights(1, seednetShapes, () => -0.1);
    for (const l of runs) l.setWeights(dead);
    const [s, f] = runs.map((l) => l.explain(imgs[0]));
    assert.deepEqual(f.undefined, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(s, f, 'dead maps');
  });

  test('frame(): where the 28x28 frame lies on the preprocessed image, either polarity', () => {
    // a bar 24 px wide and 80 tall, white on black, its top-left at (130, 40)
    const W = 240, H = 200, img = new Uint8Array(W * H);
    for (let y = 40; y < 120; y++) img.fill(255, y * W + 130, y * W + 154);
    const x28 = lens.preprocess({ data: img, width: W, height: H });
    const f = lens.frame();
    assert.ok(Math.abs(f.scale - 80 / 20) < 1e-6, `scale ${f.scale}: the box's long side / 20`);
    // the 28x28 centre of mass lands on the image's (142, 80)
    let n = 0, nx = 0, ny = 0;
    x28.forEach((v, i) => { n += v; nx += v * ((i % 28) + 0.5); ny += v * (Math.floor(i / 28) + 0.5); });
    assert.ok(Math.abs(f.ox + f.scale * (nx / n) - 142) < 1e-3, `x: ${f.ox + f.scale * (nx / n)}`);
    assert.ok(Math.abs(f.oy + f.scale * (ny / n) - 80) < 1e-3, `y: ${f.oy + f.scale * (ny / n)}`);
    // dark ink on white paper: the same frame
    lens.preprocess({ data: img.map((v) => 255 - v), width: W, height: H });
    assert.deepEqual(lens.frame(), f);
    // pixels explained meanwhile, even rejected ones, do not move it (the
    // fuzzer found NaN here: the frame was read from the input buffer)
    const corner = new Float32Array(784); // its centre of mass far from (14, 14)
    corner[0] = 1;
    lens.explain(corner);
    assert.deepEqual(lens.frame(), f);
    assert.throws(() => lens.classify(new Float32Array(784).fill(7)), /0\.\.1/);
    assert.throws(() => lens.explain(new Float32Array(784).fill(NaN)), /NaN/);
    assert.deepEqual(lens.frame(), f);
    // after a failed preprocess there is no frame
    assert.throws(() => lens.preprocess({ data: new Uint8Array(W * H), width: W, height: H }), /blank/);
    assert.throws(() => lens.frame(), (e) => e instanceof DigitLensError && /frame: no image preprocessed/.test(e.message));
  });

  test('classify and explain return what the module promises', () => {
    const c = lens.classify(x), e = lens.explain(x);
    assert.ok(Number.isInteger(c.digit) && c.digit >= 0 && c.digit <= 9);
    assert.ok(c.probs instanceof Float32Array && c.probs.length === 10);
    assert.ok(Math.abs(c.probs.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(e.digit, c.digit);
    assert.deepEqual(e.probs, c.probs);
    assert.equal(e.logits.length, 10);
    assert.equal(e.maps.length, 10);
    for (const m of e.maps) {
      assert.ok(m instanceof Float32Array && m.length === 576);
      assert.ok(m.every((v) => Number.isFinite(v) && v >= 0), 'raw maps are ReLU output');
    }
    const one = lens.explain(x, { classes: 3 });
    assert.deepEqual(one.maps[3], e.maps[3]);
    assert.equal(one.maps[2], null);
    const two = lens.explain(x, { classes: [1, 8] });
    assert.deepEqual(two.maps[8], e.maps[8]);
  });

  test('explain({ into }) refills an earlier result in place, with the same numbers as a fresh one', () => {
    const y = Float32Array.from(x, (v, i) => (i % 28 < 14 ? v : 0)); // the left half only
    const fx = lens.explain(x), fy = lens.explain(y);
    assert.notDeepEqual(fx.maps, fy.maps, 'two inputs, two answers');
    fy.maps[0][0] = -1; // fresh results are independent arrays
    assert.notEqual(fx.maps[0][0], -1);
    const r = lens.explain(x);
    const arrays = [r.logits, r.probs, ...r.maps];
    assert.equal(lens.explain(y, { into: r }), r, 'the same object back');
    assert.deepEqual({ ...r, maps: r.maps.map((m) => [...m]) },
      { ...lens.explain(y), maps: lens.explain(y).maps.map((m) => [...m]) });
    [r.logits, r.probs, ...r.maps].forEach((a, i) => assert.equal(a, arrays[i], 'its arrays reused, not new'));
    lens.explain(x, { into: r, classes: [2] });
    assert.deepEqual([...r.maps[2]], [...fx.maps[2]]);
    assert.equal(r.maps[3], null);
    assert.throws(() => lens.explain(x, { into: {} }), /into must be a result of an earlier explain/);
  });

  test('place() puts map cell (i,j) on input pixel (i+2, j+2)', () => {
    const map = Float32Array.from({ length: 576 }, (_, k) => 1 + (k % 24) + 24 * Math.floor(k / 24));
    const p = lens.place(map, 28, 28);
    for (let i = 0; i < 24; i++)
      for (let j = 0; j < 24; j++) assert.equal(p[(i + 2) * 28 + j + 2], map[i * 24 + j]);
    assert.equal(p[0], 0, 'the 2-pixel border is zero');
    assert.equal(lens.place(map, 280, 140).length, 280 * 140);
  });

  test('weights files describe their network: the two-conv network loads into the same module, bad architectures are refused and the weights in use stay', async () => {
    const seedsDir = path.join(ROOT, 'tests', 'fuzz', 'seeds', 'safetensors');
    const other = await load({ weights: weightBytes() });
    assert.equal(other.mapSide, 24);
    const x = new Float32Array(784);
    for (let i = 200; i < 600; i += 3) x[i] = 0.8;
    const before = other.explain(x);
    for (const [file, code, why] of [['arch-unknown-kind', 'ARCH', /weights: architecture: layer 2 'p1': unknown kind 'avgpool'/],
      ['arch-cam-missing', 'CAM_LAYER', /cam_layer 'relu9' is not a layer/],
      ['arch-cam-not-a-map', 'CAM_LAYER', /cam_layer must be a conv or relu/],
      ['arch-tensors-mismatch', 'SHAPE', /tensor c2\.weight: its shape is not the architecture's/],
      ['arch-too-wide', 'TOO_LARGE', /filters must be 1 to 64/]]) {
      throwsDL(() => other.setWeights(fs.readFileSync(path.join(seedsDir, file))), code, why);
      const same = other.explain(x);
      assert.deepEqual([...same.logits], [...before.logits], `${file}: the weights in use stay`);
      assert.equal(other.mapSide, 24);
    }
    // a network without the closed form runs in the full module; its 11x11 maps
    other.setWeights(fs.readFileSync(path.join(seedsDir, 'arch-tiny')));
    assert.equal(other.mapSide, 11);
    const r = other.explain(x);
    assert.equal(r.side, 11);
    assert.equal(r.maps[r.digit].length, 121);
    assert.equal(other.place(r.maps[r.digit], 28, 28).length, 784);
    // the small module: refused there with a pointer to the full one, and
    // load() takes the full module for it
    const small = await load({ weights: weightBytes(), methods: 'gradcam' });
    throwsDL(() => small.setWeights(fs.readFileSync(path.join(seedsDir, 'arch-tiny'))), 'ARCH', /backward pass.*digitlens-full\.wasm/);
    const auto = await load({ weights: fs.readFileSync(path.join(seedsDir, 'arch-tiny')), methods: 'gradcam' });
    assert.equal(auto.methods.length, METHODS.length);
    assert.equal(auto.mapSide, 11);
  });

  test('heatmap() colours the map: per-map and shared scales, alpha from the value', () => {
    const maps = Array.from({ length: 10 }, (_, c) => new Float32Array(576).fill(c));
    maps[5][0] = 10; // hot cell at map (0,0) = pixel (2,2)
    const per = lens.heatmap(maps, 5, { width: 28, alpha: true });
    assert.equal(per.data.length, 28 * 28 * 4);
    assert.equal(per.data[4 * (2 * 28 + 2) + 3], 255, 'the maximum is opaque');
    assert.equal(per.data[4 * (14 * 28 + 14) + 3], 0, 'the minimum is transparent');
    const shared = lens.heatmap(maps, 1, { width: 28, shared: true, alpha: true });
    assert.equal(shared.data[4 * (14 * 28 + 14) + 3], Math.round(255 * (1 / 10)), 'one scale 0..10');
    const flat = lens.heatmap(Array(10).fill(new Float32Array(576)), 0, { width: 28 });
    assert.ok(flat.data.every((v, i) => i % 4 !== 3 || v === 255), 'opaque without alpha');
    const into = new Uint8ClampedArray(56 * 56 * 4);
    assert.equal(lens.heatmap(maps, 5, { width: 56, into }).data, into);
  });

  test('preprocess() takes RGBA and gray images and matches MNIST digits', { skip: noData }, () => {
    const [img] = mnist(1);
    const gray = Uint8Array.from(img, (v) => Math.round(v * 255));
    const fromGray = lens.preprocess({ data: gray, width: 28, height: 28 });
    assert.equal(fromGray.length, 784);
    assert.equal(lens.classify(fromGray).digit, lens.classify(img).digit);
    // the same digit drawn black on white at 5x, as a canvas would give it
    const W = 140, rgba = new Uint8ClampedArray(W * W * 4);
    for (let y = 0; y < W; y++)
      for (let x2 = 0; x2 < W; x2++) {
        const v = 255 - gray[Math.floor(y / 5) * 28 + Math.floor(x2 / 5)];
        rgba.set([v, v, v, 255], 4 * (y * W + x2));
      }
    const fromRGBA = lens.preprocess({ data: rgba, width: W, height: W });
    assert.equal(lens.classify(fromRGBA).digit, lens.classify(img).digit);
  });

  describe('bad arguments throw errors that say what is wrong', () => {

    test('pixels: wrong length, not numbers, NaN, Infinity, out of 0..1', () => {
      throwsDL(() => lens.classify(new Float32Array(783)), 'ARG', /784 pixels.*got 783/);
      throwsDL(() => lens.classify(null), 'ARG', /784 pixels/);
      throwsDL(() => lens.explain('x'.repeat(784)), 'ARG', /not a number/);
      for (const bad of [NaN, Infinity, -Infinity]) {
        const p = new Float32Array(784); p[100] = bad;
        throwsDL(() => lens.classify(p), 'NAN', /classify: a pixel is NaN or infinite/);
        throwsDL(() => lens.explain(p), 'NAN', /explain: a pixel is NaN or infinite/);
      }
      const big = new Float32Array(784).fill(255);
      throwsDL(() => lens.classify(big), 'ARG', /0\.\.1/);
      throwsDL(() => lens.classify(new Float32Array(784).fill(-0.1)), 'ARG', /0\.\.1/);
    });

    test('classes out of range', () => {
      for (const classes of [10, -1, 1.5, [], [3, 12], 'some', null])
        throwsDL(() => lens.explain(x, { classes }), 'ARG', /explain: class/);
      throwsDL(() => lens.heatmap(Array(10).fill(null), 10), 'ARG', /heat: class must be 0\.\.9/);
      throwsDL(() => lens.heatmap(Array(9).fill(null), 1), 'ARG', /maps must be an array of 10/);
      throwsDL(() => lens.heatmap([new Float32Array(5), ...Array(9).fill(null)], 0), 'ARG', /576/);
      throwsDL(() => lens.heatmap(Array(10).fill(null), 0, { colormap: 'jet' }), 'ARG', /colormap/);
      throwsDL(() => lens.heatmap(Array(10).fill(null), 0, { width: 0 }), 'IMAGE_SIZE', /1\.\.512/);
      throwsDL(() => lens.heatmap(Array(10).fill(null), 0, { width: 513 }), 'IMAGE_SIZE', /1\.\.512/);
      const m = new Float32Array(576); m[7] = NaN;
      throwsDL(() => lens.place(m, 28), 'NAN', /map value is NaN/);
    });

    test('images: sizes, data length, blank, ink everywhere', () => {
      throwsDL(() => lens.preprocess({ data: new Uint8Array(0), width: 0, height: 0 }), 'IMAGE_SIZE', /positive/);
      throwsDL(() => lens.preprocess({ data: new Uint8Array(2000 * 10), width: 2000, height: 10 }),
        'IMAGE_SIZE', /larger than 1024x1024; downscale/);
      throwsDL(() => lens.preprocess({ data: new Uint8Array(99), width: 10, height: 10 }), 'ARG', /width\*height/);
      throwsDL(() => lens.preprocess(undefined), 'IMAGE_SIZE', /width and height/);
      const blank = new Uint8ClampedArray(200 * 200 * 4).fill(255);
      throwsDL(() => lens.preprocess({ data: blank, width: 200, height: 200 }), 'NO_INK', /blank/);
      // a scribble over the whole pad: white zigzags, a little black between
      const W = 200, scrib = new Uint8Array(W * W);
      for (let y = 0; y < W; y++) for (let i = 0; i < W; i++) scrib[y * W + i] = (i + 2 * y) % 23 < 3 ? 0 : 255;
      throwsDL(() => lens.preprocess({ data: scrib, width: W, height: W }), 'NO_INK', /covers most/);
      // white ink over most of a black pad, a black margin left all round
      const blob = new Uint8Array(W * W);
      for (let y = 10; y < W - 10; y++) blob.fill(255, y * W + 10, y * W + W - 10);
      throwsDL(() => lens.preprocess({ data: blob, width: W, height: W }), 'NO_INK', /covers most/);
      // ... while a digit that fills its box is still a digit
      const one = new Uint8Array(W * W);
      for (let y = 20; y < W - 20; y++) one.fill(255, y * W + 92, y * W + 108);
      assert.equal(lens.preprocess({ data: one, width: W, height: W }).length, 784);
    });

    test('weights: empty, too large, HTML, wrong shapes, NaN, truncated; the old ones stay', async () => {
      const before = lens.explain(x);
      throwsDL(() => lens.setWeights(new Uint8Array(0)), 'EMPTY_FILE', /empty/);
      throwsDL(() => lens.setWeights(new Uint8Array(300 * 1024)), 'ARG', /more than the 262144 bytes/);
      throwsDL(() => lens.setWeights(new TextEncoder().encode('<!doctype html><p>404')), null, /HTML page/);
      throwsDL(() => lens.setWeights('weights.safetensors'), 'ARG', /ArrayBuffer or a Uint8Array/);
      throwsDL(() => lens.setWeights(randomWeights(1, { ...seednetShapes, 'conv.weight': [12, 1, 3, 3] })),
        'SHAPE', /weights: .*shape/i);
      const { 'fc.bias': _, ...missing } = seednetShapes;
      throwsDL(() => lens.setWeights(randomWeights(1, missing)), 'MISSING', /weights: /);
      throwsDL(() => lens.setWeights(randomWeights(1, seednetShapes, () => NaN)), 'NAN', /weights: /);
      const good = weightBytes();
      throwsDL(() => lens.setWeights(good.subarray(0, good.length - 1)), null, /weights: /);
      assert.deepEqual(lens.explain(x), before, 'failed loads leave the weights as they were');
      await assert.rejects(load({ weights: pathToFileURL(path.join(ROOT, 'no-such.safetensors')) }),
        /weights: cannot read .*no-such\.safetensors/);
      await assert.rejects(load({ weights: 42 }), /weights: expected a URL/);
    });

    test('every export, called raw with hostile arguments, fails cleanly', async () => {
      const mod = await WebAssembly.compile(fs.readFileSync(path.join(WEB, BUILDS.simd)));
      const { exports: e } = await WebAssembly.instantiate(mod, {});
      e._initialize?.();
      const msg = () => {
        const u8 = new Uint8Array(e.memory.buffer), p = e.dl_last_error();
        return new TextDecoder().decode(u8.subarray(p, u8.indexOf(0, p)));
      };
      const bytes = e.memory.buffer.byteLength;
      assert.notEqual(e.dl_classify(), 0); assert.match(msg(), /classify: no weights loaded/);
      assert.notEqual(e.dl_frame(), 0); assert.match(msg(), /frame: no image preprocessed/);
      assert.notEqual(e.dl_explain(0x3ff), 0); assert.match(msg(), /explain: no weights loaded/);
      for (const len of [-1, 0, 2 ** 31 - 1, -(2 ** 31), e.dl_weights_cap() + 1])
        assert.notEqual(e.dl_load_weights(len), 0, `dl_load_weights(${len})`);
      for (const [w, h] of [[-1, 10], [10, -1], [0, 0], [1025, 1], [2 ** 31 - 1, 2 ** 31 - 1], [-(2 ** 31), 5]]) {
        assert.notEqual(e.dl_preprocess_rgba(w, h), 0, `rgba ${w}x${h}`);
        assert.notEqual(e.dl_preprocess_gray(w, h), 0, `gray ${w}x${h}`);
        assert.notEqual(e.dl_heat(0, w, h, 0, 0, 0), 0, `heat ${w}x${h}`);
        assert.notEqual(e.dl_place(0, w, h), 0, `place ${w}x${h}`);
      }
      for (const c of [-1, 10, 2 ** 31 - 1, -(2 ** 31)]) {
        assert.notEqual(e.dl_heat(c, 28, 28, 0, 0, 0), 0);
        assert.notEqual(e.dl_place(c, 28, 28), 0);
      }
      assert.notEqual(e.dl_heat(0, 28, 28, 7, 0, 0), 0); assert.match(msg(), /colormap/);
      assert.notEqual(e.dl_heat(0, 28, 28, 0, 4, 0), 0); assert.match(msg(), /flag/);
      assert.notEqual(e.dl_heat(0, 28, 28, 0, 1, 0x400), 0); assert.match(msg(), /mask/);
      new Uint8Array(e.memory.buffer).set(weightBytes(), e.dl_weights_buf());
      assert.equal(e.dl_load_weights(weightBytes().length), 0, msg());
      for (const mask of [0, 0x400, -1, 2 ** 31 - 1]) {
        assert.notEqual(e.dl_explain(mask), 0, `mask ${mask}`);
        assert.match(msg(), /class mask/);
        assert.notEqual(e.dl_explain_method(0, mask), 0, `method 0, mask ${mask}`);
      }
      // the Grad-CAM-only module: method 0 and no other
      for (const m of [1, 10, 11, -1, 2 ** 31 - 1]) {
        assert.notEqual(e.dl_explain_method(m, 0x3ff), 0, `method ${m}`);
        assert.match(msg(), /unknown method/);
      }
      assert.equal(e.memory.buffer.byteLength, bytes);
    });
  });

  test('10,000 calls in a row do not grow the memory', { skip: noData }, () => {
    const mem = lens.memory, buf = mem.buffer, bytes = buf.byteLength;
    const imgs = mnist(50), gray = Uint8Array.from(imgs[3], (v) => Math.round(v * 255));
    let last;
    for (let i = 0; i < 10_000; i++) {
      const p = imgs[i % 50];
      switch (i % 4) {
        case 0: last = lens.classify(p); break;
        case 1: last = lens.explain(p); break;
        case 2: last = lens.preprocess({ data: gray, width: 28, height: 28 }); break;
        default: last = lens.heatmap(lens.explain(p, { classes: 2 }).maps, 2, { width: 64 });
      }
    }
    assert.ok(last);
    assert.equal(mem.buffer, buf, 'the buffer was never replaced (no growth, no detach)');
    assert.equal(mem.buffer.byteLength, bytes);
  });
});

describe('wasm agrees with the native build', { skip: noNative }, () => {
  let golden, images;
  before(() => {
    // the native golden output: one JSON object per image, all ten raw maps
    const r = spawnSync(BIN, ['explain', '--class', 'all', '--json', '--weights', WEIGHTS,
      '--limit', String(N_PARITY), T10K], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 600_000 });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    golden = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(golden.length, N_PARITY);
    images = mnist(N_PARITY);
  });

  // The native JSON prints each float with 9 significant digits, which
  // round-trips: Math.fround gives back the native float exactly. Logits,
  // probabilities and maps must be the same bits (README: every build adds
  // the terms of each sum in the same order). Changing the order of one sum
  // in one build changes some of them (the plain build's dense layer summed
  // in another order changed the logits of 939 of 1,000 images).
  const sameBits = (got, want, what) => {
    for (let k = 0; k < want.length; k++) {
      if (got[k] !== Math.fround(want[k]) && !(Number.isNaN(got[k]) && want[k] === null)) {
        assert.fail(`${what}[${k}]: ${got[k]} here, ${Math.fround(want[k])} native (not the same bits)`);
      }
    }
  };
  for (const b of Object.keys(BUILDS)) {
    test(`${BUILDS[b]}: first ${N_PARITY} test images, digits, logits, probabilities and maps the same bits as native`, async () => {
      const lens = await load({ weights: weightBytes(), wasm: wasmURL(b) });
      let nonzero = 0;
      for (let i = 0; i < N_PARITY; i++) {
        const g = golden[i], r = lens.explain(images[i]);
        assert.equal(g.index, i);
        assert.equal(r.digit, g.digit, `image ${i}: digit`);
        sameBits(r.logits, g.logits, `image ${i} logits`);
        sameBits(r.probs, g.probs, `image ${i} probs`);
        for (let c = 0; c < 10; c++) {
          const gm = g.maps[String(c)].flat();
          if (maxAbs(gm) > 0) nonzero++;
          sameBits(r.maps[c], gm, `image ${i} class ${c} map`);
        }
      }
      assert.ok(nonzero > N_PARITY, `the maps compared are mostly not all zero (${nonzero})`);
    });
  }
});
