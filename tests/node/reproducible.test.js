// reproducible.test.js — training gives the same bits on every x86-64 CPU.
//
// `make train` claims to reproduce the committed weights bit for bit. A full
// run is not a test (90 s and more), so a short run is checked instead,
// byte for byte, against a golden file made by the same command
// (tests/golden/, remade with `UPDATE_GOLDEN=1 node --test
// tests/node/reproducible.test.js`): any change to the order of a float sum
// in the layers, the optimiser or the augmentation changes it.
//
// The machine's own part: glibc picks its expf, cosf, sin, cos (and more)
// by CPU (FMA variants where the CPU has FMA), and those variants do differ
// on some inputs (expf and cosf over all 2^32 floats; double sin and cos on
// [-0.2, 0.2]). Training calls them on a few ranges only, where they were
// found to agree; the run under GLIBC_TUNABLES below, with the FMA, AVX2
// and AVX-512 variants switched off (as on a CPU without them), checks that
// the weights are the same.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'build', 'digitlens');
const DATA = path.join(ROOT, 'data', 'mnist');
const GOLDEN = path.join(ROOT, 'tests', 'golden');
const noData = !fs.existsSync(BIN) ? `${BIN} is not built (make native)`
  : fs.existsSync(path.join(DATA, '.verified')) ? false : `${DATA} is not fetched (make data)`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-repro-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The tensors of a safetensors file: the header without its metadata (which
// holds the date) and the data, as one buffer to compare.
function tensorBytes(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.toString('utf8', 8, 8 + n));
  delete header.__metadata__;
  return { header, data: b.subarray(8 + n) };
}

function train(out, args, env = {}) {
  const r = spawnSync(BIN, ['train', '--out', out, ...args], { cwd: ROOT, encoding: 'utf8',
    timeout: 300_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return tensorBytes(out);
}

// max |a - b| over two F32 data blocks, for the failure message
function maxDiff(a, b) {
  const x = new Float32Array(a.buffer, a.byteOffset, a.length / 4);
  const y = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  let m = 0, n = 0;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) { n++; m = Math.max(m, Math.abs(x[i] - y[i])); }
  }
  return `${n} of ${x.length} floats differ, by up to ${m}`;
}

const SHORT = ['--arch', 'seednet', '--limit', '2000', '--epochs', '2', '--batch', '32', '--seed', '5', '--threads', '2'];

describe('training is reproducible bit for bit', { skip: noData }, () => {
  test('a short run equals the committed golden weights, byte for byte', () => {
    const golden = path.join(GOLDEN, 'seednet-2000x2.safetensors');
    const got = train(path.join(tmp, 'short.safetensors'), SHORT);
    if (process.env.UPDATE_GOLDEN) fs.copyFileSync(path.join(tmp, 'short.safetensors'), golden);
    assert.ok(fs.existsSync(golden), `${golden} missing (UPDATE_GOLDEN=1 makes it)`);
    const want = tensorBytes(golden);
    assert.deepEqual(got.header, want.header);
    assert.ok(got.data.equals(want.data), `train ${SHORT.join(' ')}: ${maxDiff(got.data, want.data)} ` +
      'from the golden file. The order of some float sum changed; if on purpose, remake it ' +
      '(UPDATE_GOLDEN=1) and retrain the committed weights (make train).');
  });

  test('the same weights with glibc\'s FMA, AVX2 and AVX-512 math variants switched off', (t) => {
    const off = { GLIBC_TUNABLES: 'glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F,-AVX512VL,-AVX512DQ,-AVX512BW' };
    // that the switch works: glibc then loads no x86-64-v3 or v4 library
    const diag = (env) => spawnSync('/lib64/ld-linux-x86-64.so.2', ['--list-diagnostics'],
      { encoding: 'utf8', env: { ...process.env, ...env } }).stdout.match(/^dl_hwcaps_subdirs_active=(\S+)$/m)?.[1];
    const before = diag({}), after = diag(off);
    if (before === after) t.diagnostic(`this CPU has no FMA/AVX2 variants to switch off (hwcaps ${before}): the two runs are the same code`);
    else assert.ok(Number(after) < Number(before), `GLIBC_TUNABLES took effect: hwcaps ${before} -> ${after}`);
    const a = train(path.join(tmp, 'a.safetensors'), SHORT);
    const b = train(path.join(tmp, 'b.safetensors'), SHORT, off);
    assert.ok(a.data.equals(b.data), maxDiff(a.data, b.data));
  });
});
