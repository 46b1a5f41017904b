// What the tests read of the PNG overlays the CLI writes (explain --out,
// report's figures): a PNG decoder, and the check that an overlay shows the
// map it was made from, where the map places it.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';

/** A PNG's pixels: 8-bit gray, gray+alpha, RGB or RGBA, not interlaced
 * (what libpng writes for the CLI). -> {width, height, channels, data} */
export function decodePNG(buf) {
  assert.ok(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    'the PNG signature');
  let at = 8, head = null;
  const idat = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at), type = buf.toString('latin1', at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') head = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  assert.ok(head, 'an IHDR chunk');
  const width = head.readUInt32BE(0), height = head.readUInt32BE(4);
  const [depth, colour, , , interlace] = head.subarray(8, 13);
  const channels = { 0: 1, 4: 2, 2: 3, 6: 4 }[colour];
  assert.ok(depth === 8 && channels && interlace === 0,
    `8-bit, not interlaced, gray or RGB(A) (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), 'the image data fills the rows');
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride, up = (i) => (y ? data[out - stride + i] : 0), left = (i) => (i >= channels ? data[out + i - channels] : 0);
    for (let i = 0; i < stride; i++) {
      const a = left(i), b = up(i), c = y && i >= channels ? data[out - stride + i - channels] : 0;
      let pred;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: assert.fail(`row ${y}: unknown filter ${filter}`);
      }
      data[out + i] = (row[i] + pred) & 0xff;
    }
  }
  return { width, height, channels, data };
}

const INPUT = 28; // MNIST's side: the input every map is placed on

/** A raw map (side x side, row-major) placed on the S x S image the way the
 * README says, written here again: cell (i, j) is centred on input pixel
 * (off + stride * i, off + stride * j) (grid: as `explain --json` gives it,
 * required: the network decides it), zero beyond the map, the input resized with pixel
 * centres at k + 0.5. -> {value(y, x): the placed value, zeroNear(y, x):
 * every cell within a cell of those the pixel reads is zero}. */
function placed(map, S, grid) {
  const side = Math.round(Math.sqrt(map.length));
  if (!grid || grid.side !== side) throw new Error(`overlay.js: a ${side}x${side} map needs its grid (explain --json's "grid"), got ${JSON.stringify(grid)}`);
  const { off, stride } = grid;
  const cell = (r, c) => (r < 0 || c < 0 || r >= side || c >= side ? 0 : map[r * side + c]);
  const src = (k) => Math.min(INPUT - 1, Math.max(0, ((k + 0.5) * INPUT) / S - 0.5));
  const u = (k) => (src(k) - off) / stride; // cell coordinate
  return {
    value(y, x) {
      const uy = u(y), ux = u(x), y0 = Math.floor(uy), x0 = Math.floor(ux), fy = uy - y0, fx = ux - x0;
      return (cell(y0, x0) * (1 - fx) + cell(y0, x0 + 1) * fx) * (1 - fy) + (cell(y0 + 1, x0) * (1 - fx) + cell(y0 + 1, x0 + 1) * fx) * fy;
    },
    zeroNear(y, x) {
      const y0 = Math.floor(u(y)), x0 = Math.floor(u(x));
      for (let r = y0 - 1; r <= y0 + 2; r++) for (let c = x0 - 1; c <= x0 + 2; c++) if (cell(r, c) !== 0) return false;
      return true;
    },
  };
}

/**
 * The overlay at (x0, y0), S x S, of an RGB(A) image shows `map` (raw,
 * side x side) on the gray input: heat (a colour: the channels differ)
 * wherever the placed map is at least a quarter of `top` (the largest placed
 * value of the maps shown on one scale: this map's alone, or the ten's),
 * and plain gray (R = G = B) wherever no map cell near the pixel is
 * positive. Returns the counts compared, for the caller's own checks.
 */
export function assertOverlayShows(img, { x0 = 0, y0 = 0, S = img.width, grid }, map, top, what) {
  const p = placed(map, S, grid), at = (y, x) => ((y0 + y) * img.width + x0 + x) * img.channels;
  assert.ok(img.channels >= 3, `${what}: an RGB image`);
  let hot = 0, cold = 0;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = at(y, x), [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
      const spread = Math.max(r, g, b) - Math.min(r, g, b);
      if (top > 0 && p.value(y, x) >= 0.25 * top) {
        hot++;
        // opacity 0.8 t >= 0.2 of a colour whose channels differ by 79 or more (inferno, viridis, t >= 0.25)
        if (spread < 8) assert.fail(`${what}: no heat at (${x}, ${y}), where the map is ${(p.value(y, x) / top).toFixed(2)} of its scale: RGB ${r},${g},${b}`);
      } else if (p.zeroNear(y, x)) {
        cold++;
        if (spread !== 0) assert.fail(`${what}: heat at (${x}, ${y}), where every map cell near is zero: RGB ${r},${g},${b}`);
      }
    }
  return { hot, cold };
}

/** The largest value of a raw map placed at S x S (the overlays' scale). */
export function placedMax(map, S, grid) {
  const p = placed(map, S, grid);
  let top = 0;
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) top = Math.max(top, p.value(y, x));
  return top;
}
