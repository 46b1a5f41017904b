// quantized.test.js — the weights the page loads by default are the int8
// file (weights/seednet-int8.safetensors: 6-bit values in I8 with one F32
// scale per output channel, biases F32), and they lose at most 0.05 points
// of test accuracy against the F32 weights they were made from (issue 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'build/digitlens');
const F32 = path.join(ROOT, 'weights/seednet.safetensors');
const INT8 = path.join(ROOT, 'weights/seednet-int8.safetensors');
const DATA = path.join(ROOT, 'data/mnist/t10k-images-idx3-ubyte');
const skip = !fs.existsSync(CLI) ? 'build/digitlens not built (make native)'
  : !fs.existsSync(DATA) ? 'MNIST not fetched (make data)' : false;

function header(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
}

function accuracy(weights) {
  const r = spawnSync(CLI, ['eval', '--json', '--weights', weights], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).accuracy;
}

test('the shipped default weights are int8 with per-channel scales, and web/ serves them', () => {
  const h = header(INT8);
  assert.equal(h['fc.weight'].dtype, 'I8');
  assert.deepEqual(h['fc.weight'].shape, [10, 1728]);
  assert.deepEqual([h['fc.weight_scale'].dtype, h['fc.weight_scale'].shape], ['F32', [10]]);
  assert.equal(h['conv.weight'].dtype, 'I8');
  assert.deepEqual(h['conv.weight_scale'].shape, [12]);
  assert.equal(h['fc.bias'].dtype, 'F32');
  const web = path.join(ROOT, 'web/seednet.safetensors');
  if (fs.existsSync(web)) assert.ok(fs.readFileSync(web).equals(fs.readFileSync(INT8)), 'web/seednet.safetensors is the int8 file');
});

test('int8 weights: test accuracy >= 99.04 % or at most 0.05 points below F32', { skip }, () => {
  const a32 = accuracy(F32), a8 = accuracy(INT8);
  const loss = 100 * (a32 - a8);
  assert.ok(a8 >= 0.9904 || loss <= 0.05 + 1e-9,
    `int8 ${(100 * a8).toFixed(2)} % vs F32 ${(100 * a32).toFixed(2)} %: loss ${loss.toFixed(2)} points`);
  // the metadata tells the same figure
  assert.equal(header(INT8).__metadata__.test_accuracy, a8.toFixed(4));
});

test('quantize: int8 and f16 files load back, and a bad --dtype is a usage error', { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build', 'quant-'));
  try {
    for (const dtype of ['int8', 'f16']) {
      const out = path.join(tmp, `w-${dtype}.safetensors`);
      const r = spawnSync(CLI, ['quantize', '--dtype', dtype, '--weights', F32, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(j.loss_points <= 0.05, `${dtype}: loss ${j.loss_points}`);
      assert.ok(j.bytes_out < j.bytes_in / (dtype === 'int8' ? 3.5 : 1.9));
      assert.equal(accuracy(out), j.accuracy_out);
    }
    const bad = spawnSync(CLI, ['quantize', '--dtype', 'int4', '--out', path.join(tmp, 'x')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--dtype must be int8 or f16/);
  } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});
