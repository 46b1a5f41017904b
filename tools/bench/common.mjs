// common.mjs — what the bench scripts share: arguments, timing, statistics,
// MNIST test images, safetensors. Each script prints ONE JSON object as its
// last line on stdout (libraries may print chatter before it).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** --name value / --name=value / --flag, with defaults. */
export function parseArgs(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) {
      console.error(`unknown argument ${argv[i]}; known: ${Object.keys(defaults).map((k) => '--' + k).join(' ')}`);
      process.exit(2);
    }
    const k = m[1];
    if (typeof defaults[k] === 'boolean') out[k] = m[2] === undefined ? true : m[2] !== 'false';
    else {
      const v = m[2] ?? argv[++i];
      out[k] = typeof defaults[k] === 'number' ? Number(v) : v;
    }
  }
  return out;
}

export function stats(xs, unit) {
  const s = [...xs].sort((a, b) => a - b), n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1], reps: n, unit };
}

/** Microseconds of each of `reps` calls of fn(k) after `warm` warm-up
 * calls; k cycles over 0..cycle-1 from `start`. fn may be async; before(k),
 * if given, runs untimed ahead of each call. */
export async function sampleCalls(fn, { reps, cycle = 100, warm = Math.ceil(reps / 10), start = 0, before }) {
  const t = new Float64Array(reps);
  let sink = 0;
  for (let r = -warm; r < reps; r++) {
    const k = (start + r + warm) % cycle;
    before?.(k);
    const t0 = process.hrtime.bigint();
    let v = fn(k);
    if (v && typeof v.then === 'function') v = await v;
    const t1 = process.hrtime.bigint();
    if (r >= 0) t[r] = Number(t1 - t0) / 1e3;
    sink += typeof v === 'number' ? v : 0;
  }
  if (Number.isNaN(sink)) console.error('(sink NaN)');
  return t;
}

/** stats() of `reps` calls of fn(k) after reps/10 warm-up calls. */
export async function timeCalls(fn, opts) {
  return stats(await sampleCalls(fn, opts), 'us');
}

/** Several jobs timed in `rounds` interleaved rounds of reps/rounds calls
 * each (after one warm-up pass of each), their samples pooled: a burst of
 * load on a shared machine then hits every job alike instead of whichever
 * ran at that moment. jobs: {name: fn(k) or {fn, before}}; returns
 * {name: stats}. */
export async function timeInterleaved(jobs, { reps, rounds = 20, cycle = 100 }) {
  const per = Math.ceil(reps / rounds), samples = {};
  const job = (j) => (typeof j === 'function' ? { fn: j } : j);
  for (const [name, j] of Object.entries(jobs)) {
    await sampleCalls(job(j).fn, { reps: 1, warm: Math.ceil(reps / 10), cycle, before: job(j).before });
    samples[name] = [];
  }
  for (let r = 0; r < rounds; r++)
    for (const [name, j] of Object.entries(jobs))
      samples[name].push(...await sampleCalls(job(j).fn,
        { reps: per, warm: 0, cycle, start: r * per, before: job(j).before }));
  return Object.fromEntries(Object.entries(samples).map(([n, t]) => [n, stats(t, 'us')]));
}

/** The first n MNIST test images as Float32Array(784) each, in 0..1. */
export function testImages(dataDir, n = 100) {
  const buf = readFileSync(path.resolve(ROOT, dataDir, 't10k-images-idx3-ubyte'));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0) !== 0x803) throw new Error(`${dataDir}: not an IDX images file`);
  const out = [];
  for (let k = 0; k < n; k++) {
    const x = new Float32Array(784);
    for (let i = 0; i < 784; i++) x[i] = buf[16 + k * 784 + i] / 255;
    out.push(x);
  }
  return out;
}

function header(buf) {
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  return { n, head: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) };
}

/** The __metadata__ of a safetensors file ({} without one). */
export function readMetadata(file) {
  return header(readFileSync(file)).head.__metadata__ ?? {};
}

/** How a safetensors file stores its weights, in a word: "d4" (4-bit level
 * steps, c/digitlens.h dl_st_load), "int8", "F16" or "F32". */
export function storageOf(file) {
  const t = Object.entries(header(readFileSync(file)).head).filter(([k]) => k !== '__metadata__');
  return t.some(([k]) => k.endsWith('_d4')) ? 'd4' : t.some(([, v]) => v.dtype === 'I8') ? 'int8'
    : t.some(([, v]) => v.dtype === 'F16') ? 'F16' : 'F32';
}

/** {name: {shape, data: Float32Array}} of a safetensors file (F32, F16),
 * and __metadata__ ({} without one). */
export function readSafetensors(file) {
  const buf = readFileSync(file);
  const { n, head } = header(buf);
  const base = 8 + n, out = { __metadata__: head.__metadata__ ?? {} };
  for (const [name, t] of Object.entries(head)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets;
    const bytes = buf.subarray(base + a, base + b);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = t.shape.reduce((p, q) => p * q, 1), data = new Float32Array(count);
    if (t.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    else if (t.dtype === 'F16') for (let i = 0; i < count; i++) data[i] = f16(dv.getUint16(2 * i, true));
    else throw new Error(`${file}: ${name}: dtype ${t.dtype} not supported`);
    out[name] = { shape: t.shape, data };
  }
  return out;
}

/** The network a file's metadata describes: "architecture", its layers as
 * [kind, name, size, k], and "cam_layer", a layer's name (c/digitlens.h,
 * dl_arch_from_meta); a file without them is the seed network.
 * -> {layers: [{kind, name, size, k}], cam: index of the CAM layer} */
export const SEEDNET_ARCH = [['conv', 'conv', 12, 5], ['relu', 'relu'], ['maxpool', 'pool', 2],
  ['flatten', 'flatten'], ['dense', 'fc', 10]];
export function architectureOf(meta = {}) {
  const list = meta.architecture ? JSON.parse(meta.architecture) : SEEDNET_ARCH;
  const layers = list.map(([kind, name, size, k]) => ({ kind, name, size, k }));
  const camName = meta.architecture ? meta.cam_layer : 'relu';
  const cam = layers.findIndex((l) => l.name === camName);
  if (cam < 0) throw new Error(`cam_layer ${camName}: no such layer`);
  return { layers, cam };
}

function f16(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, f = h & 1023;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** max |a - b| / max(max |b|, tiny): one relative difference for a whole array. */
export function maxRelDiff(a, b) {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-30);
}

/** Our module (web/digitlens.js) with the given weights: the reference. */
export async function loadOurs(weights, wasm = 'web/digitlens.wasm') {
  const { load } = await import(pathToFileURL(path.join(ROOT, 'web', 'digitlens.js')).href);
  return load({ weights: readFileSync(path.resolve(ROOT, weights)), wasm: pathToFileURL(path.resolve(ROOT, wasm)) });
}

export function emit(obj) { process.stdout.write('\n' + JSON.stringify(obj) + '\n'); }
