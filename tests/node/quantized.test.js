// quantized.test.js — the weights the page loads are "d4" files, one per
// network (weights/twoconv-d4.safetensors, the default, and
// weights/seednet-d4.safetensors): fc.weight, and the two-conv network's
// convolutions, as 4-bit differences of levels on a grid of a step times
// each row's RMS (a row: one output's weights; 0.5 for the two-conv
// network, 0.6 for the seed network's fc.weight); the seed network's conv.weight
// I8 with per-channel scales; biases F16; metadata that describes the
// network and the quantization and nothing else. Each scores at most 0.05
// points below its F32 weights on the test set, an independent decoder here
// reads it to the same accuracy as the C loader, and `make quantize` makes
// the same bytes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'build/digitlens');
const DATA = path.join(ROOT, 'data/mnist/t10k-images-idx3-ubyte');
const TRAIN = path.join(ROOT, 'data/mnist/train-images-idx3-ubyte');
const noCli = !fs.existsSync(CLI) ? 'build/digitlens not built (make native)' : false;
const skip = noCli || (!fs.existsSync(DATA) ? 'MNIST not fetched (make data)' : false);

// Each network's files and the options `make quantize` gives it.
const NETS = {
  twoconv: { d4: ['fc.weight', 'conv1.weight', 'conv2.weight'], i8: [], args: ['--step', '0.5', '--conv-step', '0.5'] },
  seednet: { d4: ['fc.weight'], i8: ['conv.weight'], args: ['--step', '0.6'] },
};
for (const [net, n] of Object.entries(NETS)) {
  n.f32 = path.join(ROOT, `weights/${net}.safetensors`);
  n.file = path.join(ROOT, `weights/${net}-d4.safetensors`);
  n.web = path.join(ROOT, `web/${net}.safetensors`);
}

function f16(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  return s * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
}
function read(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const bytes = (name) => { const [s, e] = h[name].data_offsets; return b.subarray(8 + n + s, 8 + n + e); };
  const floats = (name) => {
    const x = bytes(name), half = h[name].dtype === 'F16';
    return Float32Array.from({ length: x.length / (half ? 2 : 4) }, (_, i) => half ? f16(x.readUInt16LE(2 * i)) : x.readFloatLE(4 * i));
  };
  return { h, bytes, floats };
}
const count = (shape) => shape.reduce((a, b) => a * b, 1);

// Decoded as weights/README.md describes the format, without the C loader.
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
// Every tensor of the F32 file (its names and shapes), decoded from the d4 file.
function decodeAll(n) {
  const q = read(n.file), f = read(n.f32), out = [];
  for (const [name, e] of Object.entries(f.h)) {
    if (name === '__metadata__') continue;
    const rows = e.shape[0], per = count(e.shape) / rows;
    let data;
    if (q.h[`${name}_d4`]) data = decodeD4(q.bytes(`${name}_d4`), q.floats(`${name}_scale`), rows, per).out;
    else if (q.h[name]?.dtype === 'I8') data = decodeI8(q.bytes(name), q.floats(`${name}_scale`), rows);
    else data = q.floats(name);
    out.push([name, e.shape, data]);
  }
  return out;
}

