// reliability.test.js — the reliability checks `make test` runs:
//   - the cmocka tests built with clang -fsanitize=address,undefined
//     (build/asan/, `make asan`), one subtest per C test case, with no
//     sanitizer report (leaks included);
//   - the CLI once under valgrind (--error-exitcode): PNG in, Grad-CAM of
//     all ten classes out as JSON and PNG files; and an IDX classify;
//   - the fuzz targets (`make fuzz-build`) replaying the committed seeds and
//     every regression input in tests/fuzz/regressions/;
//   - crash-safe training: `train` SIGKILLed at random moments, several times
//     in a row, each time resumed; the previous weights file stays intact
//     until the run completes, and the result equals an uninterrupted run.
// The sanitizer builds need clang-14 and the valgrind run valgrind (make
// setup installs both); without them these tests fail and say so.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { avx512Instructions, describeAvx512 } from './isa.js';
import { decodePNG, assertOverlayShows, placedMax } from './overlay.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'build', 'digitlens');
const WEIGHTS = path.join(ROOT, 'weights', 'seednet.safetensors');
const DATA = path.join(ROOT, 'data', 'mnist');
const T10K = path.join(DATA, 't10k-images-idx3-ubyte');
const SUITES = (() => {
  const r = spawnSync('make', ['-s', '--no-print-directory', '-p', '-n', 'asan'], { cwd: ROOT, encoding: 'utf8' });
  const m = r.stdout.match(/^TESTS :?= (.*)$/m);
  return m ? m[1].trim().split(/\s+/) : ['net', 'gradcam', 'io', 'preprocess', 'train'];
})();
const FUZZ = ['safetensors', 'idx', 'png', 'preprocess', 'wasm_api'];
const FUZZ_DIR = path.join(ROOT, 'tests', 'fuzz');

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// A machine without clang-14 fails here, saying what to install, rather than
// skipping the sanitizer and fuzz suites and passing. (Checked by looking
// for a name that is not installed: one failed test, exit status 1.)
const CLANG = 'clang-14';
const noClang = has(CLANG) ? false : `${CLANG} is not installed: the sanitizer and fuzz suites need it ` +
  '(make setup installs it: apt-get install clang-14 libclang-rt-14-dev libomp-14-dev)';
