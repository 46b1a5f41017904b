// Type declarations for digitlens.js (ES module; `import ... from 'digitlens'`)
// and the <digit-lens> element's interface. digit-lens.d.ts types
// digit-lens.js (`import 'digitlens/element'`), which defines the element and
// exports all of digitlens.js and its class, DigitLens; so does the bundle a
// page loads, digit-lens.min.js.

/** 784 numbers in 0..1, row-major 28x28, white ink on black (MNIST's scale). */
export type Pixels28 = ArrayLike<number>;

/** A class 0..9, a list of them, or 'all'. */
export type Classes = 'all' | number | readonly number[];

/** What the failure was: a dl_status name ('ARG', 'NAN', 'SHAPE', 'NO_INK',
 * 'IMAGE_SIZE', ...; for weights files also 'ARCH', 'CAM_LAYER', 'TOO_LARGE';
 * for fineTune 'LABEL' and 'DIVERGED'),
 * 'HTTP' for a failed fetch or an HTML answer, 'IO' for a fetch that could
 * not be made, 'NO_WASM' without WebAssembly (or, in the one-file build,
 * without SIMD), 'ATTR' for a bad attribute of <digit-lens>. */
export type ErrorCode = string;

export class DigitLensError extends Error {
  name: 'DigitLensError';
  code: ErrorCode;
  constructor(message: string, code?: ErrorCode);
}

export interface ImageLike {
  /** RGBA (width*height*4 bytes, alpha over white) or gray (width*height, 0 = black). */
  data: ArrayLike<number>;
  width: number;
  height: number;
}

export interface Classification {
  digit: number;
  probs: Float32Array; // (10)
}

/** The CAM methods, in the order of the C library (dl_cam_method). */
export type Method = 'gradcam' | 'gradcam++' | 'xgradcam' | 'hirescam' | 'layercam' | 'scorecam' |
  'ablationcam' | 'eigencam' | 'counterfactual' | 'guided-backprop' | 'guided-gradcam';
export const METHODS: readonly Method[];

export interface Explanation extends Classification {
  method: Method;
  /** The maps' side: the network's (Lens.mapSide: 24 for the seed network,
   * 10 for two-conv), or 28 for the guided methods' maps on the input. */
  side: number;
  /** Classes whose map is zero by definition for this input and method. */
  undefined: number[];
  logits: Float32Array; // (10) pre-softmax class scores
  /** maps[c]: the raw map of class c, side x side row-major; null if not asked for. */
  maps: (Float32Array | null)[];
}

/** Where the network's 28x28 frame lies on a preprocessed image:
 * image pixel = o + scale * (28x28 coordinate). */
export interface Frame {
  scale: number;
  ox: number;
  oy: number;
}

export interface HeatmapOptions {
  width?: number;   // 1..512, default 28
  height?: number;  // 1..512, default width
  /** One scale over every map given (so classes compare), else the map's own. */
  shared?: boolean;
  colormap?: 'inferno' | 'viridis';
  /** Alpha follows the normalised value (for overlays); else opaque. */
  alpha?: boolean;
  /** Write into this array (width*height*4) instead of a new one. */
  into?: Uint8ClampedArray;
}

export interface Heatmap {
  width: number;
  height: number;
  data: Uint8ClampedArray; // RGBA; new ImageData(data, width, height) in a browser
}

