// serve.test.js — tools/serve.mjs, the static server of `make demo` and the
// browser tests: MIME types, the security headers on every answer, what it
// refuses (paths outside its directory, methods other than GET/HEAD), 304s,
// and its errors at start-up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { CSP } from '../../tools/serve.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVE = path.join(ROOT, 'tools', 'serve.mjs');
let tmp, server, origin;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-serve-'));
  const dir = path.join(tmp, 'site');
  fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><p>home</p>\n');
  fs.writeFileSync(path.join(dir, 'results', 'index.html'), '<p>results</p>\n');
  fs.writeFileSync(path.join(dir, 'm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  fs.writeFileSync(path.join(dir, 'w.safetensors'), Buffer.alloc(100, 7));
  fs.writeFileSync(path.join(dir, 'a.js'), 'export {};\n');
  fs.writeFileSync(path.join(dir, 'net.c'), 'int x;\n');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside\n');
  server = spawn(process.execPath, [SERVE, dir, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  origin = await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => resolve(String(d).split('\n')[0].replace(/\/$/, '')));
    server.on('exit', (code) => reject(new Error(`serve.mjs exited (${code})`)));
  });
});

after(() => {
  server?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// a raw request (fetch normalises "..", and will not send it as is)
const get = (pathname, { method = 'GET', headers = {} } = {}) => new Promise((resolve, reject) => {
  const req = http.request(origin + '/', { method, path: pathname, headers }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
  });
  req.on('error', reject);
  req.end();
});

test('files get their MIME type, their length and the security headers', async () => {
  const want = { '/': 'text/html; charset=utf-8', '/m.wasm': 'application/wasm',
    '/w.safetensors': 'application/octet-stream', '/a.js': 'text/javascript; charset=utf-8',
    '/net.c': 'text/plain; charset=utf-8' };
  for (const [p, type] of Object.entries(want)) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], type, p);
    assert.equal(Number(r.headers['content-length']), r.body.length, p);
    assert.equal(r.headers['content-security-policy'], CSP, p);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
  }
  assert.deepEqual([...(await get('/m.wasm')).body], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  assert.match(CSP, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.doesNotMatch(CSP, /'unsafe-inline'|'unsafe-eval'/);
});

test('a directory: redirected to its slash, then its index.html', async () => {
  const r = await get('/results');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/results/');
  const r2 = await get('/results/');
  assert.equal(r2.status, 200);
  assert.equal(String(r2.body), '<p>results</p>\n');
});

test('nothing outside the directory, no listing, no other method', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/nope.js', '/a.js%00.html']) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(String(r.body), /outside/, p);
    assert.equal(r.headers['content-security-policy'], CSP, p);
  }
  const post = await get('/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  assert.equal((await get('/%E0%A4%A')).status, 400);
});

test('HEAD has the length and no body; If-Modified-Since gets a 304', async () => {
  const h = await get('/w.safetensors', { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], '100');
  assert.equal(h.body.length, 0);
  const first = await get('/a.js');
  const again = await get('/a.js', { headers: { 'If-Modified-Since': first.headers['last-modified'] } });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const old = await get('/a.js', { headers: { 'If-Modified-Since': new Date(0).toUTCString() } });
  assert.equal(old.status, 200);
});

test('start-up errors: one line, exit 2', () => {
  for (const [args, msg] of [[[tmp, 'x'], /^serve: bad port x$/], [[path.join(tmp, 'none')], /not a directory$/]]) {
    const r = spawnSync(process.execPath, [SERVE, ...args], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), msg);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