if (noClang) test(`${CLANG} is installed`, () => assert.fail(noClang));
const noBin = fs.existsSync(BIN) ? false : `${BIN} not built (make native)`;
const noData = noBin || (fs.existsSync(path.join(DATA, '.verified')) ? false : `${DATA} not fetched (make data)`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-reliability-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The sanitizer builds, once, through the Makefile (the one way to build).
let built = null;
function buildSanitized() {
  if (built === null) {
    const r = spawnSync('make', ['-s', '--no-print-directory', '-j2', 'asan', 'fuzz-build'],
      { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    built = r.status === 0 ? '' : `make asan fuzz-build failed (${r.status}):\n${r.stdout}\n${r.stderr}`;
  }
  assert.equal(built, '', built);
}

const SAN_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
const SAN_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer/;

describe('C tests under AddressSanitizer + UndefinedBehaviorSanitizer', { skip: noClang }, () => {
  before(buildSanitized);
  // every suite the Makefile's TESTS lists (make asan builds them all)
  for (const name of SUITES) {
    test(`asan: test_${name}`, async (t) => {
      const bin = path.join(ROOT, 'build', 'asan', `test_${name}`);
      const r = spawnSync(bin, [], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: SAN_ENV });
      const out = `${r.stdout}\n${r.stderr}`;
      const cases = [...r.stdout.matchAll(/^\[ RUN      \] (\S+)$/gm)].map((m) => m[1]);
      assert.ok(cases.length > 0, `test_${name} ran no test case:\n${out.slice(0, 4000)}`);
      for (const c of cases) {
        await t.test(c, () => {
          assert.ok(new RegExp(`^\\[       OK \\] ${c}$`, 'm').test(r.stdout), `${c} failed:\n${out.slice(-4000)}`);
        });
      }
      assert.doesNotMatch(out, SAN_REPORT, `sanitizer report:\n${out.slice(-6000)}`);
      assert.equal(r.status, 0, `test_${name} exited with ${r.status} (signal ${r.signal}):\n${out.slice(-4000)}`);
    });
  }
});

// What valgrind runs must hold no instruction valgrind cannot decode. The
// check reads the disassembly, so it catches an AVX-512 build on any machine
// (changing the Makefile's -march=x86-64 to -march=native fails it on an
// AVX-512 machine); valgrind itself would only fail on one.
describe('native binaries run on any x86-64 CPU', { skip: process.arch === 'x64' ? false : 'x86-64 only' }, () => {
  test('the checker finds AVX-512 in code built for it, and none in the same loop built for x86-64 or AVX2', () => {
    const src = path.join(tmp, 'loop.c');
    fs.writeFileSync(src, 'void twice(float *p) { for (int i = 0; i < 64; i++) p[i] += p[i]; }\n');
    const count = (flags) => {
      const obj = path.join(tmp, 'loop.o');
      const r = spawnSync('gcc', ['-O3', ...flags, '-c', src, '-o', obj], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const found = avx512Instructions(obj);
      assert.ok(found.every((x) => x.fn === 'twice'), JSON.stringify(found));
      return found;
    };
    assert.equal(count(['-march=x86-64']).length, 0);
    assert.equal(count(['-mavx2']).length, 0);
    // what -march=native gives on an AVX-512 machine
    const wide = count(['-mavx512f', '-mprefer-vector-width=512']);
    assert.ok(wide.length > 0, 'AVX-512 found');
    assert.match(describeAvx512('loop.o', wide), /AVX-512 instruction.*%zmm.*make clean && make native/);
  });

  test('no AVX-512 instruction in build/digitlens or the C test binaries', { skip: noBin }, () => {
    const bins = [BIN, ...SUITES.map((n) => path.join(ROOT, 'build', `test_${n}`))];
    for (const bin of bins) {
      assert.ok(fs.existsSync(bin), `${bin} not built (make native)`);
      const found = avx512Instructions(bin);
      assert.equal(found.length, 0, describeAvx512(bin, found));
    }
  });
});

describe('the CLI under valgrind', { skip: noBin }, () => {
  const valgrind = (args) => {
    assert.ok(has('valgrind'), 'valgrind is not installed: make setup installs it (apt-get install valgrind)');
    const r = spawnSync('valgrind', ['-q', '--error-exitcode=99', '--leak-check=full',
      '--errors-for-leak-kinds=definite,indirect', BIN, ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    // An instruction valgrind cannot decode ends the run with SIGILL: say why.
    if (/unhandled instruction bytes|Illegal opcode|SIGILL/.test(r.stderr)) {
      const version = spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).stdout.trim();
      const found = avx512Instructions(BIN);
      assert.fail(`${version} cannot run ${BIN}: ` + (found.length ? describeAvx512(BIN, found)
        : 'it decodes no instruction there (a valgrind older than the binary\'s instruction set); ' +
          'rebuild with the Makefile\'s flags (make clean && make native) or update valgrind') +
        `\n${r.stderr.slice(-3000)}`);
    }
    return r;
  };

  test('explain --class all --json --out on a PNG: no error reported', () => {
    const png = path.join(tmp, 'digit.png');
    fs.copyFileSync(path.join(FUZZ_DIR, 'seeds', 'png', 'rgb16'), png);
    const out = path.join(tmp, 'maps');
    const r = valgrind(['explain', '--class', 'all', '--json', '--out', out, '--weights', WEIGHTS, png]);
    assert.equal(r.status, 0, `valgrind exit ${r.status}:\n${r.stderr.slice(-6000)}`);
    assert.equal(r.stderr.trim(), '', 'valgrind and the CLI print nothing on stderr');
    const o = JSON.parse(r.stdout);
    assert.equal(o.digit, 1);
    assert.equal(fs.readdirSync(out).filter((f) => f.endsWith('.png')).length, 10);
    // what was written under valgrind is the overlays of the JSON's maps, on one scale
    const top = Math.max(...Object.values(o.maps).map((m) => placedMax(m.flat(), 280, o.grid)));
    let hot = 0;
    for (let c = 0; c < 10; c++)
      hot += assertOverlayShows(decodePNG(fs.readFileSync(path.join(out, `digit-class${c}.png`))), { S: 280, grid: o.grid },
        o.maps[c].flat(), top, `class ${c}`).hot;
    assert.ok(hot > 1000, `${hot} pixels with heat`);
  });

  test('classify --json on IDX images: no error reported', { skip: noData }, () => {
    const r = valgrind(['classify', '--json', '--limit', '20', '--weights', WEIGHTS, T10K]);
    assert.equal(r.status, 0, `valgrind exit ${r.status}:\n${r.stderr.slice(-6000)}`);
    assert.equal(r.stdout.trim().split('\n').length, 20);
  });
});

describe('fuzz targets replay the seed corpus and the regressions', { skip: noClang }, () => {
  before(buildSanitized);
  for (const t of FUZZ) {
    test(`fuzz_${t}: seeds and regressions run clean`, () => {
      const dirs = ['seeds', 'regressions'].map((d) => path.join(FUZZ_DIR, d, t)).filter((d) => fs.existsSync(d));
      const files = dirs.flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)));
      assert.ok(files.length > 0, `no seed for ${t}`);
      // Files given one by one: libFuzzer runs each input once and stops.
      const r = spawnSync(path.join(ROOT, 'build', 'fuzz', `fuzz_${t}`), files,
        { cwd: tmp, encoding: 'utf8', timeout: 120_000, env: SAN_ENV });
      const out = `${r.stdout}\n${r.stderr}`;
      assert.doesNotMatch(out, SAN_REPORT, out.slice(-6000));
      assert.equal(r.status, 0, `fuzz_${t} exited with ${r.status} (signal ${r.signal}):\n${out.slice(-6000)}`);
      assert.equal([...out.matchAll(/^Running: /gm)].length, files.length, 'every file ran');
    });
  }
});

// ---- crash-safe training -----------------------------------------------------

function tensorsOf(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.toString('utf8', 8, 8 + n));
  return { header, data: b.subarray(8 + n) };
}

