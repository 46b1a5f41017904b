// cli.test.js — the `digitlens` command: bad input gives one line naming the
// file and the problem (exit 1), usage errors exit 2, and classify, explain,
// eval and train do what the README says, with numbers checked.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { decodePNG, assertOverlayShows, placedMax } from './overlay.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'build', 'digitlens');
const WEIGHTS = path.join(ROOT, 'weights', 'seednet.safetensors');
const DATA = path.join(ROOT, 'data', 'mnist');
const T10K = path.join(DATA, 't10k-images-idx3-ubyte');
const T10K_LABELS = path.join(DATA, 't10k-labels-idx1-ubyte');

const noBin = fs.existsSync(BIN) ? false : `${BIN} is not built (make build/digitlens)`;
const noData = noBin || (fs.existsSync(path.join(DATA, '.verified')) ? false
    : `${DATA} is not fetched (make data)`);
const noWeights = noData || (fs.existsSync(WEIGHTS) ? false
    : `${WEIGHTS} does not exist yet (make train)`);

function run(args, opts = {}) {
    const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000,
                                     maxBuffer: 256 << 20, ...opts });
    if (r.error) throw r.error;
    return r;
}

// Exit 1 and exactly one stderr line: "digitlens: <file>: <problem>".
function assertBadInput(r, file, problem) {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
    assert.equal(r.signal, null);
    assert.equal(lines.length, 1, `one stderr line, got: ${JSON.stringify(r.stderr)}`);
    assert.ok(lines[0].startsWith('digitlens: '), lines[0]);
    assert.ok(lines[0].includes(file), `names ${file}: ${lines[0]}`);
    assert.match(lines[0], problem);
}

function assertUsageError(r, what) {
    assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
    assert.match(r.stderr, /^digitlens: /);
    assert.match(r.stderr, what);
    assert.match(r.stderr, /usage: digitlens/);
    assert.equal(r.stdout, '');
}

// ---- files made by hand ---------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});
function crc32(buf) {
    let c = 0xffffffff;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
}
const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// 8-bit grayscale PNG; `idat` overrides the pixel data (for huge headers).
function pngGray(w, h, gray, idat) {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 0; // colour type: gray
    if (!idat) {
        const raw = Buffer.alloc((w + 1) * h);
        for (let y = 0; y < h; y++) gray.copy(raw, y * (w + 1) + 1, y * w, (y + 1) * w);
        idat = zlib.deflateSync(raw);
    }
    return Buffer.concat([PNG_SIG, chunk('IHDR', ihdr), chunk('IDAT', idat),
                          chunk('IEND', Buffer.alloc(0))]);
}
function pngSize(file) {
    const b = fs.readFileSync(file);
    assert.ok(b.subarray(0, 8).equals(PNG_SIG), `${file} is a PNG`);
    assert.equal(b.toString('latin1', 12, 16), 'IHDR');
    return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

// Seeded weights of the right names and shapes, so that the bad-input tests
// do not depend on trained weights.
const TENSORS = [['conv.weight', [12, 1, 5, 5]], ['conv.bias', [12]],
                 ['fc.weight', [10, 1728]], ['fc.bias', [10]]];
function safetensors(tensors, metadata = {}) {
    const header = { __metadata__: metadata };
    let off = 0;
    const datas = [];
    for (const [name, shape, values] of tensors) {
        const n = shape.reduce((a, b) => a * b, 1);
        const d = Buffer.alloc(4 * n);
        for (let i = 0; i < n; i++) d.writeFloatLE(values(i), 4 * i);
        header[name] = { dtype: 'F32', shape, data_offsets: [off, off + d.length] };
        off += d.length;
        datas.push(d);
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, Buffer.from(json, 'latin1'), ...datas]);
}
function randomWeights() {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
    return safetensors(TENSORS.map(([n, sh]) => [n, sh, rnd]));
}
function idx(magic, dims, data) {
    const h = Buffer.alloc(4 + 4 * dims.length);
    h.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([h, data]);
}
function readIdxImages(file) {
    const b = fs.readFileSync(file);
    return { count: b.readUInt32BE(4), image: (i) => b.subarray(16 + 784 * i, 16 + 784 * (i + 1)) };
}
function readLabels(file) { return fs.readFileSync(file).subarray(8); }

