// run.mjs — `make bench`: every part of the benchmark in its own process,
// one after the other (so no part disturbs another's timings), for each
// network given, then one table and build/bench.json. Ratios are computed
// pair by pair from figures of this same run, each peer running the same
// network with the same weights. A peer that is not installed, or a
// network whose weights file is missing, gets a row that says so.
//
//   node tools/bench/run.mjs [--weights F[,F...]] [--compare F[,F...]] [--data DIR]
//                            [--quick] [--out build/bench.json]
//
// --weights and --compare name the weights files to benchmark, in that
// order (default: weights/twoconv.safetensors, compared with
// weights/seednet.safetensors; --compare= for one file alone). Each file's
// "architecture" metadata says its network (none: the seed network).
//
// Parts, per network: build/digitlens bench --json (native C, and which
// code path each conv layer runs), wasm.mjs (our WASM under Node, SIMD and
// not), tfjs.mjs (TensorFlow.js + wasm backend), export_onnx.py then
// onnx.mjs (onnxruntime-web, wasm EP), torch_bench.py (PyTorch CPU). Then,
// once: download sizes (raw, gzip -9) of what web/index.html names and of
// each network's weights, and the cold start the browser suite wrote to
// build/coldstart.json. Last, teaching (teach.mjs, its own table): the
// page's default weights taught a new writer, MNIST before and after, the
// time of a call, the frames the browser suite counted.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { ROOT, parseArgs, readMetadata, storageOf, architectureOf } from './common.mjs';
import { table as teachTable } from './teach.mjs';

const args = parseArgs({ weights: 'weights/twoconv.safetensors', compare: 'weights/seednet.safetensors',
  data: 'data/mnist', quick: false, out: 'build/bench.json' });
const BENCH = path.join(ROOT, 'tools', 'bench');
const PY = process.env.BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const R = (quick, full) => String(args.quick ? quick : full);
const files = [...args.weights.split(','), ...args.compare.split(',')].map((f) => f.trim()).filter(Boolean);
if (!files.length) {
  console.error('bench: no weights file given (--weights FILE, or make bench WEIGHTS=FILE)');
  process.exit(2);
}

// The goals of the built-in networks (the native part names the network
// from its architecture): WASM SIMD forward + Grad-CAM of ten classes
// through the JS API, and the page's download with that network's weights.
const GOALS = { twoconv: { wasm_us: 45 }, seednet: { wasm_us: 30 } };
const WIDGET_KB = 32, WIDGET_ACCOUNTED_KB = 36;
const TFJS_RATIO = 15, TRAIN_RATIO = 3;

// ---- run the parts ------------------------------------------------------

