#!/usr/bin/env node
// coldtrace.mjs [RUNS] [DIR] — where a cold start's CPU goes, from Chromium's
// own trace. Serves DIR (default web/) as `make demo` does, opens it RUNS
// times (default 5) in a fresh browser context, once its window has settled,
// with the cold-start test's probe (a "1" drawn as soon as <digit-lens> is
// ready), traces each run, and
// prints the medians of the CPU time (thread time, not wall time) the page's
// renderer spent from the navigation's commit to the frame after the first
// result: its main thread in all and in style + layout and in lazily
// compiling wasm; its other threads in all and in rasterising, in V8's
// optimising compile of hot wasm functions, and in parsing the bundle.
// Tracing slows the page, so the wall time printed is longer than the test's.
// Needs `make wasm` and Debian's chromium (as the browser tests do).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, WEB, serveWeb, chromiumIdle, coldProbe } from '../../tests/browser/harness.js';

const [runsArg = '5', dir = WEB] = process.argv.slice(2);
const RUNS = Number(runsArg);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`coldtrace: RUNS must be a positive integer, got ${runsArg}`);
  process.exit(2);
}
for (const f of [CHROMIUM, path.join(dir, 'index.html')])
  if (!fs.existsSync(f)) {
    console.error(`coldtrace: ${f} not found (make setup; make wasm)`);
    process.exit(1);
  }

// CPU ms by kind in one trace, between the navigation's commit on the
// renderer's main thread and its last requestAnimationFrame callback.
function analyse(events) {
  const names = {};
  for (const e of events) if (e.name === 'thread_name') names[`${e.pid}:${e.tid}`] = e.args.name;
  // the page's own parse (a new window first parses an empty about:blank)
  const parse = events.find((e) => e.name === 'ParseHTML' && /^http/.test(e.args?.beginData?.url ?? ''));
  if (!parse) throw new Error('no ParseHTML of the page in the trace');
  const main = `${parse.pid}:${parse.tid}`;
  const commit = events.filter((e) => `${e.pid}:${e.tid}` === main && e.name === 'DocumentLoader::CommitNavigation' &&
    e.ts < parse.ts).pop();
  const end = Math.max(...events.filter((e) => `${e.pid}:${e.tid}` === main && e.name === 'FireAnimationFrame')
    .map((e) => e.ts));
  const out = { wall: (end - commit.ts) / 1000, main: 0, style_layout: 0, wasm_lazy: 0,
    other: 0, raster: 0, wasm_optimise: 0, js_parse: 0 };
  const threads = {};
  for (const e of events)
    if (e.pid === parse.pid && e.ph === 'X' && e.ts >= commit.ts && e.ts <= end) (threads[`${e.pid}:${e.tid}`] ??= []).push(e);
  for (const [t, list] of Object.entries(threads)) {
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    let outer = 0; // end of the current top-level event: nested ones are inside its time
    for (const e of list) {
      const ms = (e.tdur ?? e.dur) / 1000;
      if (t === main && /^Blink\.(Style|Layout)\.UpdateTime$/.test(e.name)) out.style_layout += ms;
      if (t === main && e.name === 'wasm.CompileLazy') out.wasm_lazy += ms;
      if (e.name === 'RasterTask') out.raster += ms;
      if (e.name === 'wasm.TopTierCompilation') out.wasm_optimise += ms;
      if (e.name === 'v8.parseOnBackground') out.js_parse += ms;
      if (e.ts < outer) continue;
      outer = e.ts + e.dur;
      if (t === main) out.main += ms;
      else if (!/Perfetto/.test(names[t] ?? '')) out.other += ms; // not the tracer's own thread
    }
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coldtrace-'));
const { server, origin } = await serveWeb(dir);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
const results = [];
try {
  for (let r = 0; r < RUNS; r++) {
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
    const page = await context.newPage();
    await page.addInitScript(coldProbe);
    const file = path.join(tmp, `run${r}.json`);
    await browser.startTracing(page, { path: file, categories: ['toplevel', 'devtools.timeline',
      'disabled-by-default-devtools.timeline', 'v8', 'v8.wasm', 'blink', 'loading', 'cc'] });
    await chromiumIdle(); // the new window settles first, as in the cold-start test
    const painted = page.waitForEvent('framenavigated', { predicate: (f) => f.url().endsWith('#painted'), timeout: 15000 });
    await page.goto(origin + '/');
    await painted;
    await browser.stopTracing();
    results.push(analyse(JSON.parse(fs.readFileSync(file, 'utf8')).traceEvents));
    await context.close();
    process.stderr.write(`\rcoldtrace: ${r + 1}/${RUNS} runs`);
  }
} finally {
  process.stderr.write('\n');
  await browser.close();
  server.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
}
const m = Object.fromEntries(Object.keys(results[0]).map((k) => [k, median(results.map((x) => x[k])).toFixed(1)]));
console.log(`cold start of ${dir}, medians of ${RUNS} traced runs, CPU ms from the navigation's commit to the painted frame`);
console.log(`  wall time (slowed by tracing)       ${m.wall}`);
console.log(`  renderer main thread                ${m.main}`);
console.log(`    style and layout                  ${m.style_layout}`);
console.log(`    wasm compiled at its first call   ${m.wasm_lazy}`);
console.log(`  renderer's other threads            ${m.other}`);
console.log(`    rasterising the page              ${m.raster}`);
console.log(`    optimising hot wasm functions     ${m.wasm_optimise}`);
console.log(`    parsing the bundle                ${m.js_parse}`);
