#!/usr/bin/env node
// sheet.mjs IMAGES OUT.png [COLUMNS] [FROM] [COUNT] — a contact sheet of an
// IDX images file (28x28 bytes each), 2x, in file order, rows of COLUMNS
// (default 20): to look at what render.mjs drew.
import fs from 'node:fs';
import zlib from 'node:zlib';

const [file, out, colsArg = '20', fromArg = '0', countArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: sheet.mjs IMAGES OUT.png [COLUMNS] [FROM] [COUNT]');
  process.exit(2);
}
const b = fs.readFileSync(file);
if (b.readUInt32BE(0) !== 0x803 || b.readUInt32BE(8) !== 28 || b.readUInt32BE(12) !== 28) {
  console.error(`sheet: ${file} is not an IDX file of 28x28 images`);
  process.exit(1);
}
const n = b.readUInt32BE(4), cols = Number(colsArg), from = Number(fromArg);
const count = Math.min(n - from, countArg === undefined ? n : Number(countArg));
const Z = 2, C = 28 * Z + 2, rows = Math.ceil(count / cols), W = cols * C, H = rows * C;
const px = Buffer.alloc(H * (W + 1), 40); // gray grid lines between the digits
for (let y = 0; y < H; y++) px[y * (W + 1)] = 0; // PNG filter byte per row
for (let k = 0; k < count; k++) {
  const ox = (k % cols) * C + 1, oy = Math.floor(k / cols) * C + 1, im = 16 + (from + k) * 784;
  for (let y = 0; y < 28 * Z; y++)
    for (let x = 0; x < 28 * Z; x++)
      px[(oy + y) * (W + 1) + 1 + ox + x] = b[im + Math.floor(y / Z) * 28 + Math.floor(x / Z)];
}
const crcTable = Array.from({ length: 256 }, (_, c) => {
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (buf) => { let c = ~0; for (const v of buf) c = crcTable[(c ^ v) & 255] ^ (c >>> 8); return ~c >>> 0; };
const chunk = (type, data) => {
  const t = Buffer.concat([Buffer.from(type, 'latin1'), data]), len = Buffer.alloc(4), sum = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  sum.writeUInt32BE(crc(t));
  return Buffer.concat([len, t, sum]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(W, 0);
ihdr.writeUInt32BE(H, 4);
ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
fs.writeFileSync(out, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
  chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(px)), chunk('IEND', Buffer.alloc(0))]));
console.log(`sheet: ${count} digits -> ${out} (${W}x${H})`);