/** Run one part; its last stdout line that parses as a JSON object is its result. */
function part(name, cmd, argv, { timeout = 1800 } = {}) {
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
const base = (f) => path.basename(f).replace(/\.safetensors$/, '');

/** Every part for one weights file: {file, label, arch, native, wasm, tfjs, onnx, torch}. */
function benchNetwork(file) {
  const weights = path.resolve(ROOT, file);
  const net = { file: path.relative(ROOT, weights), label: base(file) };
  if (!existsSync(weights)) {
    net.error = `${net.file}: no such file (train it first, or make bench WEIGHTS=FILE)`;
    process.stderr.write(`bench: ${net.error}\n`);
    return net;
  }
  try { net.arch = architectureOf(readMetadata(weights)); } catch (e) { net.arch = null; net.arch_error = e.message; }
  const tag = (name) => `${net.label}: ${name}`;
  net.native = part(tag('native C'), path.join(ROOT, 'build/digitlens'),
    ['bench', '--json', '--weights', weights, '--data', args.data, ...(args.quick ? ['--quick'] : [])]);
  if (net.native.network) net.network = net.native.network;
  net.wasm = part(tag('wasm (Node)'), process.execPath, [path.join(BENCH, 'wasm.mjs'), '--weights', weights,
    '--data', args.data, '--reps', R(500, 5000)]);
  net.tfjs = installed('@tensorflow/tfjs') && installed('@tensorflow/tfjs-backend-wasm')
    ? part(tag('tfjs-wasm'), process.execPath, [path.join(BENCH, 'tfjs.mjs'), '--weights', weights,
      '--data', args.data, '--reps', R(300, 2000)])
    : { error: NOT_INSTALLED };
  const onnxModel = path.join(ROOT, 'build/bench', `${net.label}.onnx`);
  if (!installed('onnxruntime-web')) net.onnx = { error: NOT_INSTALLED };
  else if (!hasTorch) net.onnx = { error: 'not run: the ONNX export needs PyTorch, ' + NOT_INSTALLED };
  else {
    mkdirSync(path.dirname(onnxModel), { recursive: true });
    const ex = spawnSync(PY, [path.join(BENCH, 'export_onnx.py'), '--weights', weights, '--out', onnxModel],
      { cwd: ROOT, encoding: 'utf8' });
    net.onnx = ex.status !== 0
      ? { error: 'ONNX export failed: ' + (ex.stderr || '').trim().split('\n').pop() }
      : part(tag('onnxruntime-web'), process.execPath, [path.join(BENCH, 'onnx.mjs'), '--model', onnxModel,
        '--weights', weights, '--data', args.data, '--reps', R(300, 2000)]);
  }
  net.torch = hasTorch
    ? part(tag('PyTorch'), PY, [path.join(BENCH, 'torch_bench.py'), '--weights', weights, '--data', args.data,
      ...(args.quick ? ['--epochs', '1', '--batches', '94', '--reps', '300', '--classify-reps', '3']
        : ['--epochs', '2'])])
    : { error: NOT_INSTALLED };
  return net;
}

const load0 = os.loadavg();
const nets = files.map(benchNetwork);
const load1 = os.loadavg();

// ---- sizes: what a browser downloads, raw and gzip -9 --------------------

function sizeOf(list) {
  let raw = 0, gz = 0;
  const out = [];
  for (const f of list) {
    if (!existsSync(f)) return { error: `missing ${path.relative(ROOT, f)}` };
    const b = readFileSync(f), g = gzipSync(b, { level: 9 }).length;
    raw += b.length; gz += g;
    out.push({ file: path.relative(ROOT, f), raw: b.length, gzip: g });
  }
  return { raw, gzip: gz, files: out };
}
const sum = (...s) => s.find((x) => x.error) ?? { raw: s.reduce((a, x) => a + x.raw, 0),
  gzip: s.reduce((a, x) => a + x.gzip, 0), files: s.flatMap((x) => x.files) };
// The widget's files are what the page's head names: the module script and
// the preloads (the wasm the element starts with, the default weights); the
// browser suite checks that the page fetches exactly these (and its own
// style sheet and icon), each once. A browser with WebAssembly SIMD
// downloads these and nothing else until another CAM method is chosen
// (digitlens-full.wasm) or another network (its weights).
function widgetFiles() {
  const page = readFileSync(path.join(ROOT, 'web/index.html'), 'utf8');
  const html = page.slice(0, page.indexOf('</head>')); // (page.js, in the body, is the page's, not the widget's)
  const script = [...html.matchAll(/<script type="module" src="([^"]+)"/g)].map((m) => m[1]);
  const preload = [...html.matchAll(/<link rel="preload" href="([^"]+)"/g)].map((m) => m[1]);
  return [...script, ...preload].map((f) => path.join(ROOT, 'web', f));
}
const nm = (p) => path.join(BENCH, 'node_modules', p);
const head = widgetFiles();
const isWeights = (f) => f.endsWith('.safetensors');
const ours = sizeOf(head);
const code = sizeOf(head.filter((f) => !isWeights(f)));
// Each network's weights as the page would fetch them: the file in web/
// whose metadata describes the same network (the quantized one the page
// ships); none there yet, the file benchmarked (F32).
const archKey = (f) => { try { return JSON.stringify(architectureOf(readMetadata(f))); } catch { return null; } };
const webWeights = readdirSync(path.join(ROOT, 'web')).filter(isWeights).map((f) => path.join(ROOT, 'web', f));
const networkWeights = nets.filter((n) => !n.error).map((n) => {
  const key = archKey(path.resolve(ROOT, n.file));
  const inWeb = webWeights.filter((f) => archKey(f) === key);
  const file = inWeb.find((f) => head.includes(f)) ?? inWeb[0];
  return { label: n.label, network: n.network, file: file ? path.relative(ROOT, file) : n.file, in_web: !!file,
    default: !!file && head.includes(file), dtype: storageOf(file ?? path.resolve(ROOT, n.file)),
    size: sizeOf([file ?? path.resolve(ROOT, n.file)]) };
});
const headWeights = head.filter(isWeights).map((f) => path.relative(ROOT, f));
const defaultNet = networkWeights.find((w) => w.default)?.label
  ?? (headWeights.length ? base(headWeights[0]) : '');
const sizes = {
  ours,
  ours_code: code,
  default_weights: headWeights,
  default_network: defaultNet,
  network_weights: networkWeights,
  // the page's download were another network's weights the default
  with_default: Object.fromEntries(networkWeights.filter((w) => !w.default)
    .map((w) => [w.label, code.error ? code : sum(code, w.size)])),
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
    '(digitlens-full.wasm only when another method is chosen, the other network\'s weights only when it is ' +
    'shown, samples.bin only when a sample is asked for); peers: runtime only, before any model (tfjs: ' +
    'tfjs-core + backend-wasm bundles + the SIMD wasm; onnxruntime-web: the wasm-only bundle + its SIMD wasm ' +
    'and glue)',
};

// ---- cold start, written by the browser suite ----------------------------

const coldFile = path.join(ROOT, 'build/coldstart.json');
let coldstart;
try { coldstart = existsSync(coldFile) ? JSON.parse(readFileSync(coldFile, 'utf8')) : { error: 'run make test first' }; }
catch (e) { coldstart = { error: `build/coldstart.json: ${e.message}` }; }

// ---- the table -------------------------------------------------------------

const ok = (x) => x && !x.error;
const fmt = (v, unit) => v == null || !Number.isFinite(v) ? '-'
  : unit === 'us' ? `${v.toFixed(1)} µs` : unit === 's' ? `${v.toFixed(2)} s`
    : unit === 'img/s' ? `${Math.round(v).toLocaleString('en')} img/s` : unit === 'KB' ? `${(v / 1024).toFixed(1)} KB`
      : unit === 'ms' ? `${v.toFixed(0)} ms` : String(v);
const spread = (s, unit) => s.min != null ? ` [${fmt(s.min, unit).split(' ')[0]}–${fmt(s.max, unit)}]` : '';
const rows = [];
let group = ''; // rows of one group are printed together, a rule between groups

/** ours/peer: {v, unit, min, max} or {error}; better: 'lower' or 'higher'; ratio = how many times ours is
 * better; pass(r): true, false, or a string for the result column */
function row(network, job, ours, peerName, peer,
  { better = 'lower', floorMacs, floorRate, inkMacs, goal, pass } = {}) {
  const r = { network, group, job, ours: ours?.v ?? null, unit: ours?.unit, ours_min: ours?.min, ours_max: ours?.max };
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
  return r;
}
const S = (s, unit = s?.unit) => s && !s.error ? { v: s.median, unit, min: s.min, max: s.max } : s ?? null;
const E = (x) => (ok(x) ? null : { error: x?.error ?? 'missing' });
const rate = (s, n) => ({ v: n / s.median, unit: 'img/s', min: n / s.max, max: n / s.min });
const atMost = (lim) => (r) => r.ours == null ? null : r.ours <= lim;
const ratioAtLeast = (lim) => (r) => r.ratio == null ? null : r.ratio >= lim;

function networkRows(n) {
  const L = (group = n.label);
  if (n.error) { row(L, 'weights', { error: n.error }, '', null); return; }
  const nat = ok(n.native) ? Object.fromEntries(n.native.rows.map((r) => [r.id, r])) : {};
  const macs = ok(n.native) ? n.native.macs : null;
  const peak1 = ok(n.native) ? n.native.peak.one_core.max : null;
  const peak2 = ok(n.native) ? n.native.peak.all_threads.max : null;
  const wpeak = ok(n.wasm) && n.wasm.peak ? n.wasm.peak.best : peak1;
  const threads = ok(n.native) ? n.native.threads : 2;
  const goal = GOALS[n.network] ?? {};

  // native C
  const tNat = (id) => E(n.native) ?? S(nat[id]);
  // the multiply-adds the first 100 test digits need, each conv counting only taps of non-zero inputs
  const ink = (id) => nat[id]?.macs_ink;
  const gc10 = macs && macs.forward + 10 * macs.gradcam_class;
  row(L, 'native: forward, 1 image', tNat('native.forward'), 'PyTorch forward, 1 image',
    E(n.torch) ?? S(n.torch.forward), { floorMacs: macs?.forward, floorRate: peak1, inkMacs: ink('native.forward') });
  row(L, 'native: forward + Grad-CAM 10 classes, 1 image', tNat('native.gradcam10'), '', null,
    { floorMacs: gc10, floorRate: peak1, inkMacs: ink('native.gradcam10') });
  const cls = nat['native.classify_test'], tr = nat['native.train_epoch'];
  row(L, `native: classify 10,000 test images (${threads} threads)`,
    E(n.native) ?? rate(cls, cls.items), 'PyTorch, batch 100',
    E(n.torch) ?? rate(n.torch.classify_test, n.torch.classify_test.images),
    { better: 'higher', floorMacs: cls?.macs / cls?.items, inkMacs: cls?.macs_ink / cls?.items, floorRate: peak2 });
  row(L, 'native: training throughput, 60k epoch, augmented', E(n.native) ?? rate(tr, 60000),
    'PyTorch 2 thr, no aug', E(n.torch) ?? rate(n.torch.train_epoch, 60000), { better: 'higher' });
  row(L, `native: training, seconds per 60k epoch (${threads} threads)`, tNat('native.train_epoch'),
    'PyTorch 2 thr, Adam, batch 64, no aug', E(n.torch) ?? S(n.torch.train_epoch),
    { floorMacs: macs && macs.train_image * 60000, floorRate: peak2,
      goal: `>= ${TRAIN_RATIO}x faster than PyTorch`, pass: ratioAtLeast(TRAIN_RATIO) });

  // WASM under Node
  const W = (b, k) => E(n.wasm) ?? S(n.wasm.builds[b][k]);
  const tf = (k) => E(n.tfjs) ?? S(n.tfjs[k]);
  const fwd = { floorMacs: macs?.forward, floorRate: wpeak, inkMacs: ink('native.forward') };
  const cam10 = { floorMacs: gc10, floorRate: wpeak, inkMacs: ink('native.gradcam10') };
  const INTO = 'wasm SIMD: forward + Grad-CAM 10 classes (JS API, explain into the last result)';
  row(L, 'wasm SIMD: forward, 1 image (JS API)', W('simd', 'api_forward'), 'tfjs-wasm forward', tf('forward'), fwd);
  row(L, 'wasm SIMD: forward, 1 image (JS API)', W('simd', 'api_forward'), 'onnxruntime-web forward',
    E(n.onnx) ?? S(n.onnx.forward), fwd);
  row(L, INTO, W('simd', 'api_gradcam10_into'), '', null, goal.wasm_us
    ? { ...cam10, goal: `<= ${goal.wasm_us} µs median`, pass: atMost(goal.wasm_us) } : cam10);
  row(L, INTO, W('simd', 'api_gradcam10_into'), 'tfjs-wasm fwd + Grad-CAM 1 class', tf('gradcam1'),
    { ...cam10, goal: `>= ${TFJS_RATIO}x less time than tfjs`, pass: ratioAtLeast(TFJS_RATIO) });
  row(L, 'wasm SIMD: forward + Grad-CAM 10 classes (JS API, new result arrays)', W('simd', 'api_gradcam10'), '',
    null, cam10);
  row(L, 'wasm SIMD: forward, exports only', W('simd', 'raw_forward'), '', null, fwd);
  row(L, 'wasm SIMD: forward + Grad-CAM 10, exports only', W('simd', 'raw_gradcam10'), '', null, cam10);
  row(L, 'wasm no-SIMD: forward, 1 image (JS API)', W('nosimd', 'api_forward'), '', null);
  row(L, 'wasm no-SIMD: forward + Grad-CAM 10 classes (JS API, explain into the last result)',
    W('nosimd', 'api_gradcam10_into'), '', null);
}
nets.forEach(networkRows);

// sizes, cold start: the page's, whichever network it loads
const KB = (s) => s.error ? { error: s.error } : { v: s.gzip, unit: 'KB' };
const widgetPass = (r) => r.ours == null ? null : r.ours <= WIDGET_KB * 1024 ? true
  : r.ours <= WIDGET_ACCOUNTED_KB * 1024 ? `over ${WIDGET_KB}, <= ${WIDGET_ACCOUNTED_KB} KB` : false;
const widgetGoal = `<= ${WIDGET_KB} KB gzipped (${WIDGET_ACCOUNTED_KB} if every byte is accounted for)`;
const P = 'page';
group = P;
row(P, `widget download, gzip -9 (JS + wasm + ${headWeights.map((f) => path.basename(f)).join(', ') || 'no weights'})`,
  KB(ours), 'tfjs-wasm runtime, gzip -9', KB(sizes.tfjs), { goal: widgetGoal, pass: widgetPass });
row(P, 'widget download, gzip -9', KB(ours), 'onnxruntime-web runtime, gzip -9', KB(sizes.onnx));
row(P, 'widget download, raw', ours.error ? KB(ours) : { v: ours.raw, unit: 'KB' },
  'tfjs-wasm runtime, raw', sizes.tfjs.error ? KB(sizes.tfjs) : { v: sizes.tfjs.raw, unit: 'KB' });
row(P, 'widget download, gzip -9: JS + wasm (no weights)', KB(code), '', null);
for (const w of networkWeights) {
  const what = !w.in_web ? `not in web/ yet; the benchmarked ${w.file} (${w.dtype})`
    : `${w.file} (${w.dtype})${w.default ? ': the page\'s default' : ', on demand'}`;
  const r = row(w.label, `weights, gzip -9: ${what}`, KB(w.size), '', null);
  if (!w.size.error) r.ours_text += ` (${fmt(w.size.raw, 'KB')} raw)`;
}
for (const [label, s] of Object.entries(sizes.with_default)) {
  const w = networkWeights.find((x) => x.label === label);
  // the goal only for the file the page would ship (in web/), not for weights still in F32
  row(label, `widget download, gzip -9, were ${w.file} (${w.dtype}) the default`, KB(s),
    '', null, w.in_web ? { goal: widgetGoal, pass: widgetPass } : {});
}
row(P, 'other CAM methods, on demand: digitlens-full.wasm, gzip -9', KB(sizes.on_demand), '', null);
const cold = row(defaultNet || P, 'cold start: navigation to first heatmap (Chromium)',
  coldstart.error ? { error: coldstart.error } : { v: coldstart.ms, unit: 'ms', min: coldstart.min, max: coldstart.max },
  coldstart.floor_ms ? 'empty page (HTML + 1 script), first frame' : '',
  coldstart.floor_ms ? { v: coldstart.floor_ms, unit: 'ms', min: coldstart.floor_min, max: coldstart.floor_max } : null,
  { goal: '<= 150 ms', pass: atMost(150) });
// its floor is the browser's own: the empty page, not a multiply-add count
if (coldstart.floor_ms) Object.assign(cold, { x_floor: coldstart.ms / coldstart.floor_ms, ratio: undefined });

// ---- print and write --------------------------------------------------------

const cpu = os.cpus()[0]?.model ?? 'unknown';
const first = (k) => nets.map((n) => n[k]).find(ok);
const headCols = ['network', 'job', 'ours median [min–max]', 'x floor', 'x ink floor', 'peer', 'peer median [min–max]',
  'ratio', 'goal', 'result'];
const cells = rows.map((r) => [r.network, r.job, r.ours_text, r.x_floor ? r.x_floor.toFixed(1) + 'x' : '',
  r.x_floor_ink ? r.x_floor_ink.toFixed(1) + 'x' : '', r.peer || '',
  r.peer_text, r.ratio ? r.ratio.toFixed(1) + 'x' : '', r.goal,
  r.pass == null ? (r.goal ? 'n/a' : '') : typeof r.pass === 'string' ? r.pass : r.pass ? 'PASS' : 'FAIL']);
const width = headCols.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => c.map((s, i) => s.padEnd(width[i])).join(' | ').trimEnd();
const rule = width.map((w) => '-'.repeat(w)).join('-|-');
console.log(`digitlens bench — ${cpu}, ${os.cpus().length} cores, Node ${process.version}` +
  (first('tfjs') ? `, tfjs ${first('tfjs').tfjs}` : '') + (first('onnx') ? `, onnxruntime-web ${first('onnx').ort}` : '') +
  (first('torch') ? `, torch ${first('torch').torch}` : '') +
  `; load average ${load0[0].toFixed(2)} before, ${load1[0].toFixed(2)} after`);

/** "conv1 16x5x5 -> relu1 -> pool1 2 -> conv2 32x3x3 -> relu2 (A, 10x10) -> ..." from the plan's shapes */
function describe(n) {
  if (!n.arch) return n.arch_error ?? '';
  let c = 1, h = 28, flat = 0;
  return n.arch.layers.map((l, i) => {
    let s = l.name;
    if (l.kind === 'conv') { s += ` ${l.size}x${l.k}x${l.k}`; c = l.size; h = h - l.k + 1; }
    else if (l.kind === 'maxpool') { s += ` ${l.size}`; h = Math.floor(h / l.size); }
    else if (l.kind === 'flatten') flat = c * h * h;
    else if (l.kind === 'dense') { s += ` ${flat}->${l.size}`; flat = l.size; }
    return i === n.arch.cam ? `${s} (A, ${h}x${h})` : s;
  }).join(' -> ');
}
const int = (v) => Math.round(v).toLocaleString('en');
console.log('');
for (const n of nets) {
  if (n.error) { console.log(`${n.label}: ${n.error}`); continue; }
  const nat = ok(n.native) ? n.native : null;
  console.log(`${n.label} (${n.file}${nat ? `, network ${nat.network}` : ''}): ${describe(n)}` +
    (nat ? `; ${int(nat.params)} params; MACs: forward ${int(nat.macs.forward)}, Grad-CAM +${int(nat.macs.gradcam_class)} ` +
      `a class, training ${int(nat.macs.train_image)} an image` : ''));
  if (!nat) continue;
  for (const p of nat.paths.conv) {
    const pad = ' '.repeat(p.layer.length + 2);
    console.log(`  ${p.layer}: ${p.forward_native}; ${int(p.macs_ink_100)} of its ${int(p.macs)} MACs read a ` +
      'non-zero input (first 100 test digits)');
    if (p.forward_wasm !== p.forward_native) console.log(`  ${pad}in WASM: ${p.forward_wasm}`);
    console.log(`  ${pad}backward: weights ${p.backward_weights}; input ${p.backward_input}`);
  }
  console.log(`  Grad-CAM: ${nat.paths.gradcam}`);
  console.log(`  peak v4_madd loop: native (${nat.simd}) ${(nat.peak.one_core.max / 1e9).toFixed(1)} GMAC/s one core, ` +
    `${(nat.peak.all_threads.max / 1e9).toFixed(1)} GMAC/s ${nat.threads} threads` +
    (ok(n.wasm) && n.wasm.peak ? `; wasm SIMD ${(n.wasm.peak.best / 1e9).toFixed(1)} GMAC/s one core` : ''));
}
console.log('\nx floor = time / (multiply-accumulates / peak rate); x ink floor counts only the conv taps that ' +
  'read a non-zero input (the convs skip zero ones), so x floor can be below 1. ' +
  'ratio = how many times ours is better than the peer on the same network, from this run.\n');
console.log(line(headCols));
console.log(rule);
cells.forEach((c, i) => {
  if (i > 0 && rows[i].group !== rows[i - 1].group) console.log(rule);
  console.log(line(c));
});

const notes = [];
const e = (v) => v.toExponential(1);
for (const n of nets) {
  if (n.error) continue;
  const c = [];
  if (ok(n.tfjs)) c.push(`tfjs logits max rel diff ${e(n.tfjs.check.logits_max_rel_diff)}; Grad-CAM maps ` +
    `(${n.tfjs.check.map_cells} cells) max rel diff ${e(n.tfjs.check.map_max_rel_diff)} on the wasm backend ` +
    `(${n.tfjs.check.maps_differing}/${n.tfjs.check.images} maps differ), ${e(n.tfjs.check_cpu.map_max_rel_diff)} ` +
    `on tfjs's cpu backend (${n.tfjs.check_cpu.maps_differing} differ)`);
  if (ok(n.onnx)) c.push(`onnxruntime-web logits max rel diff ${e(n.onnx.check.logits_max_rel_diff)}`);
  if (ok(n.wasm)) c.push(`SIMD and plain wasm on ${n.wasm.simd_vs_nosimd.images} images: logits max abs diff ` +
    `${n.wasm.simd_vs_nosimd.max_abs_logit_diff}, maps ${n.wasm.simd_vs_nosimd.max_abs_map_diff}`);
  if (c.length) notes.push(`${n.label}, checked against ours (first 100 test images): ${c.join('; ')}.`);
}
const tfNote = nets.map((n) => ok(n.tfjs) && n.tfjs.check.maps_differing ? n.tfjs.check.note : null).find(Boolean);
if (tfNote) notes.push(`Where tfjs-wasm's maps differ: ${tfNote}.`);
// the networks against each other, from this run
const [n0, n1] = nets.filter((n) => !n.error && ok(n.native));
if (n0 && n1) {
  const cmp = (k) => n0.native.macs[k] / n1.native.macs[k];
  const tRatio = (a, b) => a && b && !a.error && !b.error ? (a.v / b.v).toFixed(1) + 'x' : '-';
  const job = (n, id) => S(Object.fromEntries(n.native.rows.map((r) => [r.id, r]))[id]);
  const wj = (n) => ok(n.wasm) ? S(n.wasm.builds.simd.api_gradcam10_into) : null;
  notes.push(`${n0.label} against ${n1.label}, this run: forward ${cmp('forward').toFixed(1)}x the MACs, native ` +
    `forward ${tRatio(job(n0, 'native.forward'), job(n1, 'native.forward'))} the time; forward + ten maps ` +
    `${((n0.native.macs.forward + 10 * n0.native.macs.gradcam_class) / (n1.native.macs.forward + 10 * n1.native.macs.gradcam_class)).toFixed(1)}x ` +
    `the MACs, wasm SIMD ${tRatio(wj(n0), wj(n1))} the time; training ${cmp('train_image').toFixed(1)}x the MACs, ` +
    `${tRatio(job(n0, 'native.train_epoch'), job(n1, 'native.train_epoch'))} the time.`);
}
for (const n of nets) if (ok(n.torch)) {
  notes.push(`PyTorch trains without augmentation (ours augments every image); ` +
    `${n.torch.train_epoch.scaled ? `${n.torch.train_epoch.batches_timed} batches timed, scaled to an epoch` : 'whole epochs timed'}.`);
  break;
}
if (ok(ours)) notes.push('Widget files, gzip -9 (raw): ' + ours.files.map((f) =>
  `${path.basename(f.file)} ${(f.gzip / 1024).toFixed(1)} KB (${(f.raw / 1024).toFixed(1)} KB)`).join(', ') +
  `; the page's default network: ${defaultNet || 'none named'}. KB = 1024 bytes, zlib's gzip -9 (no file name).`);
if (ok(coldstart) && coldstart.files_ms != null) notes.push(`Cold start (the page's default weights), medians of ${coldstart.runs} fresh ` +
  `contexts: the HTML at ${coldstart.html_ms} ms, the files at ${coldstart.files_ms} ms, the page's first paint ` +
  `at ${coldstart.first_paint_ms} ms, the element ready at ${coldstart.ready_ms} ms, the first heatmap ` +
  `${coldstart.explain_ms} ms later (drawing, preprocessing, Grad-CAM, painting); ${coldstart.browser}. ` +
  (coldstart.floor_ms ? `Its floor, in the same runs: a page of one line of HTML and one one-line script ` +
    `paints its first frame at ${coldstart.floor_ms} ms (the browser's own work for a page that needs ` +
    'the HTML and one request): the row\'s x floor is against that page. ' : '') +
  (coldstart.settle_ms != null ? `Each run opens a fresh context and navigates once its new window has ` +
    `settled (Chromium idle; median wait ${coldstart.settle_ms} ms), with no DevTools domain but Page enabled.` : ''));
const cpuText = (c) => `${c.all} ms of CPU in ${c.wall_ms} ms (${(c.all / c.wall_ms).toFixed(1)} cores busy; Chromium's ` +
  `renderer main thread ${c.renderer_main}, its other threads ${c.renderer_other}, browser process ${c.browser}, ` +
  `GPU ${c.gpu}, utilities ${c.utility})`;
if (ok(coldstart) && coldstart.cpu_ms && coldstart.floor_cpu_ms) notes.push('Cold start CPU, medians, ' +
  `navigation to painted frame, all processes on both cores: our page ${cpuText(coldstart.cpu_ms)}; the empty ` +
  `page ${cpuText(coldstart.floor_cpu_ms)}.`);
notes.push('Peers and our wasm run on one thread (a page has one); the native throughputs use both cores.');
notes.push('wasm goals are judged on the JS API (pixels in; logits, probs and the ten maps copied out) with ' +
  'explain(x, { into: last }), which refills the previous result\'s arrays: what a page that explains every ' +
  'stroke pays. "New result arrays" adds V8 allocating fresh typed arrays for the ten maps per call; the ' +
  'exports-only rows are the compute alone.');
notes.push('x floor: native one-image rows against the one-core native peak, throughputs against the ' +
  'all-threads peak, wasm rows against the wasm SIMD peak (build/bench/peak.wasm, same loop; the native ' +
  'one-core peak if it is missing), each network against the peaks measured in its own parts. MACs from ' +
  'each network\'s plan; Grad-CAM of a class with the closed form (max-pool, flatten, dense after A: alpha ' +
  'is computed once per weights) is the weighted sum of A\'s channels alone.');
for (const n of nets)
  if (ok(n.native) && n.native.peak.all_threads.max < 1.5 * n.native.peak.one_core.max) {
    notes.push(`The ${n.native.threads}-thread peak was under 1.5x the one-core peak (${nets.filter((x) => ok(x.native) &&
      x.native.peak.all_threads.max < 1.5 * x.native.peak.one_core.max).map((x) => x.label).join(', ')}): another ` +
      'process held a core, so the throughput floors (and their "x floor") are too generous, and the 2-thread ' +
      'rows (ours and PyTorch\'s) slow: threads that spin at every barrier while the other is descheduled.');
    break;
  }
if (Math.max(load0[0], load1[0]) > 0.7)
  notes.push(`WARNING: the machine was busy (load average ${load0[0].toFixed(2)} before, ${load1[0].toFixed(2)} after): ` +
    'figures are slower and noisier than on an idle machine.');
console.log('\n' + notes.map((x) => '* ' + x).join('\n'));

// every byte of the widget's download (tools/bench/sizes.mjs)
const acc = spawnSync(process.execPath, [path.join(BENCH, 'sizes.mjs'), '--json'], { cwd: ROOT, encoding: 'utf8' });
const accLines = (acc.stdout || '').trimEnd().split('\n');
if (acc.status === 0) {
  console.log('\nThe widget\'s bytes, each part charged what it adds to its file\'s gzip -9 size:\n');
  console.log(accLines.slice(0, -1).join('\n'));
  sizes.accounting = JSON.parse(accLines.at(-1));
} else console.log(`\nbyte accounting failed: ${(acc.stderr || '').trim().split('\n').at(-1)}`);

// teaching, on the page's default weights (what a visitor teaches)
const teachWeights = headWeights[0] ?? 'web/twoconv.safetensors';
const teaching = part(`teaching (${teachWeights})`, process.execPath, [path.join(BENCH, 'teach.mjs'),
  '--weights', teachWeights, '--data', args.data, ...(args.quick ? ['--quick'] : [])]);
console.log('\n' + (ok(teaching) ? teachTable(teaching) : `Teaching: ${teaching.error}`));

const out = {
  date: new Date().toISOString(),
  machine: { cpu, cores: os.cpus().length, mem_gb: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
    loadavg_before: load0, loadavg_after: load1 },
  versions: { node: process.version, tfjs: first('tfjs')?.tfjs, onnxruntime_web: first('onnx')?.ort,
    torch: first('torch')?.torch },
  command: 'make bench', weights: files, quick: args.quick,
  networks: nets.map((n) => ({ label: n.label, file: n.file, network: n.network ?? null, error: n.error,
    architecture: n.arch, paths: ok(n.native) ? n.native.paths : undefined })),
  rows, notes,
  parts: Object.fromEntries(nets.map((n) => [n.label, { native: n.native, wasm: n.wasm, tfjs: n.tfjs, onnx: n.onnx,
    torch: n.torch }])),
  sizes, coldstart, teaching,
};
mkdirSync(path.dirname(path.resolve(ROOT, args.out)), { recursive: true });
writeFileSync(path.resolve(ROOT, args.out), JSON.stringify(out, null, 1) + '\n');
console.log(`\nwrote ${args.out}`);
