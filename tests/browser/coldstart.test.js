// coldstart.test.js — how long a first visit takes to show a heatmap, in
// Debian's headless Chromium, the page served on localhost by tools/serve.mjs
// (as `make demo` serves it). Each run is a new browser context, so nothing
// is cached: not the files, not the compiled wasm.
//
// Cold start = from navigation start (performance.timeOrigin) to the first
// animation frame after the element's first `result` event, where a script
// in the page draws a "1" with pointer events on the pad the moment the
// element is ready (its model loaded). So it counts the HTML, the JS, the
// wasm and the weights, compiling and instantiating, the preprocessing, one
// forward + Grad-CAM of ten classes and the painting of the maps; it does
// not count a human drawing. The median of RUNS runs goes to
// build/coldstart.json ({"ms", "min", "max", "ready_ms", ...}, and where the
// time went: the files' arrival, the first paint, the element ready, the
// explanation), which `make bench` reports; the test fails above 1,000 ms
// (a broken page), the goal (150 ms) is judged by the bench.
//
// The pages are opened as a visitor's browser opens them: in a window that
// has settled, and with no DevTools domain but Page enabled while they load.
// A new context's window keeps both cores busy for about a second after it
// opens (its toolbar's pages load); the test waits until Chromium is idle
// (harness.js, chromiumIdle) before it navigates. Navigating at once, as it
// did before, the same page took 164 ms against 124 (interleaved, 21 runs
// each). And the page is not a Playwright page (harness.js, openBare): a
// Playwright page's Network and Runtime domains report every request,
// console call and script context, and the same runs took 30-36 ms longer
// that way (the floor 15 ms). The probe ends with a fragment navigation, which the
// Page domain reports; nothing polls the page (polling from Playwright runs
// its own script every frame inside the interval being measured). Console
// errors and exceptions are read once the page has painted: enabling the
// Runtime domain then replays them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, needChromium, serveWeb, cpuTimes, openBare, chromiumIdle, coldProbe as probe } from './harness.js';

const OUT = path.join(ROOT, 'build', 'coldstart.json');
const RUNS = 15; // this shared machine swings by a quarter from run to run: 15 steady the median
const NEEDS = ['digit-lens.min.js', 'digitlens.wasm', 'twoconv.safetensors', 'index.html'];
const missing = NEEDS.filter((f) => !fs.existsSync(path.join(WEB, f)));
const skip = needChromium() || (missing.length ? `web/${missing.join(', web/')} not built (make wasm)` : false);

// The browser's own share: a page of one line of HTML and one external
// one-line script, which notes its first animation frame. Served, loaded and
// timed the same way (a fresh context per run), it is the floor under any
// page that needs one file after its HTML.
const FLOOR_DIR = path.join(ROOT, 'build', 'coldstart-floor');
const FLOOR_HTML = '<!doctype html><html lang="en"><meta charset="utf-8"><title>floor</title>' +
  '<script src="floor.js"></script><p>floor</p>\n';
const FLOOR_JS = "requestAnimationFrame(() => { globalThis.floorPainted = performance.now(); location.hash = 'painted'; });\n";

let server, origin, browser, floorServer, floorOrigin;

before(async () => {
  if (skip) return;
  ({ server, origin } = await serveWeb());
  fs.mkdirSync(FLOOR_DIR, { recursive: true });
  fs.writeFileSync(path.join(FLOOR_DIR, 'index.html'), FLOOR_HTML);
  fs.writeFileSync(path.join(FLOOR_DIR, 'floor.js'), FLOOR_JS);
  ({ server: floorServer, origin: floorOrigin } = await serveWeb(FLOOR_DIR));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  floorServer?.kill();
});

// what a page load cost in CPU (see cpuTimes), null without /proc
const cpuDelta = (a, b, wall) => a && b &&
  { ...Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]])), wall_ms: wall };
const cpuMedians = (list) => list.every(Boolean)
  ? Object.fromEntries(Object.keys(list[0]).map((k) => [k, +median(list.map((c) => c[k])).toFixed(0)])) : null;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Open url in a fresh context with the init script, once the browser is
// idle, until it navigates to #painted: { tab, settle (ms waited for idle),
// cpu (what the load cost, from cpuTimes) }
async function load(url, init) {
  const tab = await openBare(browser, { init, width: 900, height: 1000 });
  const settle = await chromiumIdle(); // the new context's window settles, as a visitor's has
  const ended = tab.event('Page.navigatedWithinDocument', (p) => p.url.endsWith('#painted'));
  const cpu0 = cpuTimes(), wall0 = performance.now();
  await tab.send('Page.navigate', { url });
  try {
    await ended;
  } catch {
    const seen = await tab.evaluate(() => JSON.stringify(globalThis.__cold ?? null)).catch(() => '?');
    await tab.close();
    throw new Error(`${url} did not reach #painted within 15 s (probe: ${seen})`);
  }
  return { tab, settle, cpu: cpuDelta(cpu0, cpuTimes(), performance.now() - wall0) };
}

