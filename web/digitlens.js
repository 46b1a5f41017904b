// digitlens.js — load the digitlens WebAssembly module and run it: classify a
// handwritten digit and explain it with Grad-CAM. An ES module with no
// globals; the same file runs in browsers and in Node 20.
//
//   import { load } from './digitlens.js';
//   const lens = await load();                 // default weights next to this file
//   // (load({ methods: 'gradcam' }): the smaller module, Grad-CAM alone)
//   const x = lens.preprocess(imageData);      // any RGBA/gray image -> 784 floats
//   const { digit, probs } = lens.classify(x);
//   const { logits, maps } = lens.explain(x, { classes: 'all' });
//   const img = lens.heatmap(maps, digit, { width: 280 }); // ImageData-shaped RGBA
//
// pixels28: 784 numbers in 0..1, row-major, white ink on black (MNIST's scale).
// Every bad argument throws a DigitLensError whose message says what is wrong.

const N_CLASSES = 10, IN_SIZE = 784, ALL = 0x3ff;
const SHARED = 1, ALPHA = 2;
const COLORMAPS = { viridis: 0, inferno: 1 };
/** CAM methods, in dl_cam_method_id order (c/digitlens.h); formulas in README. */
export const METHODS = Object.freeze(['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam',
  'scorecam', 'ablationcam', 'eigencam', 'counterfactual', 'guided-backprop', 'guided-gradcam']);
// dl_status names, in digitlens.h order
const CODES = ('OK ARG NOMEM NOT_FOUND IS_DIR IO EMPTY_FILE TRUNCATED HEADER_LEN JSON DTYPE ' +
  'SHAPE OFFSETS MISSING NAN MAGIC DIMS LABEL NOT_PNG IMAGE_SIZE NO_INK DIVERGED ARCH CAM_LAYER ' +
  'TOO_LARGE').split(' ');

export class DigitLensError extends Error {
  /** @param {string} message @param {string} [code] e.g. 'NO_INK', 'SHAPE', 'HTTP' */
  constructor(message, code = 'ARG') {
    super(message);
    this.name = 'DigitLensError';
    this.code = code;
  }
}

const fail = (message, code) => { throw new DigitLensError(message, code); };

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this engine runs WebAssembly SIMD (then the SIMD builds are used). */
export function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

// The files next to this module, each named by a literal so that bundlers
// (webpack, Vite, Parcel) see them and copy them. WEIGHTS: the default
// weights, named here and nowhere else.
const WEIGHTS = () => new URL('./twoconv.safetensors', import.meta.url);
const WASM = {
  'digitlens.wasm': () => new URL('./digitlens.wasm', import.meta.url),
  'digitlens-nosimd.wasm': () => new URL('./digitlens-nosimd.wasm', import.meta.url),
  'digitlens-full.wasm': () => new URL('./digitlens-full.wasm', import.meta.url),
  'digitlens-full-nosimd.wasm': () => new URL('./digitlens-full-nosimd.wasm', import.meta.url),
};
// digit-lens.one.js, a classic script, has no URL of its own: its build
// defines import.meta.files as the files it carries (base64 of gzip -9 bytes,
// by kind: 'wasm', the Grad-CAM SIMD module, and 'weights', the default).
const inline = (kind) => import.meta.files
  ? new Response(new Blob([Uint8Array.from(atob(import.meta.files[kind]), (c) => c.charCodeAt(0))]).stream()
    .pipeThrough(new DecompressionStream('gzip'))).arrayBuffer().then((b) => new Uint8Array(b))
  : null;
const compiled = new Map(); // wasm URL -> Promise<WebAssembly.Module>
const fetched = new Map(); // weights or samples URL -> Promise<Uint8Array>: each fetched once a page

/** The .wasm next to this file for a set of methods ('gradcam': the small
 * module the page starts with; 'all': every method of METHODS) and SIMD. */
