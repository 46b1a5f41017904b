// sizes.mjs — every byte of the widget's download, gzip -9: what the page's
// head names (the module script, the wasm and the weights it preloads),
// each file cut into its parts and each part charged what it adds to the
// file's gzip -9 size when the parts are compressed in order (the first
// part its own size, the next what it adds to that, ...). The parts of a
// file sum exactly to the gzip -9 size of their concatenation; "layout"
// is the difference to the file's own (parts in another order than in the
// file, and gzip's framing), so each file's rows sum to its size.
//
//   script   loader (web/digitlens.js), element code, its style sheet, its
//            HTML template (esbuild's metafile: build/digit-lens.min.meta.json)
//   wasm     module structure (types, imports, exports, tables), the code of
//            each C file (a copy of the module with function names,
//            build/wasm/digitlens.names.wasm, and which object defines each
//            name: emnm), libc, and the data (messages and tables)
//   weights  the JSON header, then each tensor
//
//   node tools/bench/sizes.mjs [--json]   (--json: then one JSON line, for make bench)
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { ROOT, parseArgs } from './common.mjs';

const args = parseArgs({ json: false });
const gz = (b) => gzipSync(b, { level: 9 }).length;
const WEB = path.join(ROOT, 'web');

/** Each part charged what it adds to gzip -9 of the parts so far. */
function account(file, parts) {
  const whole = readFileSync(file), rows = [];
  let prefix = Buffer.alloc(0), before = 0;
  for (const [name, bytes] of parts) {
    prefix = Buffer.concat([prefix, bytes]);
    const now = gz(prefix);
    rows.push({ part: name, raw: bytes.length, gzip: now - before });
    before = now;
  }
  const total = gz(whole);
  if (total !== before) rows.push({ part: 'layout (parts in file order, gzip framing)', raw: whole.length - prefix.length, gzip: total - before });
  return { file: path.relative(ROOT, file), raw: whole.length, gzip: total, parts: rows };
}

// ---- the script ------------------------------------------------------------
// the end of the template literal that opens at src[i] (a backquote), over
// nested ${...} and the templates inside them
function templateEnd(src, i) {
  for (let p = i + 1; p < src.length; p++) {
    if (src[p] === '\\') p++;
    else if (src[p] === '`') return p + 1;
    else if (src[p] === '$' && src[p + 1] === '{') {
      let depth = 1;
      for (p += 2; depth; p++) {
        if (src[p] === '`') p = templateEnd(src, p) - 1;
        else if (src[p] === '"' || src[p] === "'") { const q = src[p]; for (p++; src[p] !== q; p++) if (src[p] === '\\') p++; }
        else depth += src[p] === '{' ? 1 : src[p] === '}' ? -1 : 0;
      }
      p--;
    }
  }
  throw new Error('unterminated template literal');
}
function scriptParts(file) {
  const src = readFileSync(file, 'utf8');
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'build/digit-lens.min.meta.json'), 'utf8'));
  const [, loader] = Object.entries(meta.inputs).find(([k]) => k.endsWith('web/digitlens.js'));
  // esbuild emits the loader first (the element imports it), after the banner
  const start = src.indexOf('\n') + 1, cut = start + loader.bytesInOutput;
  const c0 = src.indexOf('":host{'), c1 = src.indexOf('"', c0 + 1) + 1;
  const h0 = src.indexOf('`<div class="w">'), h1 = templateEnd(src, h0);
  if (c0 < cut || h0 < cut) throw new Error(`${file}: the element's style sheet or HTML template not found after the loader`);
  const [a, b] = c0 < h0 ? [[c0, c1], [h0, h1]] : [[h0, h1], [c0, c1]];
  const code = src.slice(cut, a[0]) + src.slice(a[1], b[0]) + src.slice(b[1]);
  return [['banner (V8 compile hint)', src.slice(0, start)], ['loader: fetch, compile, the API (digitlens.js)', src.slice(start, cut)],
    ['element: code (digit-lens.js)', code], ['element: its style sheet', src.slice(c0, c1)],
    ['element: its HTML template', src.slice(h0, h1)]].map(([n, t]) => [n, Buffer.from(t)]);
}