test('cold start: navigation to the first heatmap, median of fresh contexts -> build/coldstart.json', { skip }, async () => {
  const runs = [], floor = [], cpus = [], floorCpus = [], settles = [];
  for (let r = 0; r < RUNS; r++) {
    const { tab, cpu, settle } = await load(origin + '/', probe);
    settles.push(settle);
    const errors = await tab.errors();
    const t = await tab.evaluate(async () => {
      const nav = performance.getEntriesByType('navigation')[0];
      // the first paint is reported once its frame is presented: maybe after `painted`
      const fp = await new Promise((resolve) => {
        new PerformanceObserver((l) => { const e = l.getEntriesByName('first-paint')[0]; if (e) resolve(e.startTime); })
          .observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve(undefined), 2000);
      });
      // what was fetched before the first result (the icon is not the page's to wait for)
      const files = performance.getEntriesByType('resource')
        .filter((e) => e.startTime < globalThis.__cold.result && !/favicon/.test(e.name));
      return { ...globalThis.__cold, dcl: nav.domContentLoadedEventEnd, html: nav.responseEnd,
        files: Object.fromEntries(files.map((e) => [new URL(e.name).pathname.slice(1), +e.responseEnd.toFixed(1)])),
        fp, viewport: [innerWidth, innerHeight],
        digit: document.querySelector('digit-lens').result?.digit };
    });
    await tab.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(t.viewport, [900, 1000]);
    assert.equal(t.state, 'idle', 'the element is ready and waits for a drawing');
    assert.equal(t.digit, 1, 'the scripted stroke reads as a 1');
    runs.push(t);
    cpus.push(cpu);
    // the floor, right after, in the same conditions
    const f = await load(floorOrigin + '/');
    floor.push(await f.tab.evaluate(() => globalThis.floorPainted));
    floorCpus.push(f.cpu);
    await f.tab.close();
  }
  const ms = runs.map((t) => t.painted);
  const out = {
    ms: +median(ms).toFixed(1),
    min: +Math.min(...ms).toFixed(1),
    max: +Math.max(...ms).toFixed(1),
    runs: RUNS,
    ready_ms: +median(runs.map((t) => t.ready)).toFixed(1),
    explain_ms: +median(runs.map((t) => t.result - t.ready)).toFixed(1),
    dom_content_loaded_ms: +median(runs.map((t) => t.dcl)).toFixed(1),
    // where the time goes (medians): the HTML, the last of the files the
    // first heatmap needs, the first paint of the page
    html_ms: +median(runs.map((t) => t.html)).toFixed(1),
    files_ms: +median(runs.map((t) => Math.max(...Object.values(t.files)))).toFixed(1),
    first_paint_ms: +median(runs.map((t) => t.fp ?? NaN)).toFixed(1),
    files: Object.keys(runs[0].files).sort(),
    floor_ms: +median(floor).toFixed(1),
    floor_min: +Math.min(...floor).toFixed(1),
    floor_max: +Math.max(...floor).toFixed(1),
    floor_definition: 'the same, for a page of one line of HTML and one external one-line script: ' +
      'navigation start to its first animation frame (what the browser alone takes for any page that ' +
      'needs one file after its HTML)',
    // CPU ms spent from the navigation to the painted frame (medians), by
    // the machine (all: every process, both cores) and by Chromium's
    // processes; wall_ms is that interval as the test process saw it
    cpu_ms: cpuMedians(cpus),
    floor_cpu_ms: cpuMedians(floorCpus),
    // how long a new context's window kept Chromium busy before each of our
    // page's runs (median), waited out before navigating (chromiumIdle)
    settle_ms: +median(settles).toFixed(0),
    browser: `chromium ${browser.version()}`,
    definition: 'navigation start to the first animation frame after the first result event of <digit-lens> ' +
      'on index.html, a "1" drawn by script with pointer events as soon as the element is ready; ' +
      'a fresh browser context per run (nothing cached), navigated once its window has settled (Chromium idle), ' +
      'no DevTools domain but Page enabled while it loads, ' +
      'served by tools/serve.mjs on 127.0.0.1',
    date: new Date().toISOString(),
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
  console.log(`cold start: ${out.ms} ms median [${out.min}–${out.max}]; HTML ${out.html_ms} ms, files ` +
    `${out.files_ms} ms, first paint ${out.first_paint_ms} ms, element ready ${out.ready_ms} ms, explained +${out.explain_ms} ms; ` +
    `floor (HTML + one script, first frame) ${out.floor_ms} ms`);
  assert.ok(out.floor_ms > 0 && out.floor_ms < out.ms, 'the empty page is faster than ours');
  assert.ok(!out.files.some((f) => /full|nosimd/.test(f)), `the first heatmap needs the small wasm alone (${out.files})`);
  assert.ok(out.ms < 1000, `cold start ${out.ms} ms: the page is broken or very slow`);
});
