// teach.mjs — teaching, measured through the JS API under Node (the same
// code and training module a page runs in its Worker): what it gains on a
// new writer, what it costs on MNIST, how long a call takes. `make bench`
// runs it and prints its table; `make teaching` also draws the figure.
//
//   node tools/bench/teach.mjs [--weights web/twoconv.safetensors] [--writer data/drawn/writer-slant]
//        [--plain-writer data/drawn/writer] [--data data/mnist] [--variants 3] [--reps 15]
//        [--all-reps 3] [--svg FILE] [--frames build/teach-frames.json] [--quick] [--table]
//
// The weights: the page's (the two-conv network's d4 file), which a visitor
// teaches. The writer: an IDX set of one hand, image i of class i % 10, so
// its first 10k images are k drawings a class. --writer is the slanted,
// thick-penned writer (tools/drawn/slant.mjs, made by make drawn), which
// the network reads at 75 %; --plain-writer the writer as drawn (100 %,
// nothing to gain), for comparison. Each of the first k drawings a class is
// taught as the element teaches a drawing: the image and --variants small
// random turns and shifts of it (web/digitlens-train.js, variants), with
// fineTune's defaults (the head, 300 replay digits, 30 SGD steps), from the
// same starting weights each time. Accuracy on the writer's images 50..299,
// which no call sees, and on the 10,000 MNIST test images, before and after,
// for k = 1..5; layers 'all' (every layer) at k = 1, 3, 5.
//
// Timing (warm: the module compiled, the replay digits loaded; the first
// call apart): one fineTune call on 50 of the writer's images (+ 300 replay,
// the goal's call) and on 50 drawings as the element sends them (each with
// its variants: 200 + 300), 'head' and 'all'; weights put back between
// calls. Medians of --reps calls (--all-reps for 'all'). Dropped frames
// while the page teaches come from the browser suite (tests/browser/
// teach.test.js writes --frames).
//
// The goals: after 5 drawings a class the writer's accuracy gains at least
// half its distance to 100 %; MNIST loses at most 0.5 points (every k);
// one 'head' call on 50 examples with the default replay <= 250 ms.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, parseArgs, stats, emit } from './common.mjs';

export const GOALS = { writer_gap: 0.5, mnist_drop_points: 0.5, head_50_ms: 250 };
const KS = [1, 2, 3, 4, 5], TABLE_KS = [1, 3, 5], HELD = 50;
export const FILES = ['digitlens-train.wasm', 'digitlens-train-nosimd.wasm', 'digitlens-train.js', 'teach-worker.js',
  'teach.js', 'replay.bin', 'test1k.bin'];

const pc = (x, d = 1) => (x == null ? '-' : `${(100 * x).toFixed(d)} %`);
const verdict = (b) => (b == null ? 'n/a' : b ? 'PASS' : 'FAIL');

/** The goals judged on a result of this script: [{goal, value, pass}]. */
export function judge(r) {
  const w = r.writer, m = r.mnist;
  const out = [];
  if (w && !w.error) {
    const need = w.before.acc + GOALS.writer_gap * (1 - w.before.acc), got = w.head[5].acc;
    out.push({ goal: `writer after 5 a class >= ${pc(need, 2)} (half the gap from ${pc(w.before.acc, 2)})`,
      value: pc(got, 2), pass: got >= need });
  }
  if (m) {
    const worst = Math.max(...TABLE_KS.map((k) => m.before.acc - m.head[k].acc));
    out.push({ goal: `MNIST loses <= ${GOALS.mnist_drop_points} points (worst of 1, 3, 5 a class)`,
      value: `${(100 * worst).toFixed(2)} points`, pass: 100 * worst <= GOALS.mnist_drop_points + 1e-9 });
  }
  if (r.time?.head_50)
    out.push({ goal: `one 'head' call, 50 examples + ${r.options.replay} replay <= ${GOALS.head_50_ms} ms (median)`,
      value: `${r.time.head_50.median.toFixed(1)} ms`, pass: r.time.head_50.median <= GOALS.head_50_ms });
  if (r.frames && !r.frames.error)
    out.push({ goal: 'the page keeps drawing while it teaches (dropped frames, Worker vs drawing alone)',
      value: `${r.frames.worker.dropped} vs ${r.frames.alone.dropped}`, pass: r.frames.worker.dropped <= r.frames.alone.dropped + 3 });
  return out;
}