export function wasmFile(methods = 'all', simd = simdSupported()) {
  if (methods !== 'all' && methods !== 'gradcam') fail(`load: methods must be 'all' or 'gradcam', got ${methods}`);
  return `digitlens${methods === 'all' ? '-full' : ''}${simd ? '' : '-nosimd'}.wasm`;
}

/** A checked fetch() response (http(s) URLs). */
async function get(url, what) {
  let res;
  try { res = await fetch(url); } catch (e) {
    fail(`${what}: cannot fetch ${url.href} (${e.message})`, 'IO');
  }
  if (!res.ok) fail(`${what}: ${url.href} answered HTTP ${res.status}`, 'HTTP');
  if (/text\/html/i.test(res.headers.get('content-type') || ''))
    fail(`${what}: ${url.href} is an HTML page, not a ${what} file`, 'HTTP');
  return res;
}

// A module of Node's, named so that no bundler tries to bundle it for a browser.
const nodeModule = (name) => import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:' + name);

/** Bytes of a URL: fetch(), or the file system for file: URLs in Node. */
async function fetchBytes(url, what) {
  if (url.protocol === 'file:' && !globalThis.document) {
    const { readFile } = await nodeModule('fs/promises');
    try { return new Uint8Array(await readFile(url)); } catch (e) {
      fail(`${what}: cannot read ${url.pathname} (${e.code || e.message})`, 'NOT_FOUND');
    }
  }
  return new Uint8Array(await (await get(url, what)).arrayBuffer());
}

function toURL(u) {
  if (u instanceof URL) return u;
  if (typeof u !== 'string' || !u) fail('weights: expected a URL, an ArrayBuffer or a Uint8Array');
  return new URL(u, globalThis.document?.baseURI ?? import.meta.url);
}

// Over http(s), served as application/wasm, the module compiles while it
// downloads (compileStreaming); otherwise from its bytes.
async function compileURL(url) {
  if (url.protocol !== 'file:' && WebAssembly.compileStreaming) {
    const res = await get(url, 'wasm');
    if (/^application\/wasm\b/i.test(res.headers.get('content-type') || ''))
      return WebAssembly.compileStreaming(res);
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(await fetchBytes(url, 'wasm'));
}

function compile(url) {
  if (!compiled.has(url.href)) {
    const p = (url.href ? compileURL(url) : inline('wasm').then((b) => WebAssembly.compile(b))).then((mod) => {
      // The module must be self-contained: nothing of the host is reachable.
      const imports = WebAssembly.Module.imports(mod);
      if (imports.length)
        fail(`wasm: ${url.href} has imports (${imports.map((i) => i.module + '.' + i.name).join(', ')}); expected none`);
      return mod;
    });
    p.catch(() => compiled.delete(url.href)); // a failed fetch may be retried
    compiled.set(url.href, p);
  }
  return compiled.get(url.href);
}

/** The bytes of a weights or samples URL, fetched once a page however many
 * elements or load() calls ask for them (a failed fetch may be retried). */
function fetchOnce(url, what) {
  if (!fetched.has(url.href)) {
    const p = fetchBytes(url, what);
    p.catch(() => fetched.delete(url.href));
    fetched.set(url.href, p);
  }
  return fetched.get(url.href);
}

/** Parse the JSON header's __metadata__ (string values) of a safetensors file. */
function metadataOf(bytes) {
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const head = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return Object.freeze({ ...head.__metadata__ });
  } catch { return Object.freeze({}); }
}

/**
 * Instantiate the module and load weights.
 * @param {object} [opts]
 * @param {string|URL|ArrayBuffer|Uint8Array} [opts.weights] safetensors file (default: the weights next to this file)
 * @param {'all'|'gradcam'} [opts.methods] 'all' (default): every method of METHODS
 *   (digitlens-full.wasm); 'gradcam': Grad-CAM alone, a smaller download (digitlens.wasm)
 * @param {string|URL} [opts.wasm] the .wasm to use (default: chosen by methods and SIMD support)
 */
