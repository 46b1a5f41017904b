// wasm.mjs — our WebAssembly under Node, with the weights given (any network
// the module runs): forward latency for one image and forward + Grad-CAM of
// all ten classes for one image, for the SIMD and the non-SIMD builds. Two ways each:
//   api  through web/digitlens.js (classify / explain): what a page pays,
//        copying the 784 pixels in and the logits, probs and maps out,
//        into new arrays, and (api_gradcam10_into) into the last result's;
//   raw  the exports alone (dl_classify / dl_explain on an input already in
//        memory): the compute.
// Also the peak multiply-add rate of build/bench/peak.wasm (the loop of
// tools/bench/peak.h) when it was built, for the floor of the WASM rows.
//
//   node tools/bench/wasm.mjs [--weights F] [--data DIR] [--reps N]
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, parseArgs, timeInterleaved, testImages, loadOurs, emit, stats } from './common.mjs';

const args = parseArgs({ weights: 'weights/seednet.safetensors', data: 'data/mnist', reps: 5000 });
const xs = testImages(args.data, 100);
const weights = readFileSync(path.resolve(ROOT, args.weights));
const out = { node: process.version, builds: {} };

// Every job of both builds in one interleaved set of rounds (timeInterleaved):
// a burst of load on this shared machine then slows them all alike.
const jobs = {};
for (const [name, file] of [['simd', 'web/digitlens.wasm'], ['nosimd', 'web/digitlens-nosimd.wasm']]) {
  const lens = await loadOurs(args.weights, file);
  const r = { file, bytes: readFileSync(path.resolve(ROOT, file)).length };
  jobs[`${name}.api_forward`] = (k) => lens.classify(xs[k]).digit;
  jobs[`${name}.api_gradcam10`] = (k) => lens.explain(xs[k], { classes: 'all' }).maps[9][0];
  const last = lens.explain(xs[0]);
  jobs[`${name}.api_gradcam10_into`] = (k) => lens.explain(xs[k], { classes: 'all', into: last }).maps[9][0];

  // raw exports, our own instance: each input is copied in untimed
  const { instance } = await WebAssembly.instantiate(readFileSync(path.resolve(ROOT, file)), {});
  const x = instance.exports;
  x._initialize?.();
  const u8 = () => new Uint8Array(x.memory.buffer), f32 = () => new Float32Array(x.memory.buffer);
  u8().set(weights, x.dl_weights_buf());
  if (x.dl_load_weights(weights.length) !== 0) throw new Error(`${file}: dl_load_weights failed`);
  const at = x.dl_input_buf() >> 2;
  const checked = (st) => { if (st !== 0) throw new Error(`${file}: status ${st}`); return st; };
  const before = (k) => f32().set(xs[k], at);
  jobs[`${name}.raw_forward`] = { fn: () => checked(x.dl_classify()), before };
  jobs[`${name}.raw_gradcam10`] = { fn: () => checked(x.dl_explain(0x3ff)), before };
  // the two builds must agree with each other on every map (checked below)
  r.check = xs.slice(0, 20).map((px) => lens.explain(px, { classes: 'all' }));
  out.builds[name] = r;
}
for (const [key, st] of Object.entries(await timeInterleaved(jobs, { reps: args.reps }))) {
  const [name, job] = key.split('.');
  out.builds[name][job] = st;
}

let d = 0, dl = 0;
out.builds.simd.check.forEach((a, k) => {
  const b = out.builds.nosimd.check[k];
  for (let c = 0; c < 10; c++) {
    dl = Math.max(dl, Math.abs(a.logits[c] - b.logits[c]));
    for (let i = 0; i < a.maps[c].length; i++) d = Math.max(d, Math.abs(a.maps[c][i] - b.maps[c][i]));
  }
});
out.map_cells = out.builds.simd.check[0].maps[0].length;
out.simd_vs_nosimd = { images: out.builds.simd.check.length, max_abs_logit_diff: dl, max_abs_map_diff: d };
for (const r of Object.values(out.builds)) delete r.check;

// peak multiply-add rate in WASM SIMD (one core), if the bench built it
const peakFile = path.join(ROOT, 'build/bench/peak.wasm');
if (existsSync(peakFile)) {
  const { instance } = await WebAssembly.instantiate(readFileSync(peakFile), {});
  const p = instance.exports;
  p.peak_run(100000); // warm-up: tier-up to the optimising compiler
  const rates = [];
  for (let r = 0; r < 7; r++) {
    const iters = 3000000;
    const t0 = process.hrtime.bigint();
    p.peak_run(iters);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(iters * p.peak_macs_per_iter() / s);
  }
  out.peak = { ...stats(rates, 'MAC/s'), best: Math.max(...rates) };
}
emit(out);