/** The result as text: a table of accuracies, one of timings, the goals. */
export function table(r) {
  const L = [];
  const row = (cells, w) => cells.map((c, i) => String(c).padEnd(w[i])).join(' | ').trimEnd();
  const print = (head, rows) => {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => String(x[i]).length)));
    L.push(row(head, w), w.map((n) => '-'.repeat(n)).join('-|-'), ...rows.map((x) => row(x, w)));
  };
  L.push(`Teaching (${r.weights}, ${r.network}; fineTune defaults: ${r.options.layers}, ${r.options.steps} ` +
    `${r.options.optimizer.toUpperCase()} steps, lr ${r.options.lr ?? 'default'}, ${r.options.replay} replay; each drawing ` +
    `with ${r.variants} variants; accuracy on the writer's ${r.held_out} untaught images and 10,000 MNIST test images)`);
  L.push('');
  const acc = [];
  const set = (name, s) => {
    if (!s || s.error) { acc.push([name, s?.error ?? 'missing', '', '', '', '']); return; }
    acc.push([name, pc(s.before.acc), ...TABLE_KS.map((k) => pc(s.head[k].acc)), s.all?.[1] ? TABLE_KS.map((k) => pc(s.all[k].acc)).join(' / ') : '']);
  };
  set('writer, slanted (the new writer)', r.writer);
  set('writer, as drawn', r.plain_writer);
  set('MNIST test (10,000)', r.mnist);
  print(['set', 'before', "after 1 a class", 'after 3', 'after 5', "'all' layers: 1 / 3 / 5"], acc);
  if (r.time) {
    L.push('');
    const t = (s) => (s ? `${s.median.toFixed(1)} ms [${s.min.toFixed(1)}–${s.max.toFixed(1)}], ${s.reps} calls` : '-');
    print(['one fineTune call (Node, warm)', "layers 'head'", "layers 'all'"], [
      [`50 examples + ${r.options.replay} replay`, t(r.time.head_50), t(r.time.all_50)],
      [`50 drawings as the element sends them (${r.images.head_50_drawings} images)`, t(r.time.head_50_drawings),
        t(r.time.all_50_drawings)],
    ]);
    L.push(`(the first call of a page also compiles the module and reads the replay digits: ${r.first_call_ms.toFixed(0)} ms here)`);
  }
  if (r.frames) {
    const f = r.frames;
    L.push('', f.error ? `Frames while teaching: ${f.error}` : `Frames while the demo page teaches 50 drawings in its Worker ` +
      `under synthetic strokes (browser suite; its fineTune call ${f.fine_tune_ms ?? '-'} ms, the Worker's round trip ` +
      `included): ${f.worker.dropped} dropped in ${f.worker.ms} ms, longest gap ` +
      `${f.worker.longest} ms; drawing alone ${f.alone.dropped} dropped, ${f.alone.longest} ms; the same call in the ` +
      `page's own thread ${f.inline.dropped} dropped, a ${f.inline.longest} ms gap`);
  }
  L.push('');
  print(['goal', 'measured', 'result'], judge(r).map((g) => [g.goal, g.value, verdict(g.pass)]));
  if (r.sizes) {
    L.push('', 'Loaded only when teaching (gzip -9): ' + Object.entries(r.sizes).map(([f, s]) =>
      `${f} ${s ? `${s.gzip.toLocaleString('en')} B` : 'missing'}`).join(', ') + '.');
  }
  return L.join('\n');
}

