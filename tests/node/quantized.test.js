// quantized.test.js — the weights the page loads by default are the "d4" file
// (weights/seednet-d4.safetensors: fc.weight as 4-bit differences of levels on
// a grid of 0.6 x each row's RMS, conv.weight I8 with per-channel scales,
// biases F32), they score >= 99.04 % on the test set (at most 0.05 points
// below the F32 weights' 99.09 %), an independent decoder here reads
// them to the same accuracy as the C loader, and `make quantize` makes the
// same bytes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'build/digitlens');
const F32 = path.join(ROOT, 'weights/seednet.safetensors');
const D4 = path.join(ROOT, 'weights/seednet-d4.safetensors');
const DATA = path.join(ROOT, 'data/mnist/t10k-images-idx3-ubyte');
const TRAIN = path.join(ROOT, 'data/mnist/train-images-idx3-ubyte');
const noCli = !fs.existsSync(CLI) ? 'build/digitlens not built (make native)' : false;
const skip = noCli || (!fs.existsSync(DATA) ? 'MNIST not fetched (make data)' : false);

function read(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const bytes = name => { const [s, e] = h[name].data_offsets; return b.subarray(8 + n + s, 8 + n + e); };
  const f32 = name => { const x = bytes(name); return Float32Array.from({ length: x.length / 4 }, (_, i) => x.readFloatLE(4 * i)); };
  return { h, bytes, f32 };
}

// Decoded as the README describes the format, without the C loader.
function decodeD4(levels, scale, rows, perRow) {
  const out = new Float32Array(rows * perRow), q = new Int32Array(rows * perRow), half = Math.ceil(perRow / 2);
  for (let r = 0; r < rows; r++) {
    let lv = 0;
    for (let j = 0; j < perRow; j++) {
      const nib = (levels[r * half + (j >> 1)] >> (4 * (j & 1))) & 15;
      lv += nib >= 8 ? nib - 16 : nib;
      q[r * perRow + j] = lv;
      out[r * perRow + j] = Math.fround(lv * scale[r]);
    }
  }
  return { out, q };
}
function decodeI8(levels, scale, rows) {
  const per = levels.length / rows;
  return Float32Array.from(levels, (v, i) => Math.fround((v << 24 >> 24) * scale[Math.floor(i / per)]));
}

function writeF32(file, tensors) {
  const h = {}, parts = [];
  let off = 0;
  for (const [name, shape, data] of tensors) {
    h[name] = { dtype: 'F32', shape, data_offsets: [off, off + 4 * data.length] };
    off += 4 * data.length;
    parts.push(Buffer.from(data.buffer, data.byteOffset, 4 * data.length));
  }
  let js = JSON.stringify(h);
  js += ' '.repeat((8 - js.length % 8) % 8);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(js.length));
  fs.writeFileSync(file, Buffer.concat([n, Buffer.from(js), ...parts]));
}

function accuracy(weights) {
  const r = spawnSync(CLI, ['eval', '--json', '--weights', weights], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).accuracy;
}

test('the shipped default weights are d4, at most 8.5 KB gzipped, and web/ serves them', () => {
  const { h } = read(D4);
  assert.deepEqual([h['fc.weight_d4'].dtype, h['fc.weight_d4'].shape], ['U8', [10, 864]]);
  assert.deepEqual([h['fc.weight_scale'].dtype, h['fc.weight_scale'].shape], ['F32', [10]]);
  assert.equal(h['fc.weight'], undefined);
  assert.deepEqual([h['conv.weight'].dtype, h['conv.weight'].shape], ['I8', [12, 1, 5, 5]]);
  assert.deepEqual(h['conv.weight_scale'].shape, [12]);
  assert.equal(h['conv.bias'].dtype, 'F32');
  assert.equal(h['fc.bias'].dtype, 'F32');
  assert.match(h.__metadata__.dtype, /^d4: .*step 0\.6 x row RMS/);
  const gz = zlib.gzipSync(fs.readFileSync(D4), { level: 9 }).length;
  assert.ok(gz <= 8500, `gzip -9: ${gz} bytes`);
  const web = path.join(ROOT, 'web/seednet.safetensors');
  if (fs.existsSync(web)) assert.ok(fs.readFileSync(web).equals(fs.readFileSync(D4)), 'web/seednet.safetensors is the d4 file');
});