// ---- the wasm ---------------------------------------------------------------
function leb(b, p) { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 127) << s; s += 7; } while (x & 128); return [r >>> 0, p]; }
function sections(b) {
  const out = [];
  for (let p = 8; p < b.length;) {
    const id = b[p], [len, q] = leb(b, p + 1);
    out.push({ id, start: p, body: q, end: q + len });
    p = q + len;
  }
  return out;
}
// code bodies (with their size prefixes) and, from a name section, names
function functions(b) {
  const secs = sections(b), code = secs.find((s) => s.id === 10);
  const imports = (() => {
    const s = secs.find((x) => x.id === 2);
    if (!s) return 0;
    let [n, p] = leb(b, s.body), k = 0;
    for (let i = 0; i < n; i++) {
      let l; [l, p] = leb(b, p); p += l; [l, p] = leb(b, p); p += l;
      const kind = b[p++];
      if (kind === 0) { [, p] = leb(b, p); k++; } else if (kind === 1) { p++; const f = b[p++]; [, p] = leb(b, p); if (f & 1) [, p] = leb(b, p); }
      else if (kind === 2) { const f = b[p++]; [, p] = leb(b, p); if (f & 1) [, p] = leb(b, p); } else p += 2;
    }
    return k;
  })();
  let [n, p] = leb(b, code.body);
  const fns = [];
  for (let i = 0; i < n; i++) { const s = p; const [len, q] = leb(b, p); p = q + len; fns.push({ index: i + imports, start: s, end: p }); }
  const names = {};
  for (const s of secs.filter((x) => x.id === 0)) {
    let [nl, q] = leb(b, s.body);
    if (b.toString('utf8', q, q + nl) !== 'name') continue;
    q += nl;
    while (q < s.end) {
      const sid = b[q], [sl, r] = leb(b, q + 1);
      if (sid === 1) {
        let [cnt, t] = leb(b, r);
        for (let i = 0; i < cnt; i++) { let idx, l; [idx, t] = leb(b, t); [l, t] = leb(b, t); names[idx] = b.toString('utf8', t, t + l); t += l; }
      }
      q = r + sl;
    }
  }
  return { secs, code, fns: fns.map((f) => ({ ...f, name: names[f.index] })) };
}
function definedIn(objDir) {
  const where = {};
  for (const o of readdirSync(objDir).filter((f) => f.endsWith('.o'))) {
    const r = spawnSync('emnm', ['--defined-only', path.join(objDir, o)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`emnm ${o}: ${r.stderr}`);
    for (const line of r.stdout.split('\n')) {
      const m = /^\S*\s+[tTwW]\s+(\S+)$/.exec(line.trim());
      if (m) where[m[1]] ??= o.replace(/\.o$/, '.c').replace(/^(gradcam_closed|wasm_api_gradcam)\.c$/,
        (x, y) => (y === 'gradcam_closed' ? 'gradcam.c' : 'wasm_api.c'));
    }
  }
  return where;
}
function wasmParts(file) {
  const b = readFileSync(file), named = path.join(ROOT, 'build/wasm/digitlens.names.wasm');
  const real = functions(b), nb = readFileSync(named), withNames = functions(nb);
  const size = (f) => f.fns.map((x) => x.end - x.start);
  if (JSON.stringify(size(real)) !== JSON.stringify(size(withNames)))
    throw new Error(`${path.relative(ROOT, named)} has other code than ${path.relative(ROOT, file)}: make it again (make bench does)`);
  // a function with its own row when its body is BIG bytes or more: wasm-opt
  // inlines small callees (and any called once) into their callers, so a
  // row is a function with what it took in; the rest by the file defining it
  const where = definedIn(path.join(ROOT, 'build/wasm/simd')), BIG = 600;
  const groups = new Map();
  for (let i = 0; i < real.fns.length; i++) {
    const f = real.fns[i], name = withNames.fns[i].name ?? '';
    const file = where[name] ? `c/${where[name]}` : 'libc';
    const key = f.end - f.start >= BIG ? `code: ${name} (${file})` : `code: the other functions of ${file}`;
    groups.set(key, Buffer.concat([groups.get(key) ?? Buffer.alloc(0), b.subarray(f.start, f.end)]));
  }
  const structure = Buffer.concat([b.subarray(0, 8), ...real.secs.filter((s) => s.id !== 10 && s.id !== 11).map((s) => b.subarray(s.start, s.end)),
    b.subarray(real.code.start, real.fns[0]?.start ?? real.code.end)]);
  const data = real.secs.filter((s) => s.id === 11).map((s) => b.subarray(s.start, s.end));
  const order = [...groups].sort((x, y) => y[1].length - x[1].length);
  return [['module structure (types, imports, exports, globals, section headers)', structure], ...order,
    ['data: messages and tables', Buffer.concat(data)]];
}

// ---- the weights --------------------------------------------------------------
function weightsParts(file) {
  const b = readFileSync(file), n = Number(b.readBigUInt64LE(0)), h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const tensors = Object.entries(h).filter(([k]) => k !== '__metadata__').sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  return [['header: tensor table and metadata (JSON)', b.subarray(0, 8 + n)],
    ...tensors.map(([k, e]) => [`${k} ${e.dtype} [${e.shape.join(', ')}]`, b.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1])])];
}

// ---- the page's head ------------------------------------------------------------
const html = readFileSync(path.join(WEB, 'index.html'), 'utf8'), head = html.slice(0, html.indexOf('</head>'));
const files = [...head.matchAll(/<script type="module" src="([^"]+)"/g), ...head.matchAll(/<link rel="preload" href="([^"]+)"/g)]
  .map((m) => path.join(WEB, m[1]));
const report = files.map((f) => account(f, f.endsWith('.js') ? scriptParts(f) : f.endsWith('.wasm') ? wasmParts(f) : weightsParts(f)));
const total = report.reduce((a, r) => a + r.gzip, 0);
const int = (x) => x.toLocaleString('en-US');
console.log(`widget download, gzip -9: ${int(total)} bytes (${(total / 1024).toFixed(1)} KB)`);
for (const r of report) {
  console.log(`\n${r.file}: ${int(r.gzip)} bytes gzip -9 (${int(r.raw)} raw)`);
  for (const p of r.parts) console.log(`  ${String(int(p.gzip)).padStart(6)}  ${p.part} (${int(p.raw)} raw)`);
}
if (args.json) console.log(JSON.stringify({ total, files: report }));
