// tfjs.mjs — TensorFlow.js with the WebAssembly backend (SIMD on) in Node,
// running the network a weights file describes (its "architecture" and
// "cam_layer" metadata; none: the seed network) with OUR weights:
//   forward   one image -> 10 logits (dataSync)
//   gradcam1  forward + Grad-CAM of ONE class: tf.grad of the pre-softmax
//             logit of the predicted class w.r.t. the CAM layer's output A,
//             alpha = mean over i,j, L = relu(sum_k alpha_k A_k) (dataSync)
// and a check against ours (web/digitlens.js, SIMD build): logits and maps
// of the first 100 test images, max relative difference, on the wasm
// backend and on tfjs's cpu backend. tfjs-backend-wasm 4.22.0's MaxPoolGrad
// loses the gradient of windows whose maximum is <= 0 (all-zero windows
// after the ReLU), so where a max-pool follows A its maps differ from ours;
// see the note the check writes. The timing is unaffected: the same work
// is done.
//
// tfjs is NHWC: conv2d takes filters [K,K,C,OC] (ours is OIHW [OC,C,K,K]),
// and a flatten transposes to NCHW first so the features come in PyTorch's
// (C,H,W) order that the dense weights expect.
//
//   node tools/bench/tfjs.mjs [--weights F] [--data DIR] [--reps N]
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, parseArgs, timeCalls, testImages, readSafetensors, architectureOf, loadOurs, maxRelDiff, emit }
  from './common.mjs';

const args = parseArgs({ weights: 'weights/seednet.safetensors', data: 'data/mnist', reps: 2000 });
const require = createRequire(import.meta.url);
const tf = await import('@tensorflow/tfjs');
const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
wasmBackend.setWasmPaths(wasmDir + path.sep);
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, like ours in a page
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
await tf.ready();
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');

// ---- the network, layer by layer, from the weights file's architecture
const W = readSafetensors(path.resolve(ROOT, args.weights));
const arch = architectureOf(W.__metadata__);
const tensor = (name) => {
  if (!W[name]) throw new Error(`${args.weights}: no tensor ${name}`);
  return W[name];
};
const ops = arch.layers.map(({ kind, name, size }) => {
  if (kind === 'conv') {
    const w = tensor(`${name}.weight`); // [OC, C, K, K]
    const f = tf.tidy(() => tf.tensor4d(w.data, w.shape).transpose([2, 3, 1, 0])); // [K, K, C, OC]
    const b = tf.tensor1d(tensor(`${name}.bias`).data);
    return (x) => tf.add(tf.conv2d(x, f, 1, 'valid'), b);
  }
  if (kind === 'relu') return (x) => tf.relu(x);
  if (kind === 'maxpool') return (x) => tf.maxPool(x, size, size, 'valid');
  if (kind === 'flatten') return (x) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]);
  if (kind === 'dense') {
    const w = tensor(`${name}.weight`); // [OUT, IN]
    const m = tf.tidy(() => tf.tensor2d(w.data, w.shape).transpose()); // [IN, OUT]
    const b = tf.tensor1d(tensor(`${name}.bias`).data);
    return (x) => tf.add(tf.matMul(x, m), b);
  }
  throw new Error(`${args.weights}: layer kind ${kind} not built here`);
});
const run = (x, from, to) => ops.slice(from, to).reduce((y, op) => op(y), x);
const CAM = arch.cam;
const mapsOf = (x) => run(x, 0, CAM + 1);               // A [1, S, S, K]
const head = (A) => run(A, CAM + 1, ops.length);        // logits [1, 10]
const input = (px) => tf.tensor4d(px, [1, 28, 28, 1]);

/** logits (Float32Array 10) of one image */
function forward(px) {
  const y = tf.tidy(() => head(mapsOf(input(px))));
  const v = y.dataSync();
  y.dispose();
  return v;
}

/** {logits, map [S*S] row-major} of class cls (default: the prediction,
 * picked on the device by a one-hot of the argmax: no readback mid-way) */
function gradcam1(px, cls) {
  const [y, L] = tf.tidy(() => {
    const A = mapsOf(input(px));
    const logits = head(A);
    const onehot = tf.oneHot(cls === undefined ? tf.argMax(logits, 1) : tf.tensor1d([cls], 'int32'), 10);
    const dA = tf.grad((a) => tf.sum(tf.mul(head(a), onehot)))(A); // dy^c/dA [1,S,S,K]
    const alpha = tf.mean(dA, [1, 2], true);                      // [1,1,1,K]
    const L = tf.relu(tf.sum(tf.mul(A, alpha), 3));               // [1,S,S]
    return [logits, L];
  });
  const logits = y.dataSync(), map = L.dataSync();
  y.dispose(); L.dispose();
  return { logits, map };
}

const xs = testImages(args.data, 100);
const out = { tfjs: tf.version.tfjs, backend: tf.getBackend(), simd, threads: 1,
  layers: arch.layers.map((l) => l.name), cam_layer: arch.layers[CAM].name };

// ---- check against ours: logits, and each image's map of its predicted
// class, on the wasm backend and (as a second opinion) on tfjs's cpu backend
const ours = await loadOurs(args.weights);
const refs = xs.map((x) => ours.explain(x, { classes: 'all' }));
function check(backend) {
  let dLogit = 0, dMap = 0, worst = -1, differ = 0;
  xs.forEach((x, k) => {
    const e = refs[k], t = gradcam1(x, e.digit), ref = e.maps[e.digit];
    if (t.map.length !== ref.length) throw new Error(`tfjs map of ${t.map.length} cells, ours ${ref.length}`);
    dLogit = Math.max(dLogit, maxRelDiff(t.logits, e.logits));
    // relative to the larger of the two maps' maxima (ours may be all zero)
    let d = 0, m = 1e-30;
    for (let i = 0; i < ref.length; i++) {
      d = Math.max(d, Math.abs(t.map[i] - ref[i]));
      m = Math.max(m, Math.abs(t.map[i]), Math.abs(ref[i]));
    }
    if (d / m > 1e-4) differ++;
    if (d / m > dMap) { dMap = d / m; worst = k; }
  });
  return { backend, images: xs.length, map_cells: refs[0].maps[0].length, logits_max_rel_diff: dLogit,
    map_max_rel_diff: dMap, map_worst_image: worst, maps_differing: differ };
}
out.check = check('wasm');
await tf.setBackend('cpu');
out.check_cpu = check('cpu');
await tf.setBackend('wasm');
const poolAfterA = arch.layers.slice(CAM + 1).some((l) => l.kind === 'maxpool');
out.check.note = !out.check.maps_differing ? 'maps agree'
  : poolAfterA ? 'tfjs-backend-wasm\'s MaxPoolGrad drops the gradient of every pooling window whose maximum is <= 0 ' +
    '(the all-zero windows after the ReLU: only a window at flat index 0 keeps it) and routes other ties to ' +
    'the last maximum; the dropped windows change alpha = mean dy/dA, so its maps differ from ours and ' +
    'PyTorch\'s; tfjs\'s cpu backend ' + (out.check_cpu.maps_differing ? 'differs too' : 'agrees with ours')
    : 'maps differ';

// ---- timings
out.forward = await timeCalls((k) => forward(xs[k])[0], { reps: args.reps });
out.gradcam1 = await timeCalls((k) => gradcam1(xs[k]).map[0], { reps: args.reps });
out.tensors_left = tf.memory().numTensors; // the weights: nothing leaks per call
emit(out);