// splitmix-like, seeded, so a failing sequence of kill times can be replayed
function rng(seed) {
  let s = BigInt(seed);
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
  };
}

// Run train; SIGKILL it after `ms` (null: let it finish). Resolves to
// {killed, code}.
function trainRun(args, ms) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['train', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const timer = ms === null ? null : setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, err });
    });
  });
}

describe('crash-safe training', { skip: noData }, () => {
  test('SIGKILL at random moments: the old weights stay whole; --resume reaches the uninterrupted weights', async (t) => {
    const EPOCHS = 4;
    const common = ['--limit', '1000', '--epochs', String(EPOCHS), '--seed', '11', '--threads', '2', '--batch', '32'];
    const whole = path.join(tmp, 'whole.safetensors');
    const t0 = Date.now();
    const w = await trainRun([...common, '--out', whole], null);
    assert.equal(w.code, 0, w.err);
    let runMs = Date.now() - t0;
    const ref = tensorsOf(whole);

    // The "previous weights": the committed file, byte for byte.
    const dir = fs.mkdtempSync(path.join(tmp, 'kill-'));
    const out = path.join(dir, 'seednet.safetensors');
    const ckpt = `${out}.ckpt`;
    const old = fs.readFileSync(WEIGHTS);

    const seed = Number(process.env.KILL_SEED || Date.now() % 1e9);
    const rand = rng(seed);
    const kills = [];
    let resumed = 0, rounds = 0, replacedEarly = 0;
    // Rounds: the old weights in place, then runs killed at random moments
    // (uniform over a whole run: start-up, epochs, checkpoint and final
    // writes), each resuming from the checkpoint left, until one finishes.
    // At least 8 kills in all.
    while (kills.length < 8 && rounds < 10) {
      rounds++;
      fs.writeFileSync(out, old);
      fs.rmSync(ckpt, { force: true });
      for (let i = 0; ; i++) {
        // what is left of the run: the epochs after the checkpoint's
        const resume = fs.existsSync(ckpt);
        const done = resume ? Number(tensorsOf(ckpt).header.__metadata__.epoch) : 0;
        const left = runMs * (EPOCHS - done + 0.25) / EPOCHS;
        // one kill in four aimed at the end: the last checkpoint, the final
        // write and rename, the checkpoint's removal
        const at = rand() < 0.25 ? 0.8 + 0.2 * rand() : rand();
        const ms = i < 12 ? Math.round(20 + at * left) : null;
        const started = Date.now();
        const r = await trainRun([...common, '--out', out, ...(resume ? ['--resume'] : [])], ms);
        resumed += resume;
        if (!r.killed) {
          assert.equal(r.code, 0, r.err);
          // the machine's speed varies: aim the next kills by this run
          runMs = ((Date.now() - started) * EPOCHS) / (EPOCHS - done + 0.25);
        } else kills.push(ms);
        // The weights file is the old one or, once a run got as far as the
        // rename, the complete new one: never anything in between.
        const now = fs.readFileSync(out);
        if (!now.equals(old)) {
          const got = tensorsOf(out);
          assert.ok(got.data.equals(ref.data), `after a kill at ${ms} ms (seed ${seed}): the weights file is neither the old nor the finished one`);
          if (r.killed) replacedEarly++;
        }
        // A checkpoint, when there is one, is whole: it parses and its
        // tensors tile the data to the end.
        if (fs.existsSync(ckpt)) {
          const c = tensorsOf(ckpt);
          assert.equal(c.data.length, Math.max(...Object.values(c.header).map((e) => e.data_offsets?.[1] ?? 0)),
            `checkpoint after a kill at ${ms} ms (seed ${seed})`);
        }
        if (!r.killed) break;
      }
      const got = tensorsOf(out);
      assert.ok(got.data.equals(ref.data), `round ${rounds} (seed ${seed}): killed and resumed, the same weights as the uninterrupted run`);
      assert.equal(got.header.__metadata__.test_accuracy, ref.header.__metadata__.test_accuracy);
      assert.ok(!fs.existsSync(ckpt), 'the checkpoint is removed once the run is complete');
    }
    t.diagnostic(`kill seed ${seed} (KILL_SEED=${seed} replays it); a run took ~${Math.round(runMs)} ms; ` +
      `${rounds} rounds, killed at ${kills.join(', ')} ms; ${resumed} runs resumed from a checkpoint; ` +
      `${replacedEarly} kills landed after the new weights were in place`);
    assert.ok(kills.length >= 8, `8 kills landed (${kills.length})`);
    assert.ok(resumed >= 1, 'at least one run resumed from a checkpoint');
    // Killed writers may leave their temporary file (name.tmp.PID); nothing
    // else appears, and nothing is ever half a weights file under its name.
    const stray = fs.readdirSync(dir).filter((f) => f !== 'seednet.safetensors');
    for (const f of stray) assert.match(f, /^seednet\.safetensors(\.ckpt)?\.tmp\.\d+$/, `unexpected file ${f}`);
    if (stray.length) t.diagnostic(`temporary files left by killed writers: ${stray.join(', ')}`);
  });
});