/** An SVG chart: accuracy on the slanted writer (and MNIST) against drawings a class. */
export function svg(r) {
  const W = 560, H = 300, x0 = 56, x1 = W - 150, y0 = 24, y1 = H - 44;
  const lo = Math.floor(Math.min(r.writer.before.acc, ...KS.map((k) => r.writer.head[k].acc)) * 10) / 10;
  const X = (k) => x0 + (k / 5) * (x1 - x0), Y = (a) => y1 - ((a - lo) / (1 - lo)) * (y1 - y0);
  const pts = (before, after, ks) => [[0, before.acc], ...ks.map((k) => [k, after[k].acc])];
  const pathOf = (p) => p.map(([k, a], i) => `${i ? 'L' : 'M'}${X(k).toFixed(1)},${Y(a).toFixed(1)}`).join(' ');
  const series = [
    { name: "writer, 'head'", color: '#f26b1d', p: pts(r.writer.before, r.writer.head, KS) },
    { name: "writer, 'all'", color: '#7c3aed', dash: '5 4', p: pts(r.writer.before, r.writer.all, TABLE_KS) },
    { name: "MNIST, 'head'", color: '#1d2330', p: pts(r.mnist.before, r.mnist.head, KS) },
  ];
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    'font-family="system-ui, sans-serif" font-size="12">',
  `<rect width="${W}" height="${H}" fill="#fff"/>`,
  `<text x="${x0}" y="14" font-weight="600">Teaching the slanted writer: accuracy against drawings taught a class</text>`];
  for (let a = lo; a <= 1.0001; a += 0.05) {
    out.push(`<line x1="${x0}" x2="${x1}" y1="${Y(a).toFixed(1)}" y2="${Y(a).toFixed(1)}" stroke="#e4e7ec"/>`,
      `<text x="${x0 - 6}" y="${(Y(a) + 4).toFixed(1)}" text-anchor="end" fill="#6b7280">${Math.round(100 * a)} %</text>`);
  }
  for (let k = 0; k <= 5; k++)
    out.push(`<text x="${X(k)}" y="${y1 + 16}" text-anchor="middle" fill="#6b7280">${k}</text>`);
  out.push(`<text x="${(x0 + x1) / 2}" y="${H - 8}" text-anchor="middle" fill="#6b7280">drawings taught a class ` +
    `(each with ${r.variants} variants; 0 = before)</text>`);
  series.forEach((s, i) => {
    out.push(`<path d="${pathOf(s.p)}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const [k, a] of s.p) out.push(`<circle cx="${X(k).toFixed(1)}" cy="${Y(a).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = y0 + 14 + i * 18;
    out.push(`<line x1="${x1 + 14}" x2="${x1 + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"` +
      `${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`, `<text x="${x1 + 40}" y="${ly}">${s.name}</text>`);
  });
  const need = r.writer.before.acc + GOALS.writer_gap * (1 - r.writer.before.acc);
  out.push(`<line x1="${x0}" x2="${x1}" y1="${Y(need).toFixed(1)}" y2="${Y(need).toFixed(1)}" stroke="#f26b1d" ` +
    'stroke-dasharray="2 3" opacity="0.7"/>',
  `<text x="${x1 + 14}" y="${(Y(need) + 4).toFixed(1)}" fill="#6b7280">goal at 5: ${pc(need)}</text>`,
  `<text x="${x1 + 14}" y="${y1 - 4}" fill="#6b7280">${path.basename(r.weights)}</text>`, '</svg>');
  return out.join('\n') + '\n';
}

