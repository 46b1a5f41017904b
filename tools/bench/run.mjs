// run.mjs — `make bench`: every part of the benchmark in its own process,
// one after the other (so no part disturbs another's timings), then one
// table and build/bench.json. Ratios are computed pair by pair from figures
// of this same run. A peer that is not installed gets a row that says so.
//
//   node tools/bench/run.mjs [--weights F] [--data DIR] [--quick] [--out build/bench.json]
//
// Parts: build/digitlens bench --json (native C), wasm.mjs (our WASM under
// Node, SIMD and not), tfjs.mjs (TensorFlow.js + wasm backend), export_onnx.py
// then onnx.mjs (onnxruntime-web, wasm EP), torch_bench.py (PyTorch CPU),
// and here: download sizes (raw, gzip -9) and the cold start the browser
// suite wrote to build/coldstart.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { ROOT, parseArgs } from './common.mjs';

const args = parseArgs({ weights: 'weights/seednet.safetensors', data: 'data/mnist', quick: false,
  out: 'build/bench.json' });
const BENCH = path.join(ROOT, 'tools', 'bench');
const PY = process.env.BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const weights = path.resolve(ROOT, args.weights);
if (!existsSync(weights)) {
  console.error(`bench: ${args.weights}: no such file (train first, or pass --weights FILE / make bench WEIGHTS=FILE)`);
  process.exit(1);
}
const R = (quick, full) => String(args.quick ? quick : full);

// ---- run the parts ------------------------------------------------------

/** Run one part; its last stdout line that parses as a JSON object is its result. */
function part(name, cmd, argv, { timeout = 900 } = {}) {
  process.stderr.write(`bench: ${name} ...`);
  const t0 = Date.now();
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', timeout: timeout * 1000,
    maxBuffer: 64 << 20, env: { ...process.env, NODE_PATH: '' } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  let json = null;
  for (const line of (r.stdout || '').split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try { json = JSON.parse(line); break; } catch { /* not the result line */ }
  }
  if (r.status !== 0 || !json) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    process.stderr.write(` failed (${secs} s): ${why}\n`);
    return { error: `failed: ${why || 'exit ' + r.status}` };
  }
  process.stderr.write(` ${secs} s\n`);
  return json;
}

const installed = (pkg) => existsSync(path.join(BENCH, 'node_modules', pkg, 'package.json'));
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const NOT_INSTALLED = 'not installed (make bench-peers)';

const load0 = os.loadavg();
const res = {};
res.native = part('native C', path.join(ROOT, 'build/digitlens'),
  ['bench', '--json', '--weights', weights, '--data', args.data, ...(args.quick ? ['--quick'] : [])]);
res.wasm = part('wasm (Node)', process.execPath, [path.join(BENCH, 'wasm.mjs'), '--weights', weights,
  '--data', args.data, '--reps', R(500, 5000)]);
res.tfjs = installed('@tensorflow/tfjs') && installed('@tensorflow/tfjs-backend-wasm')
  ? part('tfjs-wasm', process.execPath, [path.join(BENCH, 'tfjs.mjs'), '--weights', weights,
    '--data', args.data, '--reps', R(300, 2000)])
  : { error: NOT_INSTALLED };
const onnxModel = path.join(ROOT, 'build/bench/seednet.onnx');
if (!installed('onnxruntime-web')) res.onnx = { error: NOT_INSTALLED };
else if (!hasTorch) res.onnx = { error: 'not run: the ONNX export needs PyTorch, ' + NOT_INSTALLED };
else {
  mkdirSync(path.dirname(onnxModel), { recursive: true });
  const ex = spawnSync(PY, [path.join(BENCH, 'export_onnx.py'), '--weights', weights, '--out', onnxModel],
    { cwd: ROOT, encoding: 'utf8' });
  res.onnx = ex.status !== 0
    ? { error: 'ONNX export failed: ' + (ex.stderr || '').trim().split('\n').pop() }
    : part('onnxruntime-web', process.execPath, [path.join(BENCH, 'onnx.mjs'), '--model', onnxModel,
      '--weights', weights, '--data', args.data, '--reps', R(300, 2000)]);
}
res.torch = hasTorch
  ? part('PyTorch', PY, [path.join(BENCH, 'torch_bench.py'), '--weights', weights, '--data', args.data,
    ...(args.quick ? ['--epochs', '1', '--batches', '94', '--reps', '300'] : ['--epochs', '2'])])
  : { error: NOT_INSTALLED };
