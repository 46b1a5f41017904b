#!/usr/bin/env node
// make_samples.mjs IMAGES LABELS OUT [PER_CLASS] — the page's "sample" digits:
// the first PER_CLASS (default 30) test digits of each class, in test-set
// order, as one compact binary the <digit-lens> element fetches on demand:
//   "DLS1", u32le count, count labels (u8), count x 784 pixels (u8, 0 = black)
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

const [imagesPath, labelsPath, out, perArg = '30'] = process.argv.slice(2);
if (!out) {
  console.error('usage: make_samples.mjs IMAGES LABELS OUT [PER_CLASS]');
  process.exit(2);
}
const die = (msg) => { console.error(`make_samples: ${msg}`); process.exit(1); };
const images = readFileSync(imagesPath), labels = readFileSync(labelsPath);
if (images.readUInt32BE(0) !== 0x803 || images.readUInt32BE(8) !== 28 || images.readUInt32BE(12) !== 28)
  die(`${imagesPath}: not an IDX file of 28x28 images`);
if (labels.readUInt32BE(0) !== 0x801) die(`${labelsPath}: not an IDX label file`);
const n = images.readUInt32BE(4);
if (labels.readUInt32BE(4) !== n || images.length !== 16 + n * 784 || labels.length !== 8 + n)
  die('image and label files do not match');
const per = Number(perArg);
if (!Number.isInteger(per) || per < 1) die(`bad PER_CLASS ${perArg}`);

const picked = [], count = new Array(10).fill(0);
for (let i = 0; i < n && picked.length < 10 * per; i++) {
  const y = labels[8 + i];
  if (y > 9) die(`label ${y} at ${i}`);
  if (count[y] < per) { count[y]++; picked.push(i); }
}
const buf = Buffer.alloc(8 + picked.length * 785);
buf.write('DLS1', 0, 'latin1');
buf.writeUInt32LE(picked.length, 4);
picked.forEach((i, k) => {
  buf[8 + k] = labels[8 + i];
  images.copy(buf, 8 + picked.length + k * 784, 16 + i * 784, 16 + (i + 1) * 784);
});
writeFileSync(out + '.tmp', buf);
renameSync(out + '.tmp', out);
console.log(`make_samples: ${picked.length} digits -> ${out} (${buf.length} bytes)`);
