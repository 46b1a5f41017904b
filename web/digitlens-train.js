// digitlens-train.js — teaching: fine-tuning a network on a visitor's own
// digits with the training module (digitlens-train.wasm, c/wasm_train.c).
// digitlens.js imports this file only when lens.fineTune() or
// lens.saveWeights() is first called, so a page that never teaches never
// fetches it, the module or the replay digits. In a browser's main thread the
// work runs in a Worker (teach-worker.js, the same code), so that drawing
// stays smooth while the network learns; in Node and inside a worker, here.
//
// Weights travel as safetensors bytes: the lens's current file goes in, an
// F32 file with the architecture metadata comes out, and the lens loads it.
// Errors are Errors with a .code (a dl_status name), which digitlens.js
// turns into its DigitLensError.

const IN = 784;
const CODES = ('OK ARG NOMEM NOT_FOUND IS_DIR IO EMPTY_FILE TRUNCATED HEADER_LEN JSON DTYPE ' +
  'SHAPE OFFSETS MISSING NAN MAGIC DIMS LABEL NOT_PNG IMAGE_SIZE NO_INK DIVERGED ARCH CAM_LAYER ' +
  'TOO_LARGE').split(' ');

/** What fineTune() does when an option is not given; lr: 0.03 for the
 * head, 0.003 for every layer (README, Teaching, says how they were chosen). */
export const DEFAULTS = Object.freeze({ steps: 30, lr: undefined, layers: 'head', replay: 300, seed: 1, optimizer: 'sgd' });
const LR = { head: 0.03, all: 0.003 };
/** The most images one call takes (examples + replay): c/wasm_train.c's limit. */
export const MAX_IMAGES = 1024;

const fail = (message, code = 'ARG') => { throw Object.assign(new Error(message), { code }); };

const FILES = {
  simd: () => new URL('./digitlens-train.wasm', import.meta.url),
  nosimd: () => new URL('./digitlens-train-nosimd.wasm', import.meta.url),
  replay: () => new URL('./replay.bin', import.meta.url),
  test: () => new URL('./test1k.bin', import.meta.url),
  worker: () => new URL('./teach-worker.js', import.meta.url),
};

async function bytesOf(url, what) {
  if (url.protocol === 'file:' && !globalThis.document && !globalThis.WorkerGlobalScope) {
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    try { return new Uint8Array(await readFile(url)); } catch (e) {
      fail(`${what}: cannot read ${url.pathname} (${e.code || e.message})`, 'NOT_FOUND');
    }
  }
  let res;
  try { res = await fetch(url); } catch (e) { fail(`${what}: cannot fetch ${url.href} (${e.message})`, 'IO'); }
  if (!res.ok) fail(`${what}: ${url.href} answered HTTP ${res.status}`, 'HTTP');
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * A digits file: samples.bin's format ("DLS1", u32le count, count labels,
 * count x 784 pixels, 0 = black), gzip-compressed or not (replay.bin and
 * test1k.bin are, to a fifth). @returns {Promise<{count, labels, pixels}>}
 */
