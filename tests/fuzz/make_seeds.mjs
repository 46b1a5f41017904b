#!/usr/bin/env node
// make_seeds.mjs — writes the committed seed corpus, tests/fuzz/seeds/<target>/,
// one small valid (or nearly valid) input per feature each reader has, so the
// fuzzers start past the magic numbers. Deterministic: run it again and the
// files come out the same.   node tests/fuzz/make_seeds.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'seeds');
const put = (target, name, bytes) => {
  fs.mkdirSync(path.join(DIR, target), { recursive: true });
  fs.writeFileSync(path.join(DIR, target, name), bytes);
};

// ---- safetensors ---------------------------------------------------------
function st(tensors, meta, pad = true) {
  const head = meta ? { __metadata__: meta } : {};
  const parts = [];
  let off = 0;
  for (const [name, dtype, shape, values] of tensors) {
    const size = dtype === 'F32' ? 4 : dtype === 'F16' ? 2 : 1;
    const b = Buffer.alloc(size * values.length);
    values.forEach((v, i) => {
      if (dtype === 'F32') b.writeFloatLE(v, 4 * i);
      else if (dtype === 'F16') b.writeUInt16LE(v, 2 * i); // raw half bits
      else if (dtype === 'U8') b.writeUInt8(v, i);
      else b.writeInt8(v, i);
    });
    head[name] = { dtype, shape, data_offsets: [off, off + b.length] };
    off += b.length;
    parts.push(b);
  }
  let json = JSON.stringify(head);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([n, Buffer.from(json, 'utf8'), ...parts]);
}
const A = [1, -2, 0.5, 3.25, -0.125, 7], B = [0, 1e-3, -1e3, 42];
put('safetensors', 'f32', st([['a', 'F32', [2, 3], A], ['b', 'F32', [4], B]], { format: 'pt', note: 'a "quoted" \\ value\n' }));
put('safetensors', 'f16', st([['b', 'F16', [4], [0x0000, 0x3c00, 0x8001, 0x7bff]], ['a', 'F16', [2, 3], [0x3c00, 0xc000, 0x3800, 0x4280, 0xb000, 0x4700]]]));
put('safetensors', 'i8-and-extra', st([['a', 'F32', [2, 3], A], ['b', 'F32', [4], B], ['q', 'I8', [2, 2], [-128, 0, 1, 127]]], { scale: '0.5' }));
// the 4-bit delta form: "a" as levels {1, -7, 0 | -8, 7, 7}, two differences a byte
put('safetensors', 'd4', st([['a_d4', 'U8', [2, 2], [0x81, 0x07, 0x78, 0x07]], ['a_scale', 'F32', [2], [0.5, 0.25]], ['b', 'F32', [4], B]]));
// the page's default weights, d4 (fc.weight_d4, conv.weight I8)
put('safetensors', 'seednet-d4', fs.readFileSync(path.join(DIR, '../../../weights/seednet-d4.safetensors')));
put('safetensors', 'meta-only', st([], { epoch: '3', adam_t: '100', seed: '1', n_params: '17', opt: 'adam' }));
// networks described by their metadata: a small valid one (conv 2x3x3 ->
// relu -> maxpool 2 -> conv 2x3x3 -> relu (A, 11x11) -> flatten -> dense 10:
// no closed form), and the faults a weights file can have in it
const tiny = JSON.stringify([['conv', 'c1', 2, 3], ['relu', 'r1'], ['maxpool', 'p1', 2], ['conv', 'c2', 2, 3],
  ['relu', 'r2'], ['flatten', 'f'], ['dense', 'fc', 10]]);
const ramp = (n, k) => Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.3);
const tinyTensors = [['c1.weight', 'F32', [2, 1, 3, 3], ramp(18, 1.7)], ['c1.bias', 'F32', [2], [0.1, -0.1]],
  ['c2.weight', 'F32', [2, 2, 3, 3], ramp(36, 2.3)], ['c2.bias', 'F32', [2], [0.05, 0.2]],
  ['fc.weight', 'F32', [10, 242], ramp(2420, 0.37)], ['fc.bias', 'F32', [10], ramp(10, 1.1)]];
put('safetensors', 'arch-tiny', st(tinyTensors, { architecture: tiny, cam_layer: 'r2' }));
put('safetensors', 'arch-unknown-kind', st(tinyTensors, { architecture: tiny.replace('"maxpool"', '"avgpool"'), cam_layer: 'r2' }));
put('safetensors', 'arch-cam-missing', st(tinyTensors, { architecture: tiny, cam_layer: 'relu9' }));
put('safetensors', 'arch-cam-not-a-map', st(tinyTensors, { architecture: tiny, cam_layer: 'fc' }));
put('safetensors', 'arch-tensors-mismatch', st(tinyTensors, { architecture: tiny.replace('["conv","c2",2,3]', '["conv","c2",3,3]'), cam_layer: 'r2' }));
put('safetensors', 'arch-too-wide', st([], { architecture: tiny.replace('["conv","c1",2,3]', '["conv","c1",640,3]'), cam_layer: 'r2' }));
put('safetensors', 'unpadded-unicode', st([['a', 'F32', [2, 3], A], ['b', 'F32', [4], B]], { 'ключ': '\u00e9\u4e2d\\u0041' }, false));