const load1 = os.loadavg();

// ---- sizes: what a browser downloads, raw and gzip -9 --------------------

function sizeOf(files) {
  let raw = 0, gz = 0;
  const list = [];
  for (const f of files) {
    if (!existsSync(f)) return { error: `missing ${path.relative(ROOT, f)}` };
    const b = readFileSync(f), g = gzipSync(b, { level: 9 }).length;
    raw += b.length; gz += g;
    list.push({ file: path.relative(ROOT, f), raw: b.length, gzip: g });
  }
  return { raw, gzip: gz, files: list };
}
// The widget's files are what the page's head names: the module script and
// the preloads (the wasm the element starts with, the weights); the browser
// suite checks that the page fetches exactly these (and its own style sheet
// and icon), each once. A browser with WebAssembly SIMD downloads these and
// nothing else until another CAM method is chosen (digitlens-full.wasm).
function widgetFiles() {
  const html = readFileSync(path.join(ROOT, 'web/index.html'), 'utf8');
  const script = [...html.matchAll(/<script type="module" src="([^"]+)"/g)].map((m) => m[1]);
  const preload = [...html.matchAll(/<link rel="preload" href="([^"]+)"/g)].map((m) => m[1]);
  return [...script, ...preload].map((f) => path.join(ROOT, 'web', f));
}
const nm = (p) => path.join(BENCH, 'node_modules', p);
const ours = sizeOf(widgetFiles());
const part_ = (re) => ours.error ? ours : ours.files.filter((f) => re.test(f.file))
  .reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
res.sizes = {
  ours,
  ours_code: part_(/\.(m?js|wasm)$/),
  on_demand: sizeOf(['web/digitlens-full.wasm'].map((f) => path.join(ROOT, f))),
  tfjs: installed('@tensorflow/tfjs-backend-wasm') ? sizeOf([
    nm('@tensorflow/tfjs-core/dist/tf-core.min.js'),
    nm('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'),
    nm('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')]) : { error: NOT_INSTALLED },
  onnx: installed('onnxruntime-web') ? sizeOf([
    nm('onnxruntime-web/dist/ort.wasm.min.mjs'),
    nm('onnxruntime-web/dist/ort-wasm-simd-threaded.mjs'),
    nm('onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')]) : { error: NOT_INSTALLED },
  note: 'ours: what <digit-lens> downloads in a browser with WebAssembly SIMD: the bundled, minified element ' +
    'and loader (digit-lens.min.js), the Grad-CAM wasm and the default weights, as the page\'s head names them ' +
    '(digitlens-full.wasm only when another method is chosen, samples.bin only when a sample is asked for); ' +
    'peers: runtime only, before any model (tfjs: tfjs-core + backend-wasm bundles + the SIMD ' +
    'wasm; onnxruntime-web: the wasm-only bundle + its SIMD wasm and glue)',
};

// ---- cold start, written by the browser suite ----------------------------

const coldFile = path.join(ROOT, 'build/coldstart.json');
try { res.coldstart = existsSync(coldFile) ? JSON.parse(readFileSync(coldFile, 'utf8')) : { error: 'run make test first' }; }
catch (e) { res.coldstart = { error: `build/coldstart.json: ${e.message}` }; }

// ---- the table -------------------------------------------------------------

const ok = (x) => x && !x.error;
const fmt = (v, unit) => v == null || !Number.isFinite(v) ? '-'
  : unit === 'us' ? `${v.toFixed(1)} µs` : unit === 's' ? `${v.toFixed(2)} s`
    : unit === 'img/s' ? `${Math.round(v).toLocaleString('en')} img/s` : unit === 'KB' ? `${(v / 1024).toFixed(1)} KB`
      : unit === 'ms' ? `${v.toFixed(0)} ms` : String(v);