export async function load({ weights, wasm, methods = 'all' } = {}) {
  if (typeof WebAssembly !== 'object')
    fail('This browser cannot run WebAssembly, which digitlens needs.', 'NO_WASM');
  const simd = wasm === undefined ? simdSupported() : null;
  if (import.meta.files && wasm === undefined && (methods !== 'gradcam' || !simd))
    fail(simd ? 'The one-file build has Grad-CAM alone.'
      : 'This browser lacks WebAssembly SIMD, which the one-file build needs: use digit-lens.min.js.', 'NO_WASM');
  const wasmURL = wasm !== undefined ? toURL(wasm) : import.meta.files ? {} : WASM[wasmFile(methods, simd)]();
  const weightBytes = weights instanceof ArrayBuffer || ArrayBuffer.isView(weights) ? weights
    : weights !== undefined ? fetchOnce(toURL(weights), 'weights')
      : import.meta.files ? inline('weights') : fetchOnce(WEIGHTS(), 'weights');
  // instantiated as soon as compiled, while the weights may still be arriving
  const [instance, wbytes] = await Promise.all([
    compile(wasmURL).then((mod) => WebAssembly.instantiate(mod, {})), weightBytes]);
  const lens = new Lens(instance.exports, simd);
  try {
    lens.setWeights(wbytes);
  } catch (e) {
    // a network whose Grad-CAM needs the backward pass: the full module has it
    if (e.code === 'ARCH' && wasm === undefined && methods === 'gradcam' && /full\.wasm/.test(e.message))
      return load({ weights: wbytes, methods: 'all' });
    throw e;
  }
  return lens;
}

/**
 * The MNIST test digits that <digit-lens> offers as samples (samples.bin,
 * made by `make wasm`: the first 30 of each class): {count, labels, pixels},
 * pixels count x 784 bytes (0 = black). Fetched once a page.
 * @param {string|URL} [url] default: samples.bin next to this file
 */
export async function loadSamples(url) {
  // samples.bin: "DLS1", u32le count, count labels (u8), count * 784 pixels (u8)
  const b = await fetchOnce(url === undefined ? new URL('./samples.bin', import.meta.url) : toURL(url), 'samples');
  const count = b.length >= 8 ? new DataView(b.buffer, b.byteOffset).getUint32(4, true) : 0;
  if (String.fromCharCode(...b.subarray(0, 4)) !== 'DLS1' || b.length !== 8 + count * 785)
    fail('samples: not a digitlens samples file', 'MAGIC');
  return { count, labels: b.subarray(8, 8 + count), pixels: b.subarray(8 + count) };
}

// The arrays behind each explain() result, for explain({ into }) to refill.
const buffers = new WeakMap();
function newBuffers(n) {
  const all = new Float32Array(N_CLASSES * n);
  return { all, views: Array.from({ length: N_CLASSES }, (_, c) => all.subarray(c * n, (c + 1) * n)),
    logits: new Float32Array(N_CLASSES), probs: new Float32Array(N_CLASSES) };
}

