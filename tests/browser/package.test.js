// package.test.js — digitlens as an npm package: `npm pack` in the checkout,
// the tarball installed into a scratch project under the system's temp
// folder (offline: it has no dependencies), then
//   - used from Node: import { load, loadSamples } from 'digitlens' reads the
//     packaged samples with the packaged wasm and weights;
//   - bundled with esbuild (`import 'digitlens/element'`) into the blog test
//     page (tests/browser/blog/: its hostile CSS, two elements), the files
//     the README says to copy next to the bundle, served by tools/serve.mjs
//     (strict CSP) and drawn on in Chromium.
// And what the package holds: the modules, their types (every path that
// package.json's exports names), the wasm, the weights, the samples, the
// two bundles, and nothing of the C, the tests or the tools.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, WEB, CHROMIUM, CHROMIUM_ARGS, serveWeb, drawOn } from './harness.js';

const BLOG = path.join(ROOT, 'tests', 'browser', 'blog');

const ESBUILD = path.join(ROOT, 'node_modules', '.bin', 'esbuild');
const skip = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not installed (make setup)`
  : !fs.existsSync(path.join(WEB, 'digit-lens.one.js')) ? 'web/ not built (make wasm)'
    : !fs.existsSync(ESBUILD) ? 'esbuild not installed (make setup)' : false;
const SEVEN = [[[0.26, 0.18], [0.74, 0.18], [0.62, 0.42], [0.46, 0.86]]];

let tmp, app, packed;
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

before(() => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-pkg-'));
  // (prepack runs `make wasm`, here a no-op; its output goes to stderr)
  packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT))[0];
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, packed.filename)], app);
});

after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

describe('the npm package', { skip }, () => {
  test('npm pack: the modules, their types, the wasm, weights and samples, both bundles; no C, tests or tools', () => {
    const files = packed.files.map((f) => f.path).sort();
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const f of ['web/digitlens.js', 'web/digit-lens.js', 'web/digitlens.d.ts', 'web/digit-lens.d.ts',
      'web/digit-lens.min.js', 'web/digit-lens.one.js', 'web/samples.bin', 'web/digitlens.wasm',
      'web/digitlens-nosimd.wasm', 'web/digitlens-full.wasm', 'web/digitlens-full-nosimd.wasm'])
      assert.ok(files.includes(f), `${f} in the package`);
    assert.deepEqual(files.filter((f) => f.endsWith('.safetensors')), ['web/seednet.safetensors', 'web/twoconv.safetensors'],
      'the default weights (two-conv) and the seed network\'s');
    assert.deepEqual(files.filter((f) => /^(c|tests|tools|weights|data|build)\//.test(f)), []);
    // every file package.json's exports name is in the installed package
    const installed = path.join(app, 'node_modules', 'digitlens');
    const targets = (x) => typeof x === 'string' ? [x] : Object.values(x).flatMap(targets);
    const named = targets(pkg.exports);
    assert.ok(named.length >= 6);
    for (const f of named) assert.ok(fs.existsSync(path.join(installed, f)), `${f} (package.json exports) installed`);
    const dts = fs.readFileSync(path.join(installed, 'web', 'digitlens.d.ts'), 'utf8');
    for (const name of ['load', 'loadSamples', 'simdSupported', 'wasmFile'])
      assert.match(dts, new RegExp(`export function ${name}\\(`), `digitlens.d.ts declares ${name}`);
    assert.match(fs.readFileSync(path.join(installed, 'web', 'digit-lens.d.ts'), 'utf8'), /'digit-lens': DigitLensElement/);
  });

  test('from Node: import { load, loadSamples } from \'digitlens\' reads the packaged samples', () => {
    fs.writeFileSync(path.join(app, 'node.mjs'), `import { load, loadSamples, METHODS } from 'digitlens';
const lens = await load(), s = await loadSamples();
let right = 0;
for (let i = 0; i < s.count; i++)
  right += lens.classify(Float32Array.from(s.pixels.subarray(784 * i, 784 * i + 784), (v) => v / 255)).digit === s.labels[i];
console.log(JSON.stringify({ count: s.count, right, methods: lens.methods.length, all: METHODS.length }));
`);
    const r = JSON.parse(run(process.execPath, ['node.mjs'], app));
    assert.equal(r.count, 300);
    assert.ok(r.right >= 294, `${r.right} of 300 samples read right`);
    assert.equal(r.methods, r.all, 'load() has every method');
  });

  test('bundled with esbuild into the blog post: <digit-lens> reads a drawn 7', async () => {
    const dist = path.join(app, 'dist');
    fs.writeFileSync(path.join(app, 'main.js'), `import 'digitlens/element';
import { METHODS } from 'digitlens';
document.documentElement.dataset.methods = METHODS.length;
`);
    run(ESBUILD, ['main.js', '--bundle', '--format=esm', '--minify', '--outfile=dist/app.js', '--log-level=error'], app);
    const bundle = fs.readFileSync(path.join(dist, 'app.js'), 'utf8');
    // the files stay named next to the module, as bundlers that copy them need
    for (const f of ['digitlens.wasm', 'digitlens-full.wasm', 'samples.bin'])
      assert.match(bundle, new RegExp(`new URL\\("\\./${f.replace('.', '\\.')}",import\\.meta\\.url\\)`));
    // what the README says to copy next to an esbuild bundle
    const web = path.join(app, 'node_modules', 'digitlens', 'web');
    for (const f of fs.readdirSync(web).filter((f) => /\.(wasm|safetensors)$|^samples\.bin$/.test(f)))
      fs.copyFileSync(path.join(web, f), path.join(dist, f));
    fs.copyFileSync(path.join(BLOG, 'blog.css'), path.join(dist, 'blog.css'));
    const post = fs.readFileSync(path.join(BLOG, 'post.html'), 'utf8');
    assert.ok(post.includes('src="digit-lens.min.js"'));
    fs.writeFileSync(path.join(dist, 'index.html'), post.replace('src="digit-lens.min.js"', 'src="app.js"'));
    const { server, origin } = await serveWeb(dist);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
      const errors = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(origin + '/');
      const state = (s) => page.waitForFunction((s) => document.querySelector('#first').shadowRoot
        ?.querySelector('.card').dataset.state === s, s, { timeout: 15_000 });
      await state('idle');
      assert.equal(await page.evaluate(() => document.documentElement.dataset.methods), '11');
      await drawOn(page, page.locator('#first canvas[part=pad]'), SEVEN);
      await state('ok');
      assert.equal(await page.locator('#first [part=digit]').textContent(), '7');
      await page.locator('#first button[data-act=sample]').click();
      await page.waitForFunction(() => /sample labelled/.test(document.querySelector('#first').shadowRoot.querySelector('.sub').textContent));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      server.kill();
    }
  });
});
