// isa.js — the AVX-512 instructions in a native binary, read from its
// disassembly: what valgrind 3.19 (Debian 12) cannot decode. A binary built
// with -march=native on an AVX-512 machine is full of them, and valgrind
// then stops with SIGILL; the Makefile builds for the x86-64 baseline.
//
// An AVX-512 instruction is EVEX-encoded: its first byte after any legacy
// prefix is 0x62 (in 64-bit mode 0x62 is nothing else), and it may name
// %zmm registers, the mask registers %k0-%k7 or an embedded broadcast
// ({1to8}). The byte test also finds the ones that use only %xmm/%ymm.
import { spawnSync } from 'node:child_process';

const LEGACY_PREFIX = new Set(['f0', 'f2', 'f3', '2e', '36', '3e', '26', '64', '65', '66', '67']);
const LINE = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(.*)$/;

/** Every AVX-512 instruction of `file`: [{ addr, bytes, text, fn }]. Throws if objdump fails. */
export function avx512Instructions(file) {
  const r = spawnSync('objdump', ['-d', '--insn-width=16', file],
    { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw new Error(`objdump: ${r.error.message} (Debian package binutils)`);
  if (r.status !== 0) throw new Error(`objdump -d ${file} failed: ${r.stderr.trim()}`);
  const found = [];
  let fn = '?';
  for (const line of r.stdout.split('\n')) {
    const head = line.match(/^[0-9a-f]+ <(.+)>:$/);
    if (head) { fn = head[1]; continue; }
    const m = line.match(LINE);
    if (!m) continue;
    const bytes = m[2].trim().split(' ');
    let i = 0;
    while (i < bytes.length && LEGACY_PREFIX.has(bytes[i])) i++;
    const text = m[3].trim();
    if (bytes[i] === '62' || /%zmm|%k[0-7]\b|\{1to\d+\}/.test(text)) {
      found.push({ addr: m[1], bytes: m[2].trim(), text, fn });
    }
  }
  return found;
}

/** One line for an assertion message: how many, where, and what to do. */
export function describeAvx512(file, found) {
  const first = found.slice(0, 3).map((x) => `${x.text} in ${x.fn}`).join('; ');
  return `${file} holds ${found.length} AVX-512 instruction(s) (${first}), which valgrind 3.19 cannot ` +
    'decode and CPUs without AVX-512 cannot run: it was built for the build machine\'s CPU (-march=native?). ' +
    'Rebuild with the Makefile\'s flags: make clean && make native';
}
