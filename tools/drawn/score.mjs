#!/usr/bin/env node
// score.mjs [--weights FILE] [--dir data/drawn] [--json] [SET...] — accuracy
// of a network on the drawn sets, overall, per style and per template
// (label-template, e.g. 7-crossed), from `build/digitlens classify --json`
// on each image joined with SET-styles.json. SETs: drawn writer (default).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './render.mjs';

const args = process.argv.slice(2), sets = [];
let weights = path.join(ROOT, 'weights/twoconv.safetensors'), dir = path.join(ROOT, 'data/drawn'), json = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--weights') weights = args[++i];
  else if (args[i] === '--dir') dir = args[++i];
  else if (args[i] === '--json') json = true;
  else if (args[i].startsWith('-')) {
    console.error('usage: score.mjs [--weights FILE] [--dir DIR] [--json] [SET...]');
    process.exit(2);
  } else sets.push(args[i]);
}
if (!sets.length) sets.push('drawn', 'writer');

/** { accuracy, correct, total, style: {name: {correct, total, accuracy}}, template: {...}, wrong: [...] } */
export function score(set) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${set}-styles.json`), 'utf8'));
  const out = execFileSync(path.join(ROOT, 'build/digitlens'), ['classify', '--json', '--weights', weights,
    '--limit', String(meta.count), path.join(dir, set, 't10k-images-idx3-ubyte')], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const preds = out.trim().split('\n').map((l) => JSON.parse(l).digit);
  if (preds.length !== meta.count) throw new Error(`${set}: ${preds.length} predictions for ${meta.count} images`);
  const r = { set, weights: path.relative(ROOT, path.resolve(weights)), correct: 0, total: 0, style: {}, template: {}, wrong: [] };
  const add = (group, key, ok) => {
    const g = (group[key] ??= { correct: 0, total: 0 });
    g.correct += ok; g.total++; g.accuracy = g.correct / g.total;
  };
  meta.images.forEach((im, i) => {
    const ok = preds[i] === im.label ? 1 : 0;
    r.correct += ok; r.total++;
    add(r.style, im.style, ok);
    add(r.template, `${im.label}-${im.template}`, ok);
    if (!ok) r.wrong.push({ index: im.index, label: im.label, predicted: preds[i], style: im.style, template: im.template });
  });
  r.accuracy = r.correct / r.total;
  return r;
}

const pct = (g) => `${(100 * g.accuracy).toFixed(1).padStart(5)} % (${g.correct}/${g.total})`;
const results = sets.map(score);
if (json) console.log(JSON.stringify(results));
else for (const r of results) {
  console.log(`${r.set}: ${pct(r)}   weights ${r.weights}`);
  console.log('  per style:');
  for (const [k, g] of Object.entries(r.style)) console.log(`    ${k.padEnd(12)} ${pct(g)}`);
  console.log('  per template:');
  for (const [k, g] of Object.entries(r.template).sort(([a], [b]) => a.localeCompare(b)))
    console.log(`    ${k.padEnd(12)} ${pct(g)}`);
  if (r.wrong.length) console.log(`  wrong: ${r.wrong.map((w) => `#${w.index} ${w.label}->${w.predicted}`).join(', ')}`);
}