// ---- IDX -------------------------------------------------------------------
const idx = (magic, dims, data) => {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(magic);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
};
const digit = Array.from({ length: 784 }, (_, i) => {
  const x = i % 28, y = Math.floor(i / 28);
  return Math.abs(x - 14) < 2 && y > 4 && y < 24 ? 255 : 0; // a "1"
});
put('idx', 'images-1', idx(0x803, [1, 28, 28], digit));
put('idx', 'images-2', idx(0x803, [2, 28, 28], [...digit, ...digit.map((v) => 255 - v)]));
put('idx', 'labels-10', idx(0x801, [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
put('idx', 'images-2d', idx(0x802, [28, 28], digit));

// ---- PNG -------------------------------------------------------------------
const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b) => { let c = ~0; for (const x of b) c = CRC[(c ^ x) & 255] ^ (c >>> 8); return ~c >>> 0; };
function chunk(type, data) {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(data.length);
  h.write(type, 4, 'latin1');
  const c = Buffer.alloc(4);
  c.writeUInt32BE(crc32(Buffer.concat([h.subarray(4), data])));
  return Buffer.concat([h, data, c]);
}
const SIG = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
// rows: array of Buffers (packed samples, no filter byte); interlace: Adam7
function png(w, h, depth, color, rowBytes, sample, { interlace = false, extra = [] } = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth; ihdr[9] = color; ihdr[12] = interlace ? 1 : 0;
  const raw = [];
  const passes = interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    const xs = []; for (let x = x0; x < w; x += dx) xs.push(x);
    if (!xs.length) continue;
    for (let y = y0; y < h; y += dy) { raw.push(Buffer.from([0])); raw.push(rowBytes(xs.map((x) => sample(x, y)))); }
  }
  return Buffer.concat([SIG, chunk('IHDR', ihdr), ...extra, chunk('IDAT', zlib.deflateSync(Buffer.concat(raw))),
    chunk('IEND', Buffer.alloc(0))]);
}
const ink = (x, y) => Math.abs(x - y) < 2 || Math.abs(x - 6) < 1; // strokes on an 12x12 pad
const W = 12;
const bytes8 = (s) => Buffer.from(s.flat());
put('png', 'gray8', png(W, W, 8, 0, bytes8, (x, y) => (ink(x, y) ? 0 : 255)));
put('png', 'rgba8', png(W, W, 8, 6, bytes8, (x, y) => (ink(x, y) ? [20, 30, 200, 255] : [0, 0, 0, 0])));
put('png', 'rgb16', png(W, W, 16, 2, (s) => { const b = Buffer.alloc(6 * s.length); s.forEach((v, i) => { for (let k = 0; k < 3; k++) b.writeUInt16BE(v, 6 * i + 2 * k); }); return b; },
  (x, y) => (ink(x, y) ? 65535 : 1000)));
put('png', 'gray1', png(W, W, 1, 0, (s) => { const b = Buffer.alloc(Math.ceil(s.length / 8)); s.forEach((v, i) => { b[i >> 3] |= v << (7 - (i & 7)); }); return b; },
  (x, y) => (ink(x, y) ? 0 : 1)));
put('png', 'palette-trns', png(W, W, 8, 3, bytes8, (x, y) => (ink(x, y) ? 1 : 0),
  { extra: [chunk('PLTE', Buffer.from([255, 255, 255, 10, 10, 10])), chunk('tRNS', Buffer.from([0]))] }));
put('png', 'gray-alpha-interlaced', png(W, W, 8, 4, bytes8, (x, y) => (ink(x, y) ? [255, 255] : [0, 255]), { interlace: true }));

// ---- preprocess: [w-1, h-1, rgba?] then pixels ------------------------------
const img = (w, h, rgba, f) => {
  const px = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.push(...(rgba ? f(x, y) : [f(x, y)]));
  return Buffer.from([w - 1, h - 1, rgba ? 1 : 0, ...px]);
};
put('preprocess', 'seven-gray', img(32, 32, 0, (x, y) => ((y === 6 && x > 6 && x < 24) || (Math.abs(x - (24 - (y - 6) / 2)) < 1.5 && y > 6 && y < 28) ? 0 : 255)));
put('preprocess', 'one-white-on-black', img(20, 40, 0, (x, y) => (Math.abs(x - 10) < 2 && y > 5 && y < 35 ? 250 : 5)));
put('preprocess', 'ring-rgba', img(24, 24, 1, (x, y) => (Math.abs(Math.hypot(x - 12, y - 12) - 7) < 1.5 ? [0, 0, 0, 255] : [0, 0, 0, 0])));
put('preprocess', 'speck', img(64, 64, 0, (x, y) => (x === 63 && y === 0 ? 0 : 200)));

// ---- wasm_api: a program of calls (see fuzz_wasm_api.c) ---------------------
const i32 = (v) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return [...b]; };
const input = [1, ...digit.map((v) => (v ? 199 : 0))];           // op 1: 784 floats 0..1
// a small side s is two bytes: s / 4 (below 0x80), s % 4
const side = (s) => [s >> 2, s & 3];
put('wasm_api', 'classify-explain-heat', Buffer.from([...input, 2, 3, ...i32(0x3ff),
  8, 0, 3, ...side(28), ...side(28), 0, 1, 0, 1, 0, 0, 0, 7, 0, 5, ...side(40), ...side(30), 9]));
// op 4 with an even first byte: a gray image (a stroke with margins round it)
put('wasm_api', 'preprocess-gray', Buffer.from([4, 0, 144, ...Array(144).fill(255).map((v, i) =>
  (i % 12 >= 5 && i % 12 <= 6 && i >= 24 && i < 120 ? 0 : v)), ...side(12), ...side(12), 2, 3, ...i32(5), 8, 0, 5, ...side(64), ...side(64), 0, 0, 0, 3, 0, 0, 0]));
put('wasm_api', 'hostile', Buffer.from([3, ...i32(-1), 7, 1, ...i32(-5), 0x80, ...i32(2 ** 31 - 1), 0, 0, 0, 0, ...i32(-1), 1, 200, 248, 251, 2]));
