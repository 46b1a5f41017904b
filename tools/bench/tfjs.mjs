// tfjs.mjs — TensorFlow.js with the WebAssembly backend (SIMD on) in Node,
// running the seed network with OUR weights (read from our safetensors):
//   forward   one image -> 10 logits (dataSync)
//   gradcam1  forward + Grad-CAM of ONE class: tf.grad of the pre-softmax
//             logit of the predicted class w.r.t. the ReLU'd conv maps A,
//             alpha = mean over i,j, L = relu(sum_k alpha_k A_k) (dataSync)
// and a check against ours (web/digitlens.js, SIMD build): logits and maps
// of the first 100 test images, max relative difference, on the wasm
// backend and on tfjs's cpu backend. tfjs-backend-wasm 4.22.0's MaxPoolGrad
// loses the gradient of windows whose maximum is <= 0 (all-zero windows
// after the ReLU), so its maps differ from ours; see the note the check
// writes. The timing is unaffected: the same work is done.
//
// tfjs is NHWC: conv2d takes filters [5,5,1,12] (ours is OIHW [12,1,5,5]),
// and the pooled maps are transposed to NCHW before the flatten so the
// 1728 features come in PyTorch's (C,H,W) order that fc.weight expects.
//
//   node tools/bench/tfjs.mjs [--weights F] [--data DIR] [--reps N]
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, parseArgs, timeCalls, testImages, readSafetensors, loadOurs, maxRelDiff, emit } from './common.mjs';

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

const W = readSafetensors(path.resolve(ROOT, args.weights));
const convW = tf.tidy(() => tf.tensor4d(W['conv.weight'].data, [12, 1, 5, 5]).transpose([2, 3, 1, 0])); // [5,5,1,12]
const convB = tf.tensor1d(W['conv.bias'].data);
const fcW = tf.tidy(() => tf.tensor2d(W['fc.weight'].data, [10, 1728]).transpose()); // [1728,10]
const fcB = tf.tensor1d(W['fc.bias'].data);

const mapsOf = (x) => tf.relu(tf.add(tf.conv2d(x, convW, 1, 'valid'), convB)); // A [1,24,24,12]
const head = (A) => tf.add(tf.matMul(tf.reshape(tf.transpose(tf.maxPool(A, 2, 2, 'valid'), [0, 3, 1, 2]), [1, 1728]), fcW), fcB);
const input = (px) => tf.tensor4d(px, [1, 28, 28, 1]);

/** logits (Float32Array 10) of one image */
function forward(px) {
  const y = tf.tidy(() => head(mapsOf(input(px))));
  const v = y.dataSync();
  y.dispose();
  return v;
}

/** {logits, map [24*24] row-major} of class cls (default: the prediction,
 * picked on the device by a one-hot of the argmax: no readback mid-way) */
function gradcam1(px, cls) {
  const [y, L] = tf.tidy(() => {
    const A = mapsOf(input(px));
    const logits = head(A);
    const onehot = tf.oneHot(cls === undefined ? tf.argMax(logits, 1) : tf.tensor1d([cls], 'int32'), 10);
    const dA = tf.grad((a) => tf.sum(tf.mul(head(a), onehot)))(A); // dy^c/dA [1,24,24,12]
    const alpha = tf.mean(dA, [1, 2]);                          // [1,12]
    const L = tf.relu(tf.sum(tf.mul(A, tf.reshape(alpha, [1, 1, 1, 12])), 3)); // [1,24,24]
    return [logits, L];
  });
  const logits = y.dataSync(), map = L.dataSync();
  y.dispose(); L.dispose();
  return { logits, map };
}

const xs = testImages(args.data, 100);
const out = { tfjs: tf.version.tfjs, backend: tf.getBackend(), simd, threads: 1 };

// ---- check against ours: logits, and each image's map of its predicted
// class, on the wasm backend and (as a second opinion) on tfjs's cpu backend
const ours = await loadOurs(args.weights);
const refs = xs.map((x) => ours.explain(x, { classes: 'all' }));
function check(backend) {
  let dLogit = 0, dMap = 0, worst = -1, differ = 0;
  xs.forEach((x, k) => {
    const e = refs[k], t = gradcam1(x, e.digit);
    dLogit = Math.max(dLogit, maxRelDiff(t.logits, e.logits));
    // relative to the larger of the two maps' maxima (ours may be all zero)
    let d = 0, m = 1e-30;
    for (let i = 0; i < 576; i++) {
      d = Math.max(d, Math.abs(t.map[i] - e.maps[e.digit][i]));
      m = Math.max(m, Math.abs(t.map[i]), Math.abs(e.maps[e.digit][i]));
    }
    if (d / m > 1e-4) differ++;
    if (d / m > dMap) { dMap = d / m; worst = k; }
  });
  return { backend, images: xs.length, logits_max_rel_diff: dLogit, map_max_rel_diff: dMap,
    map_worst_image: worst, maps_differing: differ };
}
out.check = check('wasm');
await tf.setBackend('cpu');
out.check_cpu = check('cpu');
await tf.setBackend('wasm');
out.check.note = out.check.maps_differing
  ? 'tfjs-backend-wasm\'s MaxPoolGrad drops the gradient of every pooling window whose maximum is <= 0 ' +
    '(the all-zero windows after the ReLU: only a window at flat index 0 keeps it) and routes other ties to ' +
    'the last maximum; the dropped windows change alpha = mean dy/dA, so its maps differ from ours and ' +
    'PyTorch\'s; tfjs\'s cpu backend agrees with ours'
  : 'maps agree';

// ---- timings
out.forward = await timeCalls((k) => forward(xs[k])[0], { reps: args.reps });
out.gradcam1 = await timeCalls((k) => gradcam1(xs[k]).map[300], { reps: args.reps });
out.tensors_left = tf.memory().numTensors; // 4 weights: nothing leaks per call
emit(out);
