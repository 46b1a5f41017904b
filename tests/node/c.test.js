// Runs the cmocka binaries (build/test_*) under node's test runner, one
// subtest per C test case, so a single summary counts every test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const suites = ['net', 'gradcam', 'io', 'preprocess', 'train', 'methods', 'tune'];

for (const name of suites) {
  const bin = path.join(root, 'build', `test_${name}`);
  test(`C: test_${name}`, async (t) => {
    assert.ok(existsSync(bin), `${bin} is missing: run make native`);
    const r = spawnSync(bin, [], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    const cases = [...r.stdout.matchAll(/^\[ RUN      \] (\S+)$/gm)].map((m) => m[1]);
    assert.ok(cases.length > 0, `test_${name} ran no test case:\n${out}`);
    for (const c of cases) {
      await t.test(c, () => {
        const ok = new RegExp(`^\\[       OK \\] ${c}$`, 'm').test(r.stdout);
        if (!ok) {
          // cmocka prints a failure's message just before its FAILED line
          const lines = out.split('\n').filter((l) => /ERROR|error|Failure|FAILED/.test(l));
          assert.fail(`${c} failed:\n${lines.join('\n')}`);
        }
      });
    }
    assert.equal(r.status, 0, `test_${name} exited with ${r.status} (signal ${r.signal})`);
  });
}