export interface Lens {
  /** Whether the SIMD build runs (null when a .wasm URL was given). */
  readonly simd: boolean | null;
  /** __metadata__ of the loaded weights (string values). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The methods this module has: METHODS, or ['gradcam'] (load({ methods: 'gradcam' })). */
  readonly methods: readonly Method[];
  /** The same weights in the module with every method. */
  withAllMethods(): Promise<Lens>;
  /** The module's memory; fixed size, it never grows. */
  readonly memory: WebAssembly.Memory;
  /** Replace the weights with the bytes of a safetensors file (any network
   * its architecture metadata describes; F32, F16, int8 or d4). */
  setWeights(bytes: ArrayBuffer | ArrayBufferView): void;
  /**
   * Teach the network: fine-tune it on the examples (plus `replay` MNIST
   * digits, so that it does not forget) with the training module
   * (digitlens-train.wasm, fetched with digitlens-train.js and replay.bin at
   * the first call; in a browser's main thread it runs in a Worker). The
   * lens's weights change in place. Calls run one after another. Rejects
   * with a DigitLensError naming the problem (ARG, NAN, LABEL), the weights
   * untouched; a step that diverges puts back the weights from before the
   * call and rejects with code DIVERGED.
   */
  fineTune(examples: readonly TeachExample[], options?: FineTuneOptions): Promise<FineTuneResult>;
  /** Back to the weights last given to load() or setWeights(). */
  resetWeights(): void;
  /** The weights in use as safetensors bytes: F32, with the "architecture"
   * and "cam_layer" metadata (and "fine_tuned": what taught them), which
   * load({ weights }) and the CLI read. */
  saveWeights(): Promise<Uint8Array>;
  /** Any image up to 1024x1024 -> the 28x28 MNIST-format input. */
  preprocess(image: ImageLike): Float32Array;
  /** After preprocess(image): where the 28x28 frame lies on that image. */
  frame(): Frame;
  classify(pixels28: Pixels28): Classification;
  /** Throws (code 'METHOD') for a method the module lacks (see methods). */
  /** into: an Explanation from an earlier explain(), refilled in place and
   * returned (its arrays are overwritten; nothing is allocated per call). */
  explain(pixels28: Pixels28,
          options?: { classes?: Classes; method?: Method; into?: Explanation }): Explanation;
  /** The loaded network's maps are mapSide x mapSide (24: seed network; 10: two-conv). */
  readonly mapSide: number;
  /** A raw map (mapSide^2 values, or 784 on the input) placed on the input at
   * width x height: each cell on the centre of the input window it came from
   * (seed: cell (i,j) on pixel (i+2,j+2); two-conv: on 2i+4.5, 2j+4.5). */
  place(map: ArrayLike<number>, width?: number, height?: number): Float32Array;
  /** The map of class cls normalised, placed and coloured. maps: 10 entries, null for absent. */
  heatmap(maps: readonly (ArrayLike<number> | null)[], cls: number, options?: HeatmapOptions): Heatmap;
}

/** One example to teach: a 28x28 image (784 values in 0..1, MNIST's
 * format, e.g. lens.preprocess(drawing)) and the class it is. */
export interface TeachExample {
  pixels: Pixels28;
  label: number;
}

export interface FineTuneOptions {
  /** Optimiser steps, each on the whole batch (examples + replay): 1..1000, default 30. */
  steps?: number;
  /** Learning rate in (0, 1]; default 0.03 for 'head', 0.003 for 'all'. */
  lr?: number;
  /** 'head' (default): the last dense layer only; 'all': every layer (slower). */
  layers?: 'head' | 'all';
  /** MNIST training digits mixed in (replay.bin holds 2,000): default 300;
   * examples + replay at most 1024. */
  replay?: number;
  /** Which replay digits are drawn: an integer 0..2^32-1, default 1. The
   * same examples, options and seed give the same weights. */
  seed?: number;
  /** 'sgd' (default; momentum 0.9) or 'adam'. */
  optimizer?: 'sgd' | 'adam';
  /** Called after each step (in the caller's thread). */
  onProgress?: (step: number, steps: number, loss: number) => void;
}

export interface FineTuneResult {
  /** The mean loss over the batch at each step (before its update). */
  loss: number[];
  /** Milliseconds the call took, loading the taught weights included. */
  ms: number;
}

export interface LoadOptions {
  /** A URL, or the bytes of a safetensors file; default: the weights next to digitlens.js. */
  weights?: string | URL | ArrayBuffer | ArrayBufferView;
  /** 'all' (default): every method, digitlens-full.wasm; 'gradcam': Grad-CAM alone,
   * digitlens.wasm, the smaller download (what <digit-lens> starts with). */
  methods?: 'all' | 'gradcam';
  /** The .wasm to use; default: wasmFile(methods), by SIMD support. */
  wasm?: string | URL;
}