const spread = (s, unit) => s.min != null ? ` [${fmt(s.min, unit).split(' ')[0]}–${fmt(s.max, unit)}]` : '';
const nat = ok(res.native) ? Object.fromEntries(res.native.rows.map((r) => [r.id, r])) : {};
const macs = ok(res.native) ? res.native.macs : null;
const peak1 = ok(res.native) ? res.native.peak.one_core.max : null;
const wpeak = ok(res.wasm) && res.wasm.peak ? res.wasm.peak.best : peak1;
const rows = [];

/** ours/peer: {v, unit, min, max}; better: 'lower' or 'higher'; ratio = how many times ours is better */
function row(job, ours, peerName, peer, { better = 'lower', floorMacs, floorRate, inkMacs, goal, pass } = {}) {
  const r = { job, ours: ours?.v ?? null, unit: ours?.unit, ours_min: ours?.min, ours_max: ours?.max };
  r.ours_text = ours?.error ?? (ours ? fmt(ours.v, ours.unit) + (ours.min != null ? spread(ours, ours.unit) : '') : '-');
  if (floorMacs && floorRate && ours && !ours.error) {
    const floor = floorMacs / floorRate * (ours.unit === 'us' ? 1e6 : 1);
    r.floor = floor;
    r.x_floor = ours.unit === 'img/s' ? (floorRate / floorMacs) / ours.v : ours.v / floor;
    if (inkMacs) r.x_floor_ink = r.x_floor * floorMacs / inkMacs;
  }
  r.peer = peerName;
  r.peer_value = peer?.v ?? null;
  r.peer_text = peerName ? (peer?.error ?? (peer ? fmt(peer.v, peer.unit) + spread(peer, peer.unit) : '-')) : '';
  if (ours && peer && !ours.error && !peer.error && ours.v > 0 && peer.v > 0)
    r.ratio = better === 'lower' ? peer.v / ours.v : ours.v / peer.v;
  r.goal = goal ?? '';
  r.pass = pass === undefined ? null : pass(r);
  rows.push(r);
}
const S = (s, unit = s?.unit) => s && !s.error ? { v: s.median, unit, min: s.min, max: s.max } : s ?? null;
const E = (x) => (ok(x) ? null : { error: x?.error ?? 'missing' });
const rate = (s, n) => ({ v: n / s.median, unit: 'img/s', min: n / s.max, max: n / s.min });

// native C
const tNat = (id) => E(res.native) ?? S(nat[id]);
// the multiply-adds the first 100 test digits need, the conv counting non-zero pixels only
const ink = (id) => nat[id]?.macs_ink;
row('native: forward, 1 image', tNat('native.forward'), 'PyTorch forward, 1 image',
  E(res.torch) ?? S(res.torch.forward), { floorMacs: macs?.forward, floorRate: peak1, inkMacs: ink('native.forward') });
row('native: forward + Grad-CAM 10 classes, 1 image', tNat('native.gradcam10'), '', null,
  { floorMacs: macs && macs.forward + 10 * macs.gradcam_class, floorRate: peak1, inkMacs: ink('native.gradcam10') });
const natCls = nat['native.classify_test'], natTr = nat['native.train_epoch'];
row(`native: classify 10,000 test images (${res.native.threads ?? 2} threads)`,
  E(res.native) ?? rate(natCls, natCls.items), 'PyTorch, batch 100',
  E(res.torch) ?? rate(res.torch.classify_test, res.torch.classify_test.images),
  { better: 'higher', floorMacs: natCls?.macs / natCls?.items, inkMacs: natCls?.macs_ink / natCls?.items,
    floorRate: ok(res.native) ? res.native.peak.all_threads.max : null });
row('native: training throughput, 60k epoch, augmented', E(res.native) ?? rate(natTr, 60000),
  'PyTorch 2 thr, no aug', E(res.torch) ?? rate(res.torch.train_epoch, 60000), { better: 'higher' });