// MNIST test image i as a scan: dark ink on light paper, upscaled 4x, off
// centre in a larger page.
function scanOf(img) {
    const W = 200, H = 150, gray = Buffer.alloc(W * H, 235);
    for (let y = 0; y < 112; y++)
        for (let x = 0; x < 112; x++)
            gray[(y + 20) * W + x + 70] = 235 - Math.round(img[(y >> 2) * 28 + (x >> 2)] * 0.85);
    return pngGray(W, H, gray);
}

let tmp;
const f = {};
before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitlens-cli-'));
    const put = (name, data) => { f[name] = path.join(tmp, name); fs.writeFileSync(f[name], data); };
    f.missing = path.join(tmp, 'missing.png');
    f.dir = path.join(tmp, 'adir.png');
    fs.mkdirSync(f.dir);
    put('empty.png', Buffer.alloc(0));
    put('empty-idx', Buffer.alloc(0));
    put('weights.safetensors', randomWeights());
    const good = fs.readFileSync(f['weights.safetensors']);
    put('truncated.safetensors', good.subarray(0, good.length - 1000));
    const long = Buffer.from(good);
    long.writeBigUInt64LE(BigInt(good.length), 0);
    put('headerlen.safetensors', long);
    put('shape.safetensors', safetensors([['conv.weight', [12, 1, 3, 3], () => 0.1],
        ['conv.bias', [12], () => 0], ['fc.weight', [10, 1728], () => 0], ['fc.bias', [10], () => 0]]));
    put('nan.safetensors', safetensors(TENSORS.map(([n, sh]) => [n, sh, (i) => (i === 7 ? NaN : 0.01)])));
    // the two-conv network's tensors without the metadata that says so
    put('twoconv-tensors.safetensors', safetensors([['conv1.weight', [16, 1, 5, 5], () => 0.1],
        ['conv1.bias', [16], () => 0], ['conv2.weight', [32, 16, 3, 3], () => 0.1], ['conv2.bias', [32], () => 0],
        ['fc.weight', [10, 800], () => 0], ['fc.bias', [10], () => 0]]));
    put('badmagic-idx', idx(0x1f8b0808, // a gzip header: not unpacked
         [2, 28, 28], Buffer.alloc(2 * 784)));
    put('dims-idx', idx(0x00000803, [2, 20, 20], Buffer.alloc(2 * 400)));
    put('truncated-idx', idx(0x00000803, [5, 28, 28], Buffer.alloc(2 * 784)));
    put('notpng.png', Buffer.from('this is not a PNG, just text\n'));
    put('one.png', pngGray(1, 1, Buffer.from([0])));
    put('huge.png', pngGray(20000, 20000, null, zlib.deflateSync(Buffer.alloc(1000))));
    put('blank.png', pngGray(64, 64, Buffer.alloc(64 * 64, 255)));
    const ink = Buffer.alloc(64 * 64, 255); // a vertical stroke: a "1"
    for (let y = 12; y < 52; y++) for (let x = 29; x < 35; x++) ink[y * 64 + x] = 0;
    put('stroke.png', pngGray(64, 64, ink));
    if (!noData) {
        const t = readIdxImages(T10K);
        put('scan7.png', scanOf(t.image(0))); // test image 0 is a 7
    }
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SEEDS = (name) => path.join(ROOT, 'tests', 'fuzz', 'seeds', 'safetensors', name);