class Lens {
  #x; #mem; #u8; #f32; #in; #weights; #orig; #views;
  constructor(exports, simd) {
    const x = (this.#x = exports);
    x._initialize?.();
    this.#mem = x.memory;
    this.#u8 = new Uint8Array(x.memory.buffer);
    this.#f32 = new Float32Array(x.memory.buffer);
    /** Whether the SIMD build runs (null when a .wasm URL was given). */
    this.simd = simd;
    /** __metadata__ of the loaded weights. */
    this.metadata = Object.freeze({});
    /** The methods this module has: METHODS, or ['gradcam'] for the small one. */
    this.methods = Object.freeze(METHODS.slice(0, x.dl_method_count()));
  }

  /** The same weights in the module with every method (a new Lens). */
  async withAllMethods() {
    const l = await load({ weights: this.#weights, methods: 'all' });
    l.#orig = this.#orig; // (taught weights: resetWeights still goes back to the loaded ones)
    return l;
  }

  /** The module's memory (fixed size: it never grows). */
  get memory() { return this.#mem; }

  #check(status) {
    if (status === 0) return;
    const p = this.#x.dl_last_error();
    const end = this.#u8.indexOf(0, p);
    fail(new TextDecoder().decode(this.#u8.subarray(p, end)), CODES[status] || 'ARG');
  }

  #view(ptr, n) { return this.#f32.subarray(ptr >> 2, (ptr >> 2) + n); }
  #floats(ptr, n) { return this.#f32.slice(ptr >> 2, (ptr >> 2) + n); }

  /** Replace the weights with the bytes of a safetensors file. */
  setWeights(bytes) {
    const u = bytes instanceof Uint8Array ? bytes
      : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        : bytes instanceof ArrayBuffer ? new Uint8Array(bytes)
          : fail('weights: expected an ArrayBuffer or a Uint8Array');
    const cap = this.#x.dl_weights_cap();
    if (u.length === 0) fail('weights: the file is empty', 'EMPTY_FILE');
    if (u.length > cap) fail(`weights: ${u.length} bytes is more than the ${cap} bytes a model may take`);
    if (u[0] === 0x3c /* '<' */) fail('weights: this is an HTML page, not a safetensors file', 'JSON');
    this.#use(u);
    this.#orig = this.#weights;
  }

  #use(u) {
    this.#u8.set(u, this.#x.dl_weights_buf());
    this.#check(this.#x.dl_load_weights(u.length));
    this.metadata = metadataOf(u);
    this.#weights = u.slice();
  }

  // Teaching lives in digitlens-train.js (the training module, the replay
  // digits, the queue that runs calls one after another), fetched at the
  // first call: pages that never teach never fetch it. It reads the weights
  // in use when a call starts and hands back the taught ones.
  #teach(op, ...a) {
    return (import.meta.files ? Promise.reject(new DigitLensError('No teaching in the one-file build', 'NO_WASM'))
      : import(/* webpackIgnore: true */ /* @vite-ignore */ new URL('./digitlens-train.js', import.meta.url).href))
      .then((t) => t[op](() => this.#weights, (u) => this.#use(u), ...a)).catch((e) => fail(e.message, e.code || 'IO'));
  }

  /** Teach the network examples [{pixels, label}]; the lens's weights change
   * in place. Options: steps, lr, layers ('head' | 'all'), replay, seed,
   * optimizer, onProgress. Resolves to {loss: [per step], ms}. */
  fineTune(examples, options) { return this.#teach('fineTune', examples, options); }

  /** The weights in use as F32 safetensors bytes, with the architecture. */
  saveWeights() { return this.#teach('saveWeights'); }

  /** Back to the weights last given to load() or setWeights(). */
  resetWeights() { this.#use(this.#orig); }

  /**
   * Any image -> the 28x28 MNIST-format input, by the C preprocessing
   * (polarity from the border, ink box fit to 20x20, centre of mass at 14,14).
   * @param {{data: ArrayLike<number>, width: number, height: number}} image
   *   RGBA (canvas ImageData, alpha over white) or gray (one byte per pixel, 0 = black)
   */
  preprocess(image) {
    const { data, width: w, height: h } = image || {};
    const max = this.#x.dl_image_max_side();
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1)
      fail('preprocess: width and height must be positive integers', 'IMAGE_SIZE');
    if (w > max || h > max)
      fail(`preprocess: ${w}x${h} is larger than ${max}x${max}; downscale it first`, 'IMAGE_SIZE');
    const rgba = data?.length === w * h * 4;
    if (!rgba && data?.length !== w * h)
      fail(`preprocess: data must hold width*height*4 (RGBA) or width*height (gray) bytes, got ${data?.length}`);
    this.#u8.set(data, this.#x.dl_image_buf());
    this.#check(rgba ? this.#x.dl_preprocess_rgba(w, h) : this.#x.dl_preprocess_gray(w, h));
    return this.#floats(this.#x.dl_input_buf(), IN_SIZE);
  }

  /**
   * After preprocess(image): where the network's 28x28 frame lies on that
   * image (image pixel = o + scale * 28x28 coordinate), to draw a map over
   * the drawing it came from. @returns {{scale: number, ox: number, oy: number}}
   */
  frame() {
    this.#check(this.#x.dl_frame());
    const p = this.#x.dl_frame_buf() >> 2, f = this.#f32;
    return { scale: f[p], ox: f[p + 1], oy: f[p + 2] };
  }

  // The C side checks every pixel (NaN, infinite, outside 0..1), so a typed
  // array is copied in one .set(); only a plain array is checked here, for
  // what C cannot see (a string, an object).
  #input(pixels, what) {
    if (pixels == null || typeof pixels.length !== 'number')
      fail(`${what}: expected 784 pixels (28x28, 0..1), got ${pixels === null ? 'null' : typeof pixels}`);
    if (pixels.length !== IN_SIZE)
      fail(`${what}: expected 784 pixels (28x28), got ${pixels.length}`);
    const at = (this.#in ??= this.#x.dl_input_buf() >> 2);
    if (!ArrayBuffer.isView(pixels) || pixels instanceof DataView)
      for (let i = 0; i < IN_SIZE; i++)
        if (typeof pixels[i] !== 'number') fail(`${what}: pixel ${i} is not a number`);
    this.#f32.set(pixels, at);
  }

  /** @returns {{digit: number, probs: Float32Array}} */
  classify(pixels28) {
    this.#input(pixels28, 'classify');
    this.#check(this.#x.dl_classify());
    return { digit: this.#x.dl_result_digit(), probs: this.#floats(this.#x.dl_result_probs(), N_CLASSES) };
  }

  /** The loaded network's Grad-CAM maps are mapSide x mapSide (24: the
   * seed network; 10: two-conv). */
  get mapSide() { return this.#x.dl_map_side(); }

  /**
   * Grad-CAM: maps[c] is the raw map of class c, mapSide x mapSide values
   * (Float32Array), null for a class not asked for. classes: 'all'
   * (default), a class, or a list. into: a result of an earlier explain(),
   * refilled in place and returned (its arrays are overwritten): no
   * allocation per call, for a caller that explains on every stroke and
   * keeps only the latest result.
   */
  // method: one of METHODS; the guided ones give 28x28 maps (784 values, on
  // the input), the others mapSide x mapSide (side says which).
  // undefined: classes whose map is zero by definition.
  explain(pixels28, { classes = 'all', method = 'gradcam', into } = {}) {
    const mask = maskOf(classes, 'explain');
    const id = METHODS.indexOf(method);
    if (id < 0) fail(`explain: unknown method '${method}'; methods: ${METHODS.join(', ')}`);
    if (!this.methods.includes(method))
      fail(`explain: this module has Grad-CAM alone, not '${method}'; ` +
        "load({ methods: 'all' }) or lens.withAllMethods() has every method", 'METHOD');
    if (into !== undefined && !buffers.has(into))
      fail('explain: into must be a result of an earlier explain()');
    this.#input(pixels28, 'explain');
    this.#check(this.#x.dl_explain_method(id, mask));
    const x = this.#x, side = x.dl_result_side(), n = side * side, u = x.dl_result_undefined();
    // one copy of the ten maps, one view per class
    let b = into && buffers.get(into);
    if (!b || b.all.length !== N_CLASSES * n) b = newBuffers(n);
    // the result buffers are static in the module, and its memory never grows
    const v = (this.#views ??= {
      maps: this.#view(x.dl_result_maps(), N_CLASSES * IN_SIZE),
      logits: this.#view(x.dl_result_logits(), N_CLASSES), probs: this.#view(x.dl_result_probs(), N_CLASSES) });
    b.all.set(v.maps.subarray(0, N_CLASSES * n));
    b.logits.set(v.logits);
    b.probs.set(v.probs);
    const r = into ?? {};
    r.method = method;
    r.side = side;
    r.undefined = [];
    for (let c = 0; c < N_CLASSES; c++) if (mask & u & (1 << c)) r.undefined.push(c);
    r.digit = x.dl_result_digit();
    r.logits = b.logits;
    r.probs = b.probs;
    r.maps = b.views.map((v, c) => (mask & (1 << c) ? v : null));
    buffers.set(r, b);
    return r;
  }

  #maps(maps, what) {
    if (!Array.isArray(maps) || maps.length !== N_CLASSES)
      fail(`${what}: maps must be an array of 10 (one per class; null for absent)`);
    // the network's maps (mapSide^2 values) or the guided methods' 28x28 (784), all alike
    const s = this.mapSide, n = maps.find((m) => m != null)?.length === IN_SIZE ? IN_SIZE : s * s;
    this.#check(this.#x.dl_set_side(n === IN_SIZE ? 28 : s));
    const at = this.#x.dl_result_maps() >> 2;
    let mask = 0;
    maps.forEach((m, c) => {
      if (m == null) { this.#f32.fill(0, at + c * n, at + (c + 1) * n); return; }
      if (m.length !== n) fail(`${what}: maps[${c}] must hold ${n} values (${n === IN_SIZE ? '28x28' : `${s}x${s}`}), got ${m.length}`);
      this.#f32.set(m, at + c * n);
      mask |= 1 << c;
    });
    return mask;
  }

  /**
   * A raw map placed on the input at width x height: each cell on the
   * centre of the input window it came from (the network's geometry),
   * bilinear, zero beyond the map: Float32Array(width*height).
   */
  place(map, width = 28, height = width) {
    const maps = Array(N_CLASSES).fill(null);
    maps[0] = map;
    this.#maps(maps, 'place');
    this.#check(this.#x.dl_place(0, width, height));
    return this.#floats(this.#x.dl_place_buf(), width * height);
  }

  /**
   * The map of class cls, normalised (per map, or shared over every map
   * given), placed and coloured: {width, height, data} with RGBA bytes.
   * alpha: opacity follows the value (for overlays); into: reuse this array.
   */
  heatmap(maps, cls, { width = 28, height = width, shared = false, colormap = 'inferno', alpha = false, into } = {}) {
    const mask = this.#maps(maps, 'heatmap');
    const cmap = COLORMAPS[colormap] ?? fail(`heatmap: colormap must be 'viridis' or 'inferno'`);
    if (!Number.isInteger(cls)) fail('heatmap: class must be an integer 0..9');
    this.#check(this.#x.dl_heat(cls, width, height, cmap, (shared ? SHARED : 0) | (alpha ? ALPHA : 0), mask));
    const n = width * height * 4, p = this.#x.dl_heat_buf();
    let data;
    if (into) {
      if (into.length !== n) fail(`heatmap: into must hold ${n} bytes`);
      (data = into).set(this.#u8.subarray(p, p + n));
    } else data = new Uint8ClampedArray(this.#u8.slice(p, p + n).buffer);
    return { width, height, data };
  }
}

function maskOf(classes, what) {
  if (classes === 'all') return ALL;
  const list = typeof classes === 'number' ? [classes] : Array.isArray(classes) ? classes : null;
  if (!list || !list.length) fail(`${what}: classes must be 'all', a class 0..9 or a list of them`);
  let mask = 0;
  for (const c of list) {
    if (!Number.isInteger(c) || c < 0 || c > 9) fail(`${what}: class ${c} is out of range 0..9`);
    mask |= 1 << c;
  }
  return mask;
}