async function main() {
  const args = parseArgs({ weights: 'web/twoconv.safetensors', writer: 'data/drawn/writer-slant',
    'plain-writer': 'data/drawn/writer', data: 'data/mnist', variants: 3, reps: 15, 'all-reps': 3, svg: '',
    frames: 'build/teach-frames.json', quick: false, table: false });
  const web = (f) => pathToFileURL(path.join(ROOT, 'web', f));
  const { load } = await import(web('digitlens.js').href);
  const T = await import(web('digitlens-train.js').href);

  function idx(dir) {
    const img = readFileSync(path.resolve(ROOT, dir, 't10k-images-idx3-ubyte'));
    const lab = readFileSync(path.resolve(ROOT, dir, 't10k-labels-idx1-ubyte'));
    const n = img.readUInt32BE(4);
    return { n, xs: Array.from({ length: n }, (_, i) => Float32Array.from(img.subarray(16 + i * 784, 16 + (i + 1) * 784), (v) => v / 255)),
      y: (i) => lab[8 + i] };
  }
  const have = (dir) => existsSync(path.resolve(ROOT, dir, 't10k-images-idx3-ubyte'));
  const weights = new Uint8Array(readFileSync(path.resolve(ROOT, args.weights)));
  const lens = await load({ weights, methods: 'gradcam' });
  const mnist = idx(args.data);
  if (args.quick) mnist.xs.length = 2000;
  const accuracy = (set, from = 0) => {
    let ok = 0;
    for (let i = from; i < set.xs.length; i++) ok += lens.classify(set.xs[i]).digit === set.y(i);
    return { correct: ok, count: set.xs.length - from, acc: ok / (set.xs.length - from) };
  };
  /** the set's first n images as the element would teach them */
  const drawings = (set, n) => Array.from({ length: n }, (_, i) => [set.xs[i],
    ...T.variants(set.xs[i], args.variants, i + 1)].map((pixels) => ({ pixels, label: set.y(i) }))).flat();

  const meta = lens.metadata;
  const out = { weights: args.weights, network: meta.architecture
    ? (JSON.parse(meta.architecture).filter((l) => l[0] === 'conv').length === 2 ? 'twoconv' : 'custom') : 'seednet',
  options: { ...T.DEFAULTS }, variants: args.variants, held_out: null, quick: args.quick };

  // the first call: compiles the module and reads the replay digits
  const t0 = performance.now();
  await lens.fineTune([{ pixels: mnist.xs[0], label: mnist.y(0) }]);
  out.first_call_ms = performance.now() - t0;
  lens.resetWeights();

  /** accuracy on a writer (held out) and MNIST, before and after k drawings a class */
  async function teachSet(dir, { all = true } = {}) {
    if (!have(dir)) return { error: `${dir}: not built (make drawn)` };
    const set = idx(dir), res = { dir, before: accuracy(set, HELD), head: {}, all: {} }, onMnist = { head: {}, all: {} };
    out.held_out = set.n - HELD;
    for (const [layers, ks] of [['head', KS], ...(all ? [['all', TABLE_KS]] : [])])
      for (const k of ks) {
        const r = await lens.fineTune(drawings(set, 10 * k), { layers });
        res[layers][k] = { ...accuracy(set, HELD), loss_first: r.loss[0], loss_last: r.loss.at(-1) };
        onMnist[layers][k] = accuracy(mnist);
        lens.resetWeights();
      }
    return { res, onMnist };
  }
  const mnistBefore = accuracy(mnist);
  const slanted = await teachSet(args.writer);
  out.writer = slanted.res ?? slanted;
  out.mnist = slanted.onMnist ? { before: mnistBefore, ...slanted.onMnist } : { before: mnistBefore, error: slanted.error };
  const plain = await teachSet(args['plain-writer'], { all: false });
  out.plain_writer = plain.res ?? plain;

  async function time(examples, o, reps) {
    const ms = [];
    for (let r = 0; r < reps; r++) {
      ms.push((await lens.fineTune(examples, o)).ms);
      lens.resetWeights();
    }
    return stats(ms, 'ms');
  }
  const src = have(args.writer) ? idx(args.writer) : mnist;
  const plain50 = Array.from({ length: 50 }, (_, i) => ({ pixels: src.xs[i], label: src.y(i) }));
  const reps = args.quick ? Math.min(5, args.reps) : args.reps, allReps = args.quick ? 1 : args['all-reps'];
  out.time = {
    head_50: await time(plain50, {}, reps),
    head_50_drawings: await time(drawings(src, 50), {}, reps),
    all_50: await time(plain50, { layers: 'all' }, allReps),
    all_50_drawings: await time(drawings(src, 50), { layers: 'all' }, allReps),
  };
  out.images = { head_50: 50 + out.options.replay, head_50_drawings: 50 * (1 + args.variants) + out.options.replay };
  const size = (f) => {
    const p = path.join(ROOT, 'web', f);
    if (!existsSync(p)) return null;
    const b = readFileSync(p);
    return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length };
  };
  out.sizes = Object.fromEntries(FILES.map((f) => [f, size(f)]));
  const fr = path.resolve(ROOT, args.frames);
  try { out.frames = existsSync(fr) ? JSON.parse(readFileSync(fr, 'utf8')) : { error: `${args.frames} missing (make test writes it)` }; }
  catch (e) { out.frames = { error: `${args.frames}: ${e.message}` }; }
  out.goals = judge(out);
  if (args.svg && out.writer && !out.writer.error) {
    mkdirSync(path.dirname(path.resolve(ROOT, args.svg)), { recursive: true });
    writeFileSync(path.resolve(ROOT, args.svg), svg(out));
  }
  if (args.table) console.log(table(out));
  emit(out);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