export function load(options?: LoadOptions): Promise<Lens>;
/** True when this engine runs WebAssembly SIMD. */
export function simdSupported(): boolean;
/** The .wasm file name for a set of methods: digitlens[-full][-nosimd].wasm. */
export function wasmFile(methods?: 'all' | 'gradcam', simd?: boolean): string;

/** MNIST test digits (samples.bin): labels[i] is the class of the 784 bytes
 * pixels[784 * i ...] (0 = black, 255 = white ink). */
export interface Samples {
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}
/** The samples file (default: samples.bin next to digitlens.js), fetched
 * once a page; throws a DigitLensError (HTTP, IO, MAGIC) when it cannot. */
export function loadSamples(url?: string | URL): Promise<Samples>;

/** The detail of <digit-lens>'s `result` event. */
export interface DigitLensResult {
  digit: number;
  probs: Float32Array;
  maps: (Float32Array | null)[];
  /** The 28x28 image the network saw (784 values, 0..1). */
  input: Float32Array;
}

/** The detail of <digit-lens teach>'s `taught` event. */
export interface DigitLensTaught {
  /** Accuracy on the 1,000 MNIST test digits (test1k.bin), 0..1, before and after. */
  before: number;
  after: number;
  /** fineTune's loss at each step, and the call's milliseconds. */
  loss: number[];
  ms: number;
}

/**
 * <digit-lens>: a drawing pad, the prediction, the probabilities and the
 * Grad-CAM maps. Light-DOM children are its fallback, shown until it is
 * defined.
 *
 * Attributes:
 * - `weights`: URL of a safetensors file, relative to the page (default: the
 *   weights next to the script).
 * - `size`: the preferred side of the pad in CSS pixels, 160..560; without
 *   it the pad fits the container (240..560); a narrower container shrinks it.
 * - `theme`: `light`, `dark` or `auto` (default: the color-scheme the element
 *   inherits from the page).
 * - `samples`: URL of a samples file, relative to the page (default:
 *   samples.bin next to the script; none in the one-file build), or `none`.
 * - `teach` (no value): the teaching panel, loaded (teach.js) at the first
 *   drawing or file dropped on the element: "That's a …" adds the drawing
 *   to a set kept in IndexedDB; Teach fine-tunes the network on it
 *   (lens.fineTune, in a Worker) and shows the drawing's probabilities and
 *   map before and after, and the accuracy on 1,000 MNIST test digits;
 *   Reset, Download weights, Load weights… (or a file dropped on the
 *   element; a bad one is refused with its message and an `error` event).
 *   Not in the one-file build.
 *
 * Events: `result` (CustomEvent<DigitLensResult>); with `teach`, `taught`
 * (CustomEvent<DigitLensTaught>) after each Teach; `error` (an ErrorEvent
 * whose `error` is a DigitLensError: a bad attribute, 'ATTR'; weights or
 * samples that cannot be used, 'HTTP' or 'IO'). The card says the same under
 * the pad; the element goes on with the model and results it has.
 *
 * CSS custom properties, set on the element: `--card` (background), `--fg`
 * (text), `--muted` (secondary text), `--line` (borders), `--track` (the
 * bars' tracks), `--bar` (the bars), `--accent` (the top bar, focus, the
 * chosen map). Parts (`::part()`): `pad`, `heat`, `digit`, `input`, `method`,
 * `message`, `note`, `strip`, `teach` (the teaching panel). State: `:state(starting)` until its first model
 * is ready or has failed (browsers with custom states: Chrome 125+, Firefox
 * 126+, Safari 17.4+), so a page can hold its own painting until then.
 *
 * Keyboard: the bars and the strip are radio groups (one Tab stop each,
 * arrow keys); on the pad, keys 0 to 9 load a test digit of that class.
 */
export interface DigitLensElement extends HTMLElement {
  /** The detail of the last `result` event, or null. */
  readonly result: DigitLensResult | null;
  clear(): void;
  /** A random test digit (of class `digit` if given) from the samples file. */
  sample(digit?: number): Promise<void>;
}