export async function loadDigits(url = FILES.test(), what = 'digits') {
  let b = await bytesOf(url instanceof URL ? url : new URL(url, globalThis.document?.baseURI ?? import.meta.url), what);
  if (b[0] === 0x1f && b[1] === 0x8b)
    b = new Uint8Array(await new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const count = b.length >= 8 ? new DataView(b.buffer, b.byteOffset).getUint32(4, true) : 0;
  if (String.fromCharCode(...b.subarray(0, 4)) !== 'DLS1' || b.length !== 8 + count * 785)
    fail(`${what}: not a digitlens digits file`, 'MAGIC');
  return { count, labels: b.subarray(8, 8 + count), pixels: b.subarray(8 + count) };
}

// ---- checking what the caller gives --------------------------------------

/**
 * examples and options -> the job the module runs, or an Error naming the
 * first problem. examples: [{pixels (784 values in 0..1), label (0..9)}].
 */
export function job(examples, options = {}) {
  if (!Array.isArray(examples)) fail('fineTune: examples must be an array of {pixels, label}');
  if (!examples.length) fail('fineTune: no examples: give at least one {pixels, label}');
  if (options === null || typeof options !== 'object') fail('fineTune: options must be an object');
  for (const k of Object.keys(options))
    if (!(k in DEFAULTS) && k !== 'onProgress')
      fail(`fineTune: unknown option '${k}' (steps, lr, layers, replay, seed, optimizer, onProgress)`);
  const o = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined && k !== 'onProgress') o[k] = v;
  if (o.layers !== 'head' && o.layers !== 'all') fail(`fineTune: layers must be 'head' or 'all', got ${o.layers}`);
  if (o.lr === undefined) o.lr = LR[o.layers];
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 1000) fail(`fineTune: steps must be an integer 1..1000, got ${o.steps}`);
  if (typeof o.lr !== 'number' || !(o.lr > 0 && o.lr <= 1)) fail(`fineTune: lr must be a number in (0, 1], got ${o.lr}`);
  if (o.optimizer !== 'adam' && o.optimizer !== 'sgd') fail(`fineTune: optimizer must be 'adam' or 'sgd', got ${o.optimizer}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) fail(`fineTune: seed must be an integer 0..4294967295, got ${o.seed}`);
  if (!Number.isInteger(o.replay) || o.replay < 0) fail(`fineTune: replay must be an integer from 0, got ${o.replay}`);
  const n = examples.length;
  if (n + o.replay > MAX_IMAGES)
    fail(`fineTune: ${n} examples + ${o.replay} replay digits is more than the ${MAX_IMAGES} images a call takes`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') fail('fineTune: onProgress must be a function');
  const pixels = new Float32Array(n * IN), labels = new Uint8Array(n);
  examples.forEach((e, i) => {
    const p = e?.pixels, at = `fineTune: example ${i}`;
    if (p == null || typeof p.length !== 'number') fail(`${at}: pixels must be 784 values (28x28, 0..1)`);
    if (p.length !== IN) fail(`${at}: expected 784 pixels (28x28), got ${p.length}`);
    for (let k = 0; k < IN; k++) {
      const v = p[k];
      if (typeof v !== 'number') fail(`${at}: pixel ${k} is not a number`);
      if (!Number.isFinite(v)) fail(`${at}: pixel ${k} is ${v}`, 'NAN');
      if (v < 0 || v > 1) fail(`${at}: pixel ${k} is ${v}, outside 0..1 (MNIST scale)`);
    }
    if (!Number.isInteger(e.label) || e.label < 0 || e.label > 9) fail(`${at}: label ${JSON.stringify(e.label)} is not a class 0..9`, 'LABEL');
    pixels.set(p, i * IN);
    labels[i] = e.label;
  });
  return { n, pixels, labels, steps: o.steps, lr: o.lr, layers: o.layers, replay: o.replay, seed: o.seed, optimizer: o.optimizer };
}

// ---- the module, in this thread --------------------------------------------

const cores = new Map(); // 'simd' | 'nosimd' -> Promise<core>

/** The training module instantiated, with the replay digits in it. */
function core(simd) {
  const key = simd ? 'simd' : 'nosimd';
  if (!cores.has(key)) {
    const p = (async () => {
      const [bytes, replay] = await Promise.all([bytesOf(FILES[key](), 'wasm'), loadDigits(FILES.replay(), 'replay')]);
      const mod = await WebAssembly.compile(bytes);
      const imports = WebAssembly.Module.imports(mod);
      if (imports.length) fail(`wasm: ${FILES[key]().href} has imports (${imports.map((i) => i.module + '.' + i.name).join(', ')}); expected none`);
      const x = (await WebAssembly.instantiate(mod, {})).exports;
      x._initialize?.();
      const c = new Core(x);
      c.setReplay(replay);
      return c;
    })();
    p.catch(() => cores.delete(key));
    cores.set(key, p);
  }
  return cores.get(key);
}

class Core {
  constructor(x) { this.x = x; }
  get u8() { return new Uint8Array(this.x.memory.buffer); }
  get f32() { return new Float32Array(this.x.memory.buffer); }
  check(status) {
    if (status === 0) return;
    const u8 = this.u8, p = this.x.dl_last_error();
    fail(new TextDecoder().decode(u8.subarray(p, u8.indexOf(0, p))), CODES[status] || 'ARG');
  }
  setReplay({ count, labels, pixels }) {
    const n = Math.min(count, this.x.dl_replay_cap());
    this.u8.set(pixels.subarray(0, n * IN), this.x.dl_replay_buf());
    this.u8.set(labels.subarray(0, n), this.x.dl_replay_labels());
    this.check(this.x.dl_set_replay(n));
  }
  load(weights) {
    if (!(weights instanceof Uint8Array) || !weights.length) fail('weights: expected the bytes of a safetensors file', 'EMPTY_FILE');
    if (weights.length > this.x.dl_weights_cap()) fail(`weights: ${weights.length} bytes is more than the ${this.x.dl_weights_cap()} a model may take`);
    this.u8.set(weights, this.x.dl_weights_buf());
    this.check(this.x.dl_load_weights(weights.length));
  }
  save() {
    this.check(this.x.dl_save_weights());
    const p = this.x.dl_out_buf();
    return this.u8.slice(p, p + this.x.dl_out_len());
  }
  tune(weights, j, onProgress) {
    const x = this.x;
    this.load(weights);
    if (j.replay > x.dl_replay_count()) fail(`fineTune: replay must be 0..${x.dl_replay_count()} (the replay set), got ${j.replay}`);
    this.f32.set(j.pixels, x.dl_images_buf() >> 2);
    this.u8.set(j.labels, x.dl_labels_buf());
    this.check(x.dl_tune_begin(j.n, j.replay, j.layers === 'all' ? 1 : 0, j.optimizer === 'sgd' ? 1 : 0, j.lr, j.seed));
    const loss = [];
    for (let s = 0; s < j.steps; s++) {
      this.check(x.dl_tune_step()); // DIVERGED: the module has put the weights back
      loss.push(x.dl_tune_loss());
      onProgress?.(s + 1, j.steps, loss[s]);
    }
    return { weights: this.save(), loss };
  }
  evaluate(weights, pixels, labels) {
    this.load(weights);
    const x = this.x, n = labels.length, cap = x.dl_images_cap(), f = this.f32, at = x.dl_images_buf() >> 2;
    let correct = 0;
    for (let lo = 0; lo < n; lo += cap) {
      const hi = Math.min(n, lo + cap);
      for (let i = lo * IN; i < hi * IN; i++) f[at + i - lo * IN] = pixels[i] / 255;
      this.u8.set(labels.subarray(lo, hi), x.dl_labels_buf());
      const r = x.dl_evaluate(hi - lo);
      this.check(r < 0 ? -r : 0);
      correct += r;
    }
    return correct;
  }
}

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt), as digitlens.js
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const simdSupported = () => { try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; } };

/** What the worker and the inline path both run: one request, one answer.
 * simd: which build (default: SIMD where the engine has it). */
export async function serve({ op, simd = simdSupported(), weights, job: j, pixels, labels }, onProgress) {
  const c = await core(simd);
  if (op === 'tune') return c.tune(weights, j, onProgress);
  if (op === 'save') { c.load(weights); return { weights: c.save() }; }
  if (op === 'evaluate') return { correct: c.evaluate(weights, pixels, labels) };
  fail(`unknown request ${op}`);
}

// ---- in a worker, when there is one ------------------------------------------

let worker = null, nextId = 0;
const pending = new Map();

function viaWorker() {
  if (worker !== null) return worker;
  worker = false;
  if (typeof Worker !== 'function' || !globalThis.document) return worker;
  try {
    const w = new Worker(FILES.worker(), { type: 'module' });
    w.onmessage = ({ data }) => {
      const p = pending.get(data.id);
      if (!p) return;
      if (data.progress) return p.onProgress?.(...data.progress);
      pending.delete(data.id);
      if (data.error) p.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
      else p.resolve(data.result);
    };
    // a worker that cannot start (a browser without module workers, a
    // policy): what it had runs here instead, and so does what follows
    w.onerror = (e) => {
      e.preventDefault?.();
      worker = false;
      w.terminate();
      for (const [id, p] of pending) { pending.delete(id); serve(p.req, p.onProgress).then(p.resolve, p.reject); }
    };
    worker = w;
  } catch { worker = false; }
  return worker;
}

function request(req, onProgress) {
  const w = viaWorker();
  if (!w) return serve(req, onProgress);
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject, onProgress, req });
    w.postMessage({ id, ...req });
  });
}

/** Whether requests run in a Worker (a browser's main thread) or here. */
export const inWorker = () => !!viaWorker();

// ---- what digitlens.js calls -------------------------------------------------

// Calls run one after another (a lens's second call teaches what its first
// taught), each reading the weights in use when it starts.
let queue = Promise.resolve();
const inTurn = (f) => {
  const p = queue.then(f);
  queue = p.catch(() => {});
  return p;
};

/** lens.fineTune: weights() the lens's file, use(bytes) gives it the taught
 * one. Resolves to {loss: [per step], ms}. */
export function fineTune(weights, use, examples, options) {
  return inTurn(async () => {
    const t0 = performance.now();
    const r = await request({ op: 'tune', simd: simdSupported(), weights: weights(), job: job(examples, options) },
      options?.onProgress);
    use(r.weights);
    return { loss: r.loss, ms: performance.now() - t0 };
  });
}

/** lens.saveWeights: the lens's weights as F32 safetensors with the architecture. */
export function saveWeights(weights) {
  return inTurn(async () => (await request({ op: 'save', simd: simdSupported(), weights: weights() })).weights);
}

/** How many of a digits set ({labels, pixels} as loadDigits gives) the
 * weights read right. */
export async function evaluate(weights, { labels, pixels }, simd = simdSupported()) {
  return (await request({ op: 'evaluate', simd, weights, pixels, labels })).correct;
}

// ---- the personal set's variants ---------------------------------------------

/**
 * count variants of a 28x28 image (784 values in 0..1): each turned by up to
 * +-rot degrees and shifted by up to +-shift pixels about the centre (14, 14),
 * bilinear, zero outside; the same seed, the same variants.
 */
export function variants(pixels, count = 3, seed = 1, { rot = 12, shift = 2 } = {}) {
  let s = seed >>> 0;
  const rnd = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
  const out = [];
  for (let v = 0; v < count; v++) {
    const th = (rnd() * rot * Math.PI) / 180, dx = rnd() * shift, dy = rnd() * shift;
    const c = Math.cos(th), sn = Math.sin(th), o = new Float32Array(IN);
    const at = (y, x) => (y < 0 || y > 27 || x < 0 || x > 27 ? 0 : pixels[y * 28 + x]);
    for (let i = 0; i < 28; i++)
      for (let j = 0; j < 28; j++) {
        // the source of output pixel centre p: R(-th) (p - c - d) + c, in pixel indices
        const u = j + 0.5 - 14 - dx, w = i + 0.5 - 14 - dy;
        const sx = c * u + sn * w + 13.5, sy = -sn * u + c * w + 13.5;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        const top = at(y0, x0) + fx * (at(y0, x0 + 1) - at(y0, x0));
        const bot = at(y0 + 1, x0) + fx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0));
        o[i * 28 + j] = Math.min(1, Math.max(0, top + fy * (bot - top)));
      }
    out.push(o);
  }
  return out;
}