row('native: training, seconds per 60k epoch (2 threads)', tNat('native.train_epoch'),
  'PyTorch 2 thr, Adam, no aug', E(res.torch) ?? S(res.torch.train_epoch),
  { floorMacs: macs && macs.train_image * 60000, floorRate: ok(res.native) ? res.native.peak.all_threads.max : null,
    goal: '>= 3x faster than PyTorch', pass: (r) => r.ratio == null ? null : r.ratio >= 3 });

// WASM under Node
const W = (b, k) => E(res.wasm) ?? S(res.wasm.builds[b][k]);
const tf = (k) => E(res.tfjs) ?? S(res.tfjs[k]);
const fwd = { floorMacs: macs?.forward, floorRate: wpeak, inkMacs: ink('native.forward') };
const cam10 = { floorMacs: macs && macs.forward + 10 * macs.gradcam_class, floorRate: wpeak,
  inkMacs: ink('native.gradcam10') };
row('wasm SIMD: forward, 1 image (JS API)', W('simd', 'api_forward'), 'tfjs-wasm forward', tf('forward'), fwd);
row('wasm SIMD: forward, 1 image (JS API)', W('simd', 'api_forward'), 'onnxruntime-web forward',
  E(res.onnx) ?? S(res.onnx.forward), fwd);
row('wasm SIMD: forward + Grad-CAM 10 classes (JS API, explain into the last result)',
  W('simd', 'api_gradcam10_into'), '', null,
  { ...cam10, goal: '<= 30 µs median', pass: (r) => r.ours == null ? null : r.ours <= 30 });
row('wasm SIMD: forward + Grad-CAM 10 classes (JS API, explain into the last result)',
  W('simd', 'api_gradcam10_into'), 'tfjs-wasm fwd + Grad-CAM 1 class', tf('gradcam1'),
  { ...cam10, goal: '>= 15x less time than tfjs', pass: (r) => r.ratio == null ? null : r.ratio >= 15 });
row('wasm SIMD: forward + Grad-CAM 10 classes (JS API, new result arrays)', W('simd', 'api_gradcam10'), '', null, cam10);
row('wasm SIMD: forward, exports only', W('simd', 'raw_forward'), '', null, fwd);
row('wasm SIMD: forward + Grad-CAM 10, exports only', W('simd', 'raw_gradcam10'), '', null, cam10);
row('wasm no-SIMD: forward, 1 image (JS API)', W('nosimd', 'api_forward'), '', null);
row('wasm no-SIMD: forward + Grad-CAM 10 classes (JS API)', W('nosimd', 'api_gradcam10'), '', null);

// sizes, cold start
const sz = (s) => s.error ? { error: s.error } : { v: s.gzip, unit: 'KB' };
row('widget download, gzip -9 (JS + wasm + weights)', sz(res.sizes.ours), 'tfjs-wasm runtime, gzip -9', sz(res.sizes.tfjs),
  { goal: '<= 32 KB gzipped', pass: (r) => r.ours == null ? null : r.ours <= 32 * 1024 });
row('widget download, gzip -9 (JS + wasm + weights)', sz(res.sizes.ours), 'onnxruntime-web runtime, gzip -9', sz(res.sizes.onnx));
row('widget download, raw', res.sizes.ours.error ? sz(res.sizes.ours) : { v: res.sizes.ours.raw, unit: 'KB' },
  'tfjs-wasm runtime, raw', res.sizes.tfjs.error ? sz(res.sizes.tfjs) : { v: res.sizes.tfjs.raw, unit: 'KB' });
row('widget download, gzip -9: JS + wasm (no weights)', sz(res.sizes.ours_code), '', null);
row('other CAM methods, on demand: digitlens-full.wasm, gzip -9', sz(res.sizes.on_demand), '', null);
row('cold start: navigation to first heatmap (Chromium)',
  res.coldstart.error ? { error: res.coldstart.error }
    : { v: res.coldstart.ms, unit: 'ms', min: res.coldstart.min, max: res.coldstart.max },
  res.coldstart.floor_ms ? 'empty page (HTML + 1 script), first frame' : '',
  res.coldstart.floor_ms ? { v: res.coldstart.floor_ms, unit: 'ms', min: res.coldstart.floor_min, max: res.coldstart.floor_max } : null,
  { goal: '<= 150 ms', pass: (r) => r.ours == null ? null : r.ours <= 150 });
