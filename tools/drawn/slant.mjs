#!/usr/bin/env node
// slant.mjs — the writer set made harder, for teaching: the same hand with a
// heavier slant and a thicker pen. The two-conv network reads the writer
// set (data/drawn/writer) at 100 %, which leaves teaching nothing to show;
// this one it reads at 75 %, and consistently so (one hand), which is what
// teaching a network someone's handwriting is about.
//
//   node tools/drawn/slant.mjs [--in data/drawn/writer] [--out data/drawn/writer-slant]
//                              [--shear 0.5] [--pen 0.75]
//
// Each image of --in, in order (so image i is still of class i % 10):
// scaled up 4x (bilinear, 112x112), sheared (x += shear * (up - centre), in
// the image's own units: 0.5 adds 27 degrees to the writer's 22-26), its
// strokes thickened (the largest value within a disk of radius --pen input
// pixels), and read back into 28x28 as the page reads a drawing
// (lens.preprocess, the C preprocessing of the page: ink box to 20x20,
// centre of mass at the centre), rounded to bytes. No randomness: the same
// bytes every run. Writes OUT/t10k-images-idx3-ubyte and
// OUT/t10k-labels-idx1-ubyte (what `digitlens eval --data OUT` reads).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = { in: 'data/drawn/writer', out: 'data/drawn/writer-slant', shear: 0.5, pen: 0.75 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in args) || process.argv[i + 1] === undefined) {
    console.error('usage: slant.mjs [--in DIR] [--out DIR] [--shear S] [--pen R]');
    process.exit(2);
  }
  args[k] = typeof args[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const UP = 4, S = 28 * UP;
const { load } = await import(pathToFileURL(path.join(ROOT, 'web', 'digitlens.js')).href);
const lens = await load({ methods: 'gradcam' });

/** One 28x28 image (bytes) -> its slanted, thicker-penned 28x28 bytes. */
function slant(px, shear, pen) {
  const at = (y, x) => (y < 0 || y > 27 || x < 0 || x > 27 ? 0 : px[y * 28 + x] / 255);
  const big = new Float32Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      // the source of output pixel centre (x, y), in input pixels about the
      // centre (v down): a lower row takes its ink from further right, so the
      // bottom of a digit moves left and its top right (a forward slant)
      const v = (y + 0.5) / UP - 14, u = (x + 0.5) / UP - 14 + shear * v;
      const sx = u + 13.5, sy = v + 13.5, x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const top = at(y0, x0) + fx * (at(y0, x0 + 1) - at(y0, x0));
      const bot = at(y0 + 1, x0) + fx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0));
      big[y * S + x] = top + fy * (bot - top);
    }
  const r = pen * UP, k = Math.ceil(r), disk = [];
  for (let dy = -k; dy <= k; dy++) for (let dx = -k; dx <= k; dx++) if (dx * dx + dy * dy <= r * r) disk.push([dy, dx]);
  const gray = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let m = 0;
      for (const [dy, dx] of disk) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < S && xx >= 0 && xx < S && big[yy * S + xx] > m) m = big[yy * S + xx];
      }
      gray[y * S + x] = Math.round(Math.min(1, m) * 255);
    }
  return Uint8Array.from(lens.preprocess({ data: gray, width: S, height: S }), (v) => Math.round(v * 255));
}

const dir = path.resolve(ROOT, args.in), out = path.resolve(ROOT, args.out);
const img = fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte'));
const lab = fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte'));
const n = img.readUInt32BE(4);
const body = Buffer.alloc(n * 784);
for (let i = 0; i < n; i++) body.set(slant(img.subarray(16 + i * 784, 16 + (i + 1) * 784), args.shear, args.pen), i * 784);
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 't10k-images-idx3-ubyte'), Buffer.concat([img.subarray(0, 16), body]));
fs.writeFileSync(path.join(out, 't10k-labels-idx1-ubyte'), lab);
console.log(`${path.relative(ROOT, out)}: ${n} digits (shear ${args.shear}, pen +${args.pen} px each side)`);