// Each case: [argument, problem]; the file named in the error is the argument.
const IMAGE_CASES = () => [
    [f.missing, /no such file/],
    [f.dir, /is a directory/],
    [f['empty.png'], /empty/],
    [f['empty-idx'], /empty/],
    [f['badmagic-idx'], /bad magic/],
    [f['dims-idx'], /dimensions/],
    [f['truncated-idx'], /truncated/],
    [f['notpng.png'], /not a PNG/],
    [f['one.png'], /no ink|image size/],
    [f['huge.png'], /image size/],
    [f['blank.png'], /no ink/],
];
const WEIGHT_CASES = () => [
    [f.missing, /no such file/],
    [f.dir, /is a directory/],
    [f['empty.png'], /empty/],
    [f['truncated.safetensors'], /truncated|out of range/],
    [f['headerlen.safetensors'], /header length/],
    [f['shape.safetensors'], /shape/],
    [f['nan.safetensors'], /NaN/],
    [f['notpng.png'], /header length|JSON|truncated/],
    // weights files that describe a network this program cannot run, or
    // tensors that are not the network's (tests/fuzz/seeds: node
    // tests/fuzz/make_seeds.mjs writes them)
    [SEEDS('arch-unknown-kind'), /architecture: layer 2 'p1': unknown kind 'avgpool'/],
    [SEEDS('arch-cam-missing'), /cam_layer 'relu9' is not a layer of the architecture/],
    [SEEDS('arch-cam-not-a-map'), /layer 6 'fc': cam_layer must be a conv or relu whose output is a map/],
    [SEEDS('arch-tensors-mismatch'), /tensor c2\.weight: its shape is not the architecture's/],
    [SEEDS('arch-too-wide'), /layer 0 'c1': filters must be 1 to 64/],
    [f['twoconv-tensors.safetensors'],
     /tensor conv\.weight: the architecture needs it; the file has none \(a file without architecture metadata is the seed network\)/],
];

describe('bad input', { skip: noBin }, () => {
    for (const cmd of ['classify', 'explain']) {
        test(`${cmd}: bad image files`, () => {
            for (const [file, problem] of IMAGE_CASES()) {
                for (const extra of [[], ['--json']]) {
                    const r = run([cmd, '--weights', f['weights.safetensors'], ...extra, file]);
                    assertBadInput(r, file, problem);
                }
            }
        });
        test(`${cmd}: bad weights files`, () => {
            for (const [file, problem] of WEIGHT_CASES())
                assertBadInput(run([cmd, '--weights', file, f['stroke.png']]), file, problem);
        });
        test(`${cmd}: the default weights path is named when it is missing`, () => {
            // A checkout without weights: a copy of the binary in CO/build/.
            // The defaults are the checkout's, from any working directory.
            const co = path.join(tmp, `checkout-${cmd}`);
            fs.mkdirSync(path.join(co, 'build'), { recursive: true });
            const bin = path.join(co, 'build', 'digitlens');
            fs.copyFileSync(BIN, bin);
            fs.chmodSync(bin, 0o755);
            let r = spawnSync(bin, [cmd, f['stroke.png']], { cwd: co, encoding: 'utf8' });
            assertBadInput(r, 'weights/twoconv.safetensors', /no such file/);
            r = spawnSync(bin, [cmd, f['stroke.png']], { cwd: tmp, encoding: 'utf8' });
            assertBadInput(r, path.join(co, 'weights', 'twoconv.safetensors'), /no such file/);
        });
        test(`${cmd}: --index past the end of an IDX file`, { skip: noData }, () => {
            const r = run([cmd, '--weights', f['weights.safetensors'], '--index', '10000', T10K]);
            assertBadInput(r, T10K, /index 10000/);
        });
    }

    test('eval: bad weights files', { skip: noData }, () => {
        for (const [file, problem] of WEIGHT_CASES())
            assertBadInput(run(['eval', '--weights', file]), file, problem);
    });

    // A data directory whose test images file is `file`.
    function dataDir(name, images, labels = T10K_LABELS) {
        const d = path.join(tmp, name);
        fs.mkdirSync(d, { recursive: true });
        for (const [n, src] of [['t10k-images-idx3-ubyte', images], ['t10k-labels-idx1-ubyte', labels],
                                ['train-images-idx3-ubyte', images], ['train-labels-idx1-ubyte', labels]]) {
            const dst = path.join(d, n);
            fs.rmSync(dst, { recursive: true, force: true });
            if (src === 'dir') fs.mkdirSync(dst);
            else if (src !== null) fs.copyFileSync(src, dst);
        }
        return d;
    }
    const DATA_CASES = () => [
        ['data-missing', null, /no such file/],
        ['data-dir', 'dir', /is a directory/],
        ['data-empty', f['empty-idx'], /empty/],
        ['data-magic', f['badmagic-idx'], /bad magic/],
        ['data-dims', f['dims-idx'], /dimensions/],
        ['data-trunc', f['truncated-idx'], /truncated/],
    ];

    for (const cmd of ['eval', 'train']) {
        test(`${cmd}: bad data directories`, { skip: noData }, () => {
            for (const [name, images, problem] of DATA_CASES()) {
                const d = dataDir(name, images);
                const file = path.join(d, cmd === 'eval' ? 't10k-images-idx3-ubyte' : 'train-images-idx3-ubyte');
                const args = cmd === 'eval' ? ['eval', '--weights', f['weights.safetensors'], '--data', d]
                    : ['train', '--data', d, '--out', path.join(tmp, 'never.safetensors')];
                assertBadInput(run(args), file, problem);
            }
            // Labels that do not match the images.
            const d = dataDir(`${cmd}-labels`, T10K, f['badmagic-idx']);
            const file = path.join(d, cmd === 'eval' ? 't10k-labels-idx1-ubyte' : 'train-labels-idx1-ubyte');
            const args = cmd === 'eval' ? ['eval', '--weights', f['weights.safetensors'], '--data', d]
                : ['train', '--data', d, '--out', path.join(tmp, 'never.safetensors')];
            assertBadInput(run(args), file, /bad magic/);
            assert.ok(!fs.existsSync(path.join(tmp, 'never.safetensors')));
        });
        test(`${cmd}: a missing --data directory`, () => {
            const d = path.join(tmp, 'no-such-dir');
            const r = run(cmd === 'eval' ? ['eval', '--weights', f['weights.safetensors'], '--data', d]
                : ['train', '--data', d, '--out', path.join(tmp, 'never.safetensors')]);
            assertBadInput(r, d, /no such file/);
        });
    }

    test('train: a corrupt or missing checkpoint for --resume', { skip: noData }, () => {
        const out = path.join(tmp, 'resume.safetensors');
        const ckpt = `${out}.ckpt`;
        assertBadInput(run(['train', '--resume', '--out', out, '--limit', '100']), ckpt, /no such file/);
        for (const [src, problem] of [[f['truncated.safetensors'], /truncated|out of range/],
                                      [f['headerlen.safetensors'], /header length/],
                                      [f['empty.png'], /empty/]]) {
            fs.copyFileSync(src, ckpt);
            assertBadInput(run(['train', '--resume', '--out', out, '--limit', '100']), ckpt, problem);
        }
        fs.copyFileSync(f['weights.safetensors'], ckpt); // weights, not a checkpoint
        assertBadInput(run(['train', '--resume', '--out', out, '--limit', '100']), ckpt,
                       /not a digitlens checkpoint/);
        assert.ok(!fs.existsSync(out));
    });

    test('train: --out is a directory, or in a missing directory', () => {
        assertBadInput(run(['train', '--out', f.dir]), f.dir, /is a directory/);
        const out = path.join(tmp, 'nodir', 'w.safetensors');
        assertBadInput(run(['train', '--out', out]), out, /does not exist/);
    });

    test('train: a failed run leaves an existing --out file as it was', () => {
        const out = path.join(tmp, 'keep.safetensors');
        fs.writeFileSync(out, 'precious bytes');
        const r = run(['train', '--data', path.join(tmp, 'no-such-dir'), '--out', out]);
        assert.equal(r.status, 1);
        assert.equal(fs.readFileSync(out, 'utf8'), 'precious bytes');
        assert.ok(!fs.existsSync(`${out}.ckpt`));
    });

    test('train: divergence stops with an error and writes nothing', { skip: noData }, () => {
        const out = path.join(tmp, 'diverge.safetensors');
        fs.writeFileSync(out, 'precious bytes');
        // Plain SGD with an absurd rate overflows the weights within a few steps.
        const r = run(['train', '--limit', '2000', '--epochs', '1', '--optimizer', 'sgd',
                       '--lr', '1e20', '--no-augment', '--out', out]);
        assert.equal(r.status, 1, r.stderr);
        const last = r.stderr.trim().split('\n').at(-1);
        assert.ok(last.startsWith(`digitlens: ${out}: not written: epoch 1: `), last);
        assert.match(last, /diverged|NaN/);
        assert.equal(fs.readFileSync(out, 'utf8'), 'precious bytes');
    });
});

describe('usage', { skip: noBin }, () => {
    test('--help on every command: usage on stdout, exit 0', () => {
        for (const args of [['--help'], ['train', '--help'], ['eval', '--help'],
                            ['classify', '--help'], ['explain', '-h'], ['explain', 'x.png', '--help']]) {
            const r = run(args);
            assert.equal(r.status, 0, args.join(' '));
            assert.match(r.stdout, /^usage: digitlens/);
            assert.match(r.stdout, /--weights FILE|COMMAND/);
            assert.equal(r.stderr, '');
        }
    });
    test('usage errors exit 2 with the usage on stderr', () => {
        const cases = [
            [[], /no command/],
            [['frobnicate'], /unknown command 'frobnicate'/],
            [['train', '--epochs', 'abc'], /--epochs: 'abc' is not an integer/],
            [['train', '--epochs', '0'], /--epochs: 0 is out of range/],
            [['train', '--epochs'], /--epochs needs a value/],
            [['train', '--lr', 'fast'], /--lr: 'fast' is not a number/],
            [['train', '--lr', 'nan'], /--lr: 'nan' is not a number/],
            [['train', '--batch', '12x'], /--batch: '12x' is not an integer/],
            [['train', '--optimizer', 'rmsprop'], /--optimizer/],
            [['train', 'extra'], /unexpected argument 'extra'/],
            [['eval', '--threads', '-1'], /--threads/],
            [['eval', '--bogus'], /unknown option '--bogus'/],
            [['classify'], /no FILE given/],
            [['classify', '--index', 'x', 'a.png'], /--index: 'x' is not an integer/],
            [['classify', '--limit', '0', 'a.png'], /--limit: 0 is out of range/],
            [['classify', '--class', '3', 'a.png'], /unknown option '--class'/],
            [['explain', '--class', '10', 'a.png'], /--class: 10 is out of range/],
            [['explain', '--class', 'some', 'a.png'], /--class: 'some' is not an integer/],
            [['explain', '--cmap', 'jet', 'a.png'], /--cmap/],
            [['explain', '--json'], /no FILE given/],
        ];
        for (const [args, what] of cases) assertUsageError(run(args), what);
    });
});

// ---- what the commands compute ----------------------------------------------

function parseLines(stdout) {
    return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}
function assertProbs(probs) {
    assert.equal(probs.length, 10);
    for (const p of probs) assert.ok(Number.isFinite(p) && p >= 0 && p <= 1, `prob ${p}`);
    const sum = probs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probs sum to ${sum}`);
}
function assertMap(map, side) {
    assert.equal(map.length, side);
    for (const row of map) {
        assert.equal(row.length, side);
        for (const v of row) assert.ok(Number.isFinite(v) && v >= 0, `map value ${v}`);
    }
}
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

describe('classify and explain with any weights', { skip: noBin }, () => {
    test('explain --out writes one overlay per class, of --size pixels', () => {
        const out = path.join(tmp, 'overlays');
        let r = run(['explain', '--weights', f['weights.safetensors'], '--out', out, f['stroke.png']]);
        assert.equal(r.status, 0, r.stderr);
        const files = fs.readdirSync(out);
        assert.equal(files.length, 1);
        assert.match(files[0], /^stroke-class\d\.png$/);
        assert.deepEqual(pngSize(path.join(out, files[0])), [280, 280]);
        // the overlay shows the predicted class's map (its own scale)
        const [o] = parseLines(run(['explain', '--weights', f['weights.safetensors'], '--json', '--class', 'all',
                                    f['stroke.png']]).stdout);
        assert.equal(files[0], `stroke-class${o.digit}.png`);
        const own = o.maps[o.digit].flat();
        assertOverlayShows(decodePNG(fs.readFileSync(path.join(out, files[0]))), { S: 280, grid: o.grid }, own,
                           placedMax(own, 280, o.grid), files[0]);
        r = run(['explain', '--weights', f['weights.safetensors'], '--out', out, '--class', 'all',
                 '--size', '56', '--cmap', 'viridis', f['stroke.png']]);
        assert.equal(r.status, 0, r.stderr);
        const top = Math.max(...Object.values(o.maps).map((m) => placedMax(m.flat(), 56, o.grid)));
        for (let c = 0; c < 10; c++) {
            const file = path.join(out, `stroke-class${c}.png`);
            assert.deepEqual(pngSize(file), [56, 56]);
            assertOverlayShows(decodePNG(fs.readFileSync(file)), { S: 56, grid: o.grid }, o.maps[c].flat(), top, `class ${c}`);
        }
    });
    test('explain --out into a path that is a file fails with one line', () => {
        const r = run(['explain', '--weights', f['weights.safetensors'], '--out', f['notpng.png'],
                       f['stroke.png']]);
        assertBadInput(r, f['notpng.png'], /not a directory/);
    });
    test('classify --json on a PNG: file, digit, probs; no index', () => {
        const r = run(['classify', '--weights', f['weights.safetensors'], '--json', f['stroke.png']]);
        assert.equal(r.status, 0, r.stderr);
        const [o] = parseLines(r.stdout);
        assert.equal(o.file, f['stroke.png']);
        assert.ok(!('index' in o));
        assertProbs(o.probs);
        assert.equal(o.digit, argmax(o.probs));
    });
});

describe('classify, explain, eval with the committed weights', { skip: noWeights }, () => {
    test('classify --limit 100 --json on the test set: >= 95% right', () => {
        const r = run(['classify', '--json', '--limit', '100', T10K]);
        assert.equal(r.status, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.equal(lines.length, 100);
        const labels = readLabels(T10K_LABELS);
        let right = 0;
        lines.forEach((o, i) => {
            assert.equal(o.file, T10K);
            assert.equal(o.index, i);
            assertProbs(o.probs);
            assert.equal(o.digit, argmax(o.probs));
            right += o.digit === labels[i];
        });
        assert.ok(right / 100 >= 0.95, `accuracy ${right}/100`);
    });
    test('classify --index/--limit pick images; text mode gives one line each', () => {
        const r = run(['classify', '--index', '5', '--limit', '3', T10K]);
        assert.equal(r.status, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        assert.equal(lines.length, 3);
        const labels = readLabels(T10K_LABELS);
        lines.forEach((l, k) => assert.match(l, new RegExp(`\\[${5 + k}\\]: ${labels[5 + k]} \\(\\d+\\.\\d%\\)$`)));
        const one = parseLines(run(['classify', '--json', '--index', '9999', T10K]).stdout);
        assert.equal(one.length, 1);
        assert.equal(one[0].index, 9999);
    });
    test('classify a scanned digit: dark ink on paper, off centre, 4x size', () => {
        const r = run(['classify', '--json', f['scan7.png']]);
        assert.equal(r.status, 0, r.stderr);
        const [o] = parseLines(r.stdout);
        assert.equal(o.digit, 7);
        assert.ok(o.probs[7] > 0.9, `p(7) = ${o.probs[7]}`);
    });
    test('explain --json: raw maps on the default two-conv network, its 10x10 grid, the predicted one not all zero', () => {
        const r = run(['explain', '--json', '--limit', '5', T10K]);
        assert.equal(r.status, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.equal(lines.length, 5);
        const labels = readLabels(T10K_LABELS);
        lines.forEach((o, i) => {
            assert.equal(o.index, i);
            assert.equal(o.digit, labels[i]);
            assert.equal(o.logits.length, 10);
            assert.equal(o.digit, argmax(o.logits));
            assertProbs(o.probs);
            assert.deepEqual(Object.keys(o.maps), [String(o.digit)]);
            assert.deepEqual(o.grid, { side: 10, off: 4.5, stride: 2 });
            assertMap(o.maps[o.digit], 10);
            assert.ok(o.maps[o.digit].flat().some((v) => v > 0), 'predicted map is not all zero');
        });
    });
    test('explain --class all --json: ten maps; --class 3: the map of 3', () => {
        const all = parseLines(run(['explain', '--json', '--class', 'all', '--index', '0', T10K]).stdout);
        assert.equal(all.length, 1);
        assert.deepEqual(Object.keys(all[0].maps), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        for (const m of Object.values(all[0].maps)) assertMap(m, all[0].grid.side);
        const three = parseLines(run(['explain', '--json', '--class', '3', '--index', '0', T10K]).stdout);
        assert.deepEqual(Object.keys(three[0].maps), ['3']);
        assert.deepEqual(three[0].maps['3'], all[0].maps['3'], 'same map alone and among all');
    });
    test('explain --out on an IDX image names files by index', () => {
        const out = path.join(tmp, 'idx-overlays');
        const r = run(['explain', '--out', out, '--class', 'all', '--index', '3', T10K]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readdirSync(out).length, 10);
        // Each overlay shows its class's map, all ten on one scale: heat where
        // the map is at least a quarter of the largest, none where it is zero.
        // (Checked to fail when explain --out blends no heat, opacity 0.)
        const [o] = parseLines(run(['explain', '--json', '--class', 'all', '--index', '3', T10K]).stdout);
        const top = Math.max(...Object.values(o.maps).map((m) => placedMax(m.flat(), 280, o.grid)));
        let hot = 0, cold = 0;
        for (let c = 0; c < 10; c++) {
            const file = path.join(out, `t10k-images-idx3-ubyte-3-class${c}.png`);
            assert.deepEqual(pngSize(file), [280, 280]);
            const n = assertOverlayShows(decodePNG(fs.readFileSync(file)), { S: 280, grid: o.grid }, o.maps[c].flat(), top, `class ${c}`);
            hot += n.hot;
            cold += n.cold;
        }
        assert.ok(hot > 2000 && cold > 10 * 280 * 280 / 4, `pixels checked: ${hot} with heat, ${cold} without`);
    });
    test('eval --json: accuracy >= 98.9%, consistent with the confusion matrix', () => {
        const r = run(['eval', '--json']);
        assert.equal(r.status, 0, r.stderr);
        const o = JSON.parse(r.stdout);
        assert.equal(o.total, 10000);
        const conf = o.confusion;
        assert.equal(conf.flat().reduce((a, b) => a + b, 0), 10000);
        const labels = readLabels(T10K_LABELS);
        let trace = 0;
        for (let t = 0; t < 10; t++) {
            trace += conf[t][t];
            const n = labels.filter((l) => l === t).length;
            assert.equal(conf[t].reduce((a, b) => a + b, 0), n, `row ${t} sums to the count of ${t}s`);
            assert.ok(Math.abs(o.per_class[t] - conf[t][t] / n) < 1e-9);
        }
        assert.equal(o.correct, trace);
        assert.ok(Math.abs(o.accuracy - trace / 10000) < 1e-9);
        assert.ok(o.accuracy >= 0.989, `accuracy ${o.accuracy}`);
        const text = run(['eval']);
        assert.equal(text.status, 0);
        assert.match(text.stdout, new RegExp(`accuracy ${(100 * o.accuracy).toFixed(2)}%`));
        // The default weights and data are the checkout's, from any working
        // directory; a path given stays relative to the working directory.
        const away = run(['eval', '--json'], { cwd: tmp });
        assert.equal(away.status, 0, away.stderr);
        assert.equal(JSON.parse(away.stdout).correct, o.correct);
        assertBadInput(run(['eval', '--weights', 'weights/seednet.safetensors'], { cwd: tmp }),
                       'weights/seednet.safetensors', /no such file/);
    });
});

// ---- training ---------------------------------------------------------------

function readSafetensors(file) {
    const b = fs.readFileSync(file);
    const n = Number(b.readBigUInt64LE(0));
    return { header: JSON.parse(b.toString('latin1', 8, 8 + n)), data: b.subarray(8 + n) };
}

describe('train', { skip: noData }, () => {
    test('train --arch seednet --limit 2000 --epochs 1 --json: one epoch line, weights with metadata', () => {
        const out = path.join(tmp, 'small.safetensors');
        const r = run(['train', '--arch', 'seednet', '--limit', '2000', '--epochs', '1', '--json', '--out', out]);
        assert.equal(r.status, 0, r.stderr);
        const [e, ...rest] = parseLines(r.stdout);
        assert.equal(rest.length, 0);
        assert.deepEqual(Object.keys(e), ['epoch', 'train_s', 'images_per_s', 'loss', 'test_acc']);
        assert.equal(e.epoch, 1);
        assert.ok(e.train_s > 0 && e.images_per_s > 0);
        assert.ok(Math.abs(e.images_per_s * e.train_s - 2000) < 20, 'images/s x seconds = 2000');
        assert.ok(Number.isFinite(e.loss) && e.loss > 0 && e.loss < 2.1, `loss ${e.loss}`);
        assert.ok(e.test_acc > 0.6 && e.test_acc <= 1, `test accuracy ${e.test_acc}`);
        // Not a terminal: plain progress lines, then the epoch summary.
        assert.ok(!r.stderr.includes('\r'));
        assert.match(r.stderr, /epoch 1\/1 +100% .* img\/s +loss [\d.]+ +ETA/);

        const { header } = readSafetensors(out);
        assert.deepEqual(header['conv.weight'].shape, [12, 1, 5, 5]);
        assert.deepEqual(header['fc.weight'].shape, [10, 1728]);
        const m = header.__metadata__;
        assert.equal(m.format, 'digitlens v2');
        // the file describes its network
        assert.deepEqual(JSON.parse(m.architecture), [['conv', 'conv', 12, 5], ['relu', 'relu'],
            ['maxpool', 'pool', 2], ['flatten', 'flatten'], ['dense', 'fc', 10]]);
        assert.equal(m.cam_layer, 'relu');
        assert.equal(Number(m.test_accuracy).toFixed(4), e.test_acc.toFixed(4));
        assert.equal(m.epochs, '1');
        assert.equal(m.train_images, '2000');
        for (const k of ['seed', 'batch', 'lr', 'optimizer', 'augmentation', 'threads', 'train_seconds'])
            assert.ok(m[k], `metadata ${k}`);
        assert.match(m.augmentation, /shift .* rotation .* scale/);
        assert.match(m.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.ok(!fs.existsSync(`${out}.ckpt`), 'checkpoint removed after success');

        // The new weights classify.
        const c = run(['classify', '--weights', out, '--json', '--limit', '10', T10K]);
        assert.equal(c.status, 0, c.stderr);
        assert.equal(parseLines(c.stdout).length, 10);
    });

    test('train (the default, --arch twoconv): the two-conv network, described in its file, classified and explained at 10x10', () => {
        const out = path.join(tmp, 'twoconv.safetensors');
        const r = run(['train', '--limit', '2000', '--epochs', '1', '--json', '--out', out]);
        assert.equal(r.status, 0, r.stderr);
        const [e] = parseLines(r.stdout);
        assert.ok(e.loss < 2.1 && e.test_acc > 0.6, `loss ${e.loss}, test accuracy ${e.test_acc}`);
        const { header } = readSafetensors(out);
        assert.deepEqual(header['conv1.weight'].shape, [16, 1, 5, 5]);
        assert.deepEqual(header['conv2.weight'].shape, [32, 16, 3, 3]);
        assert.deepEqual(header['fc.weight'].shape, [10, 800]);
        assert.equal(header.__metadata__.cam_layer, 'relu2');
        assert.equal(JSON.parse(header.__metadata__.architecture).length, 8);
        const x = run(['explain', '--weights', out, '--json', '--class', 'all', '--index', '0', T10K]);
        assert.equal(x.status, 0, x.stderr);
        const o = JSON.parse(x.stdout);
        assert.equal(o.side, 10);
        assert.deepEqual(o.grid, { side: 10, off: 4.5, stride: 2 });
        assert.equal(o.maps['3'].length, 10);
        assert.equal(o.placed['3'].length, 28);
        assert.equal(o.placed['3'].flat().length, 784);
        assert.match(run(['train', '--arch', 'lenet']).stderr, /--arch: 'lenet' is not seednet or twoconv/);
    });

    test('an interrupted run resumed from its checkpoint gives the same weights', async () => {
        const args = ['--limit', '1000', '--epochs', '2', '--seed', '7', '--threads', '2', '--json'];
        const whole = path.join(tmp, 'whole.safetensors');
        assert.equal(run(['train', ...args, '--out', whole]).status, 0);

        // Kill after the first epoch's line: its checkpoint is on disk.
        const cut = path.join(tmp, 'cut.safetensors');
        await new Promise((resolve, reject) => {
            const p = spawn(BIN, ['train', ...args, '--out', cut], { cwd: ROOT });
            let out = '';
            p.stdout.on('data', (d) => {
                out += d;
                if (out.includes('\n')) p.kill('SIGKILL');
            });
            p.on('error', reject);
            p.on('exit', resolve);
        });
        assert.ok(fs.existsSync(`${cut}.ckpt`), 'checkpoint after epoch 1');
        assert.ok(!fs.existsSync(cut));
        const other = run(['train', ...args, '--epochs', '3', '--out', cut, '--resume']);
        assertBadInput(other, `${cut}.ckpt`, /written with epochs '2', this run has '3'/);
        const r = run(['train', ...args, '--out', cut, '--resume']);
        assert.equal(r.status, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.deepEqual(lines.map((l) => l.epoch), [2]);
        const a = readSafetensors(whole), b = readSafetensors(cut);
        assert.ok(a.data.equals(b.data), 'resumed weights equal the uninterrupted run');
        assert.equal(a.header.__metadata__.test_accuracy, b.header.__metadata__.test_accuracy);
    });
});