// its floor is the browser's own: the empty page, not a multiply-add count
if (res.coldstart.floor_ms) Object.assign(rows.at(-1), { x_floor: res.coldstart.ms / res.coldstart.floor_ms, ratio: undefined });

// ---- print and write --------------------------------------------------------

const cpu = os.cpus()[0]?.model ?? 'unknown';
const head = ['job', 'ours median [min–max]', 'x floor', 'x ink floor', 'peer', 'peer median [min–max]', 'ratio', 'goal', 'result'];
const cells = rows.map((r) => [r.job, r.ours_text, r.x_floor ? r.x_floor.toFixed(1) + 'x' : '',
  r.x_floor_ink ? r.x_floor_ink.toFixed(1) + 'x' : '', r.peer || '',
  r.peer_text, r.ratio ? r.ratio.toFixed(1) + 'x' : '', r.goal, r.pass == null ? (r.goal ? 'n/a' : '') : r.pass ? 'PASS' : 'FAIL']);
const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => c.map((s, i) => s.padEnd(width[i])).join(' | ').trimEnd();
console.log(`digitlens bench — ${cpu}, ${os.cpus().length} cores, Node ${process.version}` +
  (ok(res.tfjs) ? `, tfjs ${res.tfjs.tfjs}` : '') + (ok(res.onnx) ? `, onnxruntime-web ${res.onnx.ort}` : '') +
  (ok(res.torch) ? `, torch ${res.torch.torch}` : ''));
if (ok(res.native))
  console.log(`peak v4_madd loop: native ${(peak1 / 1e9).toFixed(1)} GMAC/s one core, ${(res.native.peak.all_threads.max / 1e9).toFixed(1)} GMAC/s ${res.native.threads} threads` +
    (ok(res.wasm) && res.wasm.peak ? `; wasm SIMD ${(res.wasm.peak.best / 1e9).toFixed(1)} GMAC/s one core` : '') +
    '. x floor = time / (multiply-accumulates / peak rate); x ink floor counts only the conv taps of ' +
    'non-zero pixels (the conv skips zero ones), so x floor can be below 1.');
console.log('ratio = how many times ours is better than the peer, from this run.\n');
console.log(line(head));
console.log(width.map((w) => '-'.repeat(w)).join('-|-'));
for (const c of cells) console.log(line(c));
const notes = [];
if (ok(res.tfjs)) notes.push(`tfjs check: logits max rel diff ${res.tfjs.check.logits_max_rel_diff.toExponential(1)}; ` +
  `Grad-CAM maps max rel diff ${res.tfjs.check.map_max_rel_diff.toExponential(1)} on the wasm backend ` +
  `(${res.tfjs.check.maps_differing}/${res.tfjs.check.images} maps differ), ` +
  `${res.tfjs.check_cpu.map_max_rel_diff.toExponential(1)} on tfjs's cpu backend. ${res.tfjs.check.note}.`);
if (ok(res.onnx)) notes.push(`onnxruntime-web check: logits max rel diff ${res.onnx.check.logits_max_rel_diff.toExponential(1)}.`);
if (ok(res.wasm)) notes.push(`SIMD and non-SIMD wasm maps: max abs diff ${res.wasm.simd_vs_nosimd_max_abs_map_diff}.`);
if (ok(res.torch)) notes.push(`PyTorch trains without augmentation (ours augments every image); ` +
  `${res.torch.train_epoch.scaled ? `${res.torch.train_epoch.batches_timed} batches timed, scaled to an epoch` : 'whole epochs timed'}.`);
if (ok(res.sizes.ours)) notes.push('Widget files, gzip -9 (raw): ' + res.sizes.ours.files.map((f) =>
  `${path.basename(f.file)} ${(f.gzip / 1024).toFixed(1)} KB (${(f.raw / 1024).toFixed(1)} KB)`).join(', ') + '.');