function writeF32(file, tensors, metadata) {
  const h = { __metadata__: metadata }, parts = [];
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

for (const [net, n] of Object.entries(NETS)) {
  test(`${net}: the page's weights are d4 as described, at most 7,000 bytes gzipped, and web/ serves them`, () => {
    const { h } = read(n.file), f = read(n.f32);
    for (const name of n.d4) {
      const rows = f.h[name].shape[0], per = count(f.h[name].shape) / rows;
      assert.deepEqual([h[`${name}_d4`].dtype, h[`${name}_d4`].shape], ['U8', [rows, Math.ceil(per / 2)]], name);
      assert.deepEqual([h[`${name}_scale`].dtype, h[`${name}_scale`].shape], ['F32', [rows]], name);
      assert.equal(h[name], undefined);
    }
    for (const name of n.i8) {
      assert.deepEqual([h[name].dtype, h[name].shape], ['I8', f.h[name].shape], name);
      assert.deepEqual(h[`${name}_scale`].shape, [f.h[name].shape[0]]);
    }
    for (const name of Object.keys(f.h).filter((k) => k.endsWith('.bias'))) assert.equal(h[name].dtype, 'F16', name);
    // the network and the quantization, not the training record
    const meta = h.__metadata__;
    assert.deepEqual(Object.keys(meta).sort(), [...(f.h.__metadata__.architecture ? ['architecture', 'cam_layer'] : []),
      'dtype', 'quantized_from', 'test_accuracy', 'test_accuracy_f32'].sort());
    assert.equal(meta.architecture, f.h.__metadata__.architecture);
    assert.equal(meta.cam_layer, f.h.__metadata__.cam_layer);
    assert.equal(meta.quantized_from, `${net}.safetensors`);
    assert.match(meta.dtype, new RegExp(`^d4 .*fc\\.weight step ${n.args[1]} x row RMS`));
    const gz = zlib.gzipSync(fs.readFileSync(n.file), { level: 9 }).length;
    assert.ok(gz <= 7000, `gzip -9: ${gz} bytes`);
    if (fs.existsSync(n.web)) assert.ok(fs.readFileSync(n.web).equals(fs.readFileSync(n.file)), `web/${net}.safetensors is the d4 file`);
  });

  test(`${net}: d4 decodes to levels on each row's grid, near the F32 weights; int8 within half a step`, () => {
    const q = read(n.file), f = read(n.f32);
    const opt = (o) => Number(n.args[n.args.indexOf(o) + 1]);
    for (const name of n.d4) {
      const rows = f.h[name].shape[0], per = count(f.h[name].shape) / rows, k = opt(name.startsWith('fc') ? '--step' : '--conv-step');
      const scale = q.floats(`${name}_scale`), w = f.floats(name);
      const { out, q: lv } = decodeD4(q.bytes(`${name}_d4`), scale, rows, per);
      for (let r = 0; r < rows; r++) {
        let ss = 0, se = 0, maxe = 0;
        for (let j = 0; j < per; j++) {
          const i = r * per + j, e = Math.abs(out[i] - w[i]);
          ss += w[i] * w[i]; se += e * e; maxe = Math.max(maxe, e);
          if (j) assert.ok(lv[i] - lv[i - 1] >= -8 && lv[i] - lv[i - 1] <= 7);
        }
        const rms = Math.sqrt(ss / per);
        assert.ok(Math.abs(scale[r] / rms - k) < 1e-3, `${name} row ${r}: step ${scale[r]} = ${scale[r] / rms} x RMS, not ${k}`);
        // rounding error alone would be step / sqrt(12) RMS; the error feedback adds to it
        assert.ok(Math.sqrt(se / per) <= 0.5 * scale[r], `${name} row ${r}: RMS error ${Math.sqrt(se / per)} vs step ${scale[r]}`);
        // the feedback moves a single weight by up to a few steps where the
        // features it reads are nearly collinear (6 in the two-conv fc.weight)
        assert.ok(maxe <= 8 * scale[r], `${name} row ${r}: largest error ${maxe} vs step ${scale[r]}`);
      }
    }
    for (const name of n.i8) { // plain int8 rounding, within half a step of F32
      const rows = f.h[name].shape[0], per = count(f.h[name].shape) / rows;
      const s = q.floats(`${name}_scale`), got = decodeI8(q.bytes(name), s, rows), want = f.floats(name);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= s[Math.floor(i / per)] / 2 * 1.0001);
    }
  });

  test(`${net}: d4 loses at most 0.05 points on the test set, the same through an independent decoder`, { skip }, () => {
    const a32 = accuracy(n.f32), ad4 = accuracy(n.file), meta = read(n.file).h.__metadata__;
    assert.ok(100 * (a32 - ad4) <= 0.05 + 1e-9, `d4 ${(100 * ad4).toFixed(2)} % vs F32 ${(100 * a32).toFixed(2)} %`);
    assert.equal(meta.test_accuracy, ad4.toFixed(4));
    assert.equal(meta.test_accuracy_f32, a32.toFixed(4));
    const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
    try {
      const plain = path.join(tmp, 'decoded-f32.safetensors');
      const m = meta.architecture ? { architecture: meta.architecture, cam_layer: meta.cam_layer } : {};
      writeF32(plain, decodeAll(n), m);
      assert.equal(accuracy(plain), ad4);
    } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
  });
}

test('quantize --dtype d4 makes the committed bytes again, whatever the thread count', { skip: skip || (!fs.existsSync(TRAIN) && 'no training images') }, () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    for (const [[net, n], threads] of [[['seednet', NETS.seednet], '1'], [['twoconv', NETS.twoconv], '2']]) {
      const out = path.join(tmp, `${net}-d4.safetensors`);
      const r = spawnSync(CLI, ['quantize', '--dtype', 'd4', ...n.args, '--calibrate', '10000', '--threads', threads,
        '--weights', n.f32, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(n.file)), `same bytes as weights/${net}-d4.safetensors`);
      assert.equal(j.bytes_out, fs.statSync(n.file).size);
      assert.ok(j.loss_points <= 0.05 + 1e-9, `${net}: loss ${j.loss_points}`);
    }
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});

test('quantize: int8 and f16 files still load back', { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    for (const dtype of ['int8', 'f16']) {
      const out = path.join(tmp, `w-${dtype}.safetensors`);
      const r = spawnSync(CLI, ['quantize', '--dtype', dtype, '--weights', NETS.seednet.f32, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
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
    [['--dtype', 'int8', '--step', '0.5'], /--step, --conv-step, --calibrate and --damp are for --dtype d4 only/],
    [['--dtype', 'int8', '--conv-step', '0.5'], /--step, --conv-step, --calibrate and --damp are for --dtype d4 only/],
    [['--dtype', 'd4', '--bits', '4'], /--bits is for --dtype int8 only/],
    [['--dtype', 'd4', '--step', '9'], /--step/],
    [['--dtype', 'd4', '--conv-step', '0'], /--conv-step/],
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