test('d4 decodes to levels on each row\'s grid, near the F32 weights', () => {
  const q = read(D4), f = read(F32);
  const scale = q.f32('fc.weight_scale'), w = f.f32('fc.weight');
  const { out, q: lv } = decodeD4(q.bytes('fc.weight_d4'), scale, 10, 1728);
  for (let r = 0; r < 10; r++) {
    let ss = 0, se = 0, maxe = 0;
    for (let j = 0; j < 1728; j++) {
      const k = r * 1728 + j, e = Math.abs(out[k] - w[k]);
      ss += w[k] * w[k]; se += e * e; maxe = Math.max(maxe, e);
      if (j) assert.ok(Math.abs(lv[k] - lv[k - 1]) <= 8);
    }
    const rms = Math.sqrt(ss / 1728);
    assert.ok(Math.abs(scale[r] / rms - 0.6) < 1e-3, `row ${r}: step ${scale[r]} = ${scale[r] / rms} x RMS`);
    // rounding error alone would be step / sqrt(12) RMS; the error feedback adds to it
    assert.ok(Math.sqrt(se / 1728) <= 0.5 * scale[r], `row ${r}: RMS error ${Math.sqrt(se / 1728)} vs step ${scale[r]}`);
    assert.ok(maxe <= 3 * scale[r], `row ${r}: largest error ${maxe} vs step ${scale[r]}`);
  }
  // conv.weight: plain int8 rounding, within half a step of F32
  const cs = q.f32('conv.weight_scale'), cw = decodeI8(q.bytes('conv.weight'), cs, 12), c32 = f.f32('conv.weight');
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(cw[i] - c32[i]) <= cs[Math.floor(i / 25)] / 2 * 1.0001);
  assert.deepEqual(Array.from(q.f32('conv.bias')), Array.from(f.f32('conv.bias')));
});

test('d4 weights: >= 99.04 % on the test set, the same through an independent decoder', { skip }, () => {
  const a32 = accuracy(F32), ad4 = accuracy(D4);
  assert.ok(ad4 >= 0.9904 && 100 * (a32 - ad4) <= 0.05 + 1e-9,
    `d4 ${(100 * ad4).toFixed(2)} % vs F32 ${(100 * a32).toFixed(2)} %`);
  assert.equal(read(D4).h.__metadata__.test_accuracy, ad4.toFixed(4));
  assert.equal(read(D4).h.__metadata__.test_accuracy_f32, a32.toFixed(4));
  const q = read(D4), tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    const plain = path.join(tmp, 'decoded-f32.safetensors');
    writeF32(plain, [
      ['conv.weight', [12, 1, 5, 5], decodeI8(q.bytes('conv.weight'), q.f32('conv.weight_scale'), 12)],
      ['conv.bias', [12], q.f32('conv.bias')],
      ['fc.weight', [10, 1728], decodeD4(q.bytes('fc.weight_d4'), q.f32('fc.weight_scale'), 10, 1728).out],
      ['fc.bias', [10], q.f32('fc.bias')]]);
    assert.equal(accuracy(plain), ad4);
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});

test('quantize --dtype d4 makes the committed bytes again, whatever the thread count', { skip: skip || (!fs.existsSync(TRAIN) && 'no training images') }, () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    const out = path.join(tmp, 'd4.safetensors');
    const r = spawnSync(CLI, ['quantize', '--dtype', 'd4', '--step', '0.6', '--calibrate', '10000', '--threads', '1',
      '--weights', F32, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(D4)), 'same bytes as weights/seednet-d4.safetensors');
    assert.equal(j.bytes_out, fs.statSync(D4).size);
    assert.ok(j.loss_points <= 0.05 + 1e-9, `loss ${j.loss_points}`);
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});

test('quantize: int8 and f16 files still load back', { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    for (const dtype of ['int8', 'f16']) {
      const out = path.join(tmp, `w-${dtype}.safetensors`);
      const r = spawnSync(CLI, ['quantize', '--dtype', dtype, '--weights', F32, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(j.loss_points <= 0.05, `${dtype}: loss ${j.loss_points}`);
      assert.ok(j.bytes_out < j.bytes_in / (dtype === 'int8' ? 3.5 : 1.9));
      assert.equal(accuracy(out), j.accuracy_out);
    }
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});

test('quantize: bad options are usage errors (status 2, one reason)', { skip: noCli }, () => {
  const cases = [
    [['--dtype', 'int4'], /--dtype must be d4, int8 or f16, not 'int4'/],
    [['--dtype', 'int8', '--step', '0.5'], /--step, --calibrate and --damp are for --dtype d4 only/],
    [['--dtype', 'd4', '--bits', '4'], /--bits is for --dtype int8 only/],
    [['--dtype', 'd4', '--step', '9'], /--step/],
    [['--dtype', 'd4', '--calibrate', '-1'], /--calibrate/],
    [['--dtype', 'd4', '--damp', 'x'], /--damp/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(CLI, ['quantize', ...args, '--out', path.join(ROOT, 'build', 'never.safetensors')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  assert.ok(!fs.existsSync(path.join(ROOT, 'build', 'never.safetensors')));
});