if (ok(res.coldstart) && res.coldstart.files_ms != null) notes.push(`Cold start, medians of ${res.coldstart.runs} fresh ` +
  `contexts: the HTML at ${res.coldstart.html_ms} ms, the files at ${res.coldstart.files_ms} ms, the page's first paint ` +
  `at ${res.coldstart.first_paint_ms} ms, the element ready at ${res.coldstart.ready_ms} ms, the first heatmap ` +
  `${res.coldstart.explain_ms} ms later (drawing, preprocessing, Grad-CAM, painting); ${res.coldstart.browser}. ` +
  (res.coldstart.floor_ms ? `Its floor, in the same runs: a page of one line of HTML and one one-line script ` +
    `paints its first frame at ${res.coldstart.floor_ms} ms (the browser's own work for a page that needs ` +
    'the HTML and one request): the row\'s x floor is against that page. ' : '') +
  (res.coldstart.settle_ms != null ? `Each run opens a fresh context and navigates once its new window has ` +
    `settled (Chromium idle; median wait ${res.coldstart.settle_ms} ms), with no DevTools domain but Page enabled.` : ''));
const cpuText = (c) => `${c.all} ms of CPU in ${c.wall_ms} ms (${(c.all / c.wall_ms).toFixed(1)} cores busy; Chromium's ` +
  `renderer main thread ${c.renderer_main}, its other threads ${c.renderer_other}, browser process ${c.browser}, ` +
  `GPU ${c.gpu}, utilities ${c.utility})`;
if (ok(res.coldstart) && res.coldstart.cpu_ms && res.coldstart.floor_cpu_ms) notes.push('Cold start CPU, medians, ' +
  `navigation to painted frame, all processes on both cores: our page ${cpuText(res.coldstart.cpu_ms)}; the empty ` +
  `page ${cpuText(res.coldstart.floor_cpu_ms)}.`);
notes.push('Peers and our wasm run on one thread (a page has one); the native throughputs use both cores.');
notes.push('wasm goals are judged on the JS API (pixels in; logits, probs and the ten maps copied out) with ' +
  'explain(x, { into: last }), which refills the previous result\'s arrays: what a page that explains every ' +
  'stroke pays. "New result arrays" adds V8 allocating 23 KB of fresh typed arrays per call; the exports-only ' +
  'rows are the compute alone.');
notes.push('x floor: native one-image rows against the one-core native peak, throughputs against the ' +
  `${res.native.threads ?? 2}-thread peak, wasm rows against the ` +
  (ok(res.wasm) && res.wasm.peak ? 'wasm SIMD peak (build/bench/peak.wasm, same loop)' : 'native one-core peak (build/bench/peak.wasm missing)') +
  '. MACs: forward ' + (macs ? `${macs.forward}, Grad-CAM +${macs.gradcam_class}/class, training ${macs.train_image}/image` : '-') + '.');
if (ok(res.native) && res.native.peak.all_threads.max < 1.5 * peak1)
  notes.push(`The ${res.native.threads}-thread peak is under 1.5x the one-core peak: another process held a core, ` +
    'so the throughput floors (and their "x floor") are too generous in this run.');
const busy = Math.max(load0[0], load1[0]) > 0.7;
if (busy) notes.push(`WARNING: the machine was busy (load average ${load0[0].toFixed(2)} before, ${load1[0].toFixed(2)} after): ` +
  'figures are slower and noisier than on an idle machine.');
console.log('\n' + notes.map((n) => '* ' + n).join('\n'));

const out = {
  date: new Date().toISOString(),
  machine: { cpu, cores: os.cpus().length, mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
    loadavg_before: load0, loadavg_after: load1 },
  versions: { node: process.version, tfjs: res.tfjs?.tfjs, onnxruntime_web: res.onnx?.ort, torch: res.torch?.torch },
  command: 'make bench', weights: path.relative(ROOT, weights), quick: args.quick,
  rows, notes, parts: res,
};
mkdirSync(path.dirname(path.resolve(ROOT, args.out)), { recursive: true });
writeFileSync(path.resolve(ROOT, args.out), JSON.stringify(out, null, 1) + '\n');
console.log(`\nwrote ${args.out}`);
