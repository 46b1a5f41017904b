#!/usr/bin/env node
// bundle.mjs — the element's two bundles, made by esbuild from the readable
// web/digit-lens.js and web/digitlens.js:
//   bundle.mjs esm OUT              digit-lens.min.js: an ES module, minified;
//                                   it fetches the wasm and the weights next to it
//   bundle.mjs one OUT WASM WEIGHTS digit-lens.one.js: a classic script (no
//                                   module, no import.meta) carrying WASM and
//                                   WEIGHTS inside, as base64 of their gzip -9
//                                   bytes, unpacked by DecompressionStream
//                                   (import.meta.files in digitlens.js), so it
//                                   works from file:// and needs no other file.
// Both squeeze the element's style sheet (esbuild's CSS minifier) and the
// whitespace between the tags of its HTML, which esbuild keeps as they are
// written inside template strings.
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const [kind, out, wasm, weights] = process.argv.slice(2);
if (!(kind === 'esm' && out) && !(kind === 'one' && weights)) {
  console.error('usage: bundle.mjs esm OUT | bundle.mjs one OUT WASM WEIGHTS');
  process.exit(2);
}
const ENTRY = new URL('../web/digit-lens.js', import.meta.url).pathname;

const squeeze = {
  name: 'squeeze',
  setup(build) {
    build.onLoad({ filter: /digit-lens\.js$/ }, async ({ path }) => {
      let src = readFileSync(path, 'utf8');
      const css = src.match(/const CSS = `([^`]*)`/);
      const html = src.match(/const HTML = \(\) => `([\s\S]*?)`;\n/);
      if (!css || !html) throw new Error(`${path}: no CSS or HTML template found`);
      const min = (await esbuild.transform(css[1], { loader: 'css', minify: true })).code.trim();
      src = src.replace(css[1], () => min)
        .replace(html[1], () => html[1].replace(/>\s+</g, '><').replace(/\n\s*/g, ' '));
      return { contents: src, loader: 'js' };
    });
  },
};

const b64 = (file) => gzipSync(readFileSync(file), { level: 9 }).toString('base64');
const result = await esbuild.build({
  entryPoints: [ENTRY],
  bundle: true,
  minify: true,
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
  metafile: kind === 'esm',
  plugins: [squeeze],
  external: ['node:*'],
  ...(kind === 'esm' ? {
    format: 'esm',
    define: { 'import.meta.files': 'undefined' },
    // V8's compile hint: every function of the bundle is compiled while the
    // script streams in, not at its first call on the main thread.
    banner: { js: '//# allFunctionsCalledOnLoad' },
  } : {
    format: 'iife',
    define: { 'import.meta.files': JSON.stringify({ wasm: b64(wasm), weights: b64(weights) }),
      'import.meta.url': 'undefined' },
  }),
});
writeFileSync(out + '.tmp', result.outputFiles[0].contents);
renameSync(out + '.tmp', out);
// what each source file became in the ES module (tools/bench/sizes.mjs)
if (kind === 'esm') {
  const { inputs } = Object.values(result.metafile.outputs)[0];
  mkdirSync(new URL('../build', import.meta.url), { recursive: true });
  writeFileSync(new URL('../build/digit-lens.min.meta.json', import.meta.url), JSON.stringify({ inputs }, null, 1) + '\n');
}
