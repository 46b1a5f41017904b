// onnx.mjs — onnxruntime-web, WebAssembly execution provider, in Node: the
// seed network with our weights, exported to ONNX by export_onnx.py.
// Forward latency for one image (session.run, awaited, logits read), on one
// thread (like ours in a page), and a check of the logits against ours.
//
//   node tools/bench/onnx.mjs [--model build/bench/seednet.onnx] [--weights F]
//                             [--data DIR] [--reps N]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, parseArgs, timeCalls, testImages, loadOurs, maxRelDiff, emit } from './common.mjs';

const args = parseArgs({ model: 'build/bench/seednet.onnx', weights: 'weights/seednet.safetensors',
  data: 'data/mnist', reps: 2000 });
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(readFileSync(path.resolve(ROOT, args.model)),
  { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
const xs = testImages(args.data, 100);
const inputs = xs.map((x) => new ort.Tensor('float32', x, [1, 1, 28, 28]));

async function forward(k) {
  const r = await session.run({ x: inputs[k] });
  return r.logits.data;
}

const out = { ort: ort.env.versions?.web ?? ort.env.versions?.common ?? 'unknown', ep: 'wasm', threads: 1 };
const ours = await loadOurs(args.weights);
let d = 0;
for (let k = 0; k < xs.length; k++) d = Math.max(d, maxRelDiff(await forward(k), ours.explain(xs[k], { classes: 'all' }).logits));
out.check = { images: xs.length, logits_max_rel_diff: d };
out.forward = await timeCalls(async (k) => (await forward(k))[0], { reps: args.reps });
emit(out);
