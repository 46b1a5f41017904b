// An engine without WebAssembly SIMD, for the tests: V8 (Node 20, Chromium)
// has no switch to turn SIMD off, so withoutSimd() wraps the WebAssembly API
// and refuses every module that uses SIMD, as such an engine's validator
// does: WebAssembly.validate says false, and compile, compileStreaming,
// instantiate, instantiateStreaming and new WebAssembly.Module throw a
// CompileError. A module uses SIMD when it declares a v128 value (in a
// function type, a global, a local, a block or a select) or holds an
// instruction of the 0xfd prefix; the code is read instruction by instruction
// (MVP, sign extension, the 0xfc prefix), so an 0xfd byte inside an immediate
// is not taken for one. Self-contained: Playwright's addInitScript runs it in
// a page from its source text. What it refused is counted in
// globalThis[Symbol.for('digitlens-nosimd')].
export function withoutSimd() {
  const V128 = 0x7b, VALTYPES = [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f];
  function usesSimd(b) {
    let p = 8;
    const u32 = () => {
      let r = 0, s = 0, x;
      do { x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
      return r;
    };
    const leb = () => { while (b[p++] & 0x80); };
    const valtype = () => b[p++] === V128;
    // one expression, to its last `end`; true at the first SIMD instruction or type
    function code(end) {
      for (let depth = 0; p < end;) {
        const op = b[p++];
        if (op === 0xfd) return true;
        if (op === 0x0b && depth-- === 0) return false;
        if (op >= 0x02 && op <= 0x04) { // block, loop, if: a block type
          depth++;
          if (b[p] === 0x40 || VALTYPES.includes(b[p])) { if (valtype()) return true; } else leb();
        } else if (op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12 || op === 0xd2 ||
                   (op >= 0x20 && op <= 0x26)) u32();
        else if (op === 0x0e) { for (let n = u32() + 1; n--;) u32(); }
        else if (op === 0x11 || op === 0x13 || (op >= 0x28 && op <= 0x3e)) { u32(); u32(); }
        else if (op === 0x1c) { for (let n = u32(); n--;) if (valtype()) return true; }
        else if (op === 0x3f || op === 0x40 || op === 0xd0) p++;
        else if (op === 0x41 || op === 0x42) leb();
        else if (op === 0x43) p += 4;
        else if (op === 0x44) p += 8;
        else if (op === 0xfc) {
          const sub = u32();
          if (sub === 8) { u32(); p++; } else if (sub === 10) p += 2; else if (sub === 11) p++;
          else if (sub === 12 || sub === 14) { u32(); u32(); } else if (sub === 9 || sub === 13 || sub >= 15) u32();
        }
      }
      return false;
    }
    while (p < b.length) {
      const id = b[p++], size = u32(), end = p + size;
      if (id === 1) { // types: 0x60, params, results
        for (let n = u32(); n--;) { p++; for (let k = 0; k < 2; k++) for (let m = u32(); m--;) if (valtype()) return true; }
      } else if (id === 6) { // globals: a type, mutability, an initialiser
        for (let n = u32(); n--;) { if (valtype()) return true; p++; if (code(end)) return true; }
      } else if (id === 10) { // code: locals, then the body
        for (let n = u32(); n--;) {
          const bodyEnd = u32() + p;
          for (let m = u32(); m--;) { u32(); if (valtype()) return true; }
          if (code(bodyEnd)) return true;
          if (p !== bodyEnd) throw new Error(`withoutSimd: misread a function body (at byte ${p}, not ${bodyEnd})`);
        }
      }
      p = end;
    }
    return false;
  }

  const W = WebAssembly, { validate, compile, instantiate, Module } = W;
  const seen = (globalThis[Symbol.for('digitlens-nosimd')] = { refused: 0, compiled: 0 });
  const bytesOf = (src) => (src instanceof ArrayBuffer ? new Uint8Array(src)
    : ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : null);
  const refuses = (src) => {
    const b = bytesOf(src);
    if (b && usesSimd(b)) { seen.refused++; return true; }
    return false;
  };
  const error = () => new W.CompileError('WebAssembly.Module(): SIMD is not supported by this engine');
  W.validate = (src) => !refuses(src) && validate.call(W, src);
  W.compile = async (src) => {
    if (refuses(src)) throw error();
    seen.compiled++;
    return compile.call(W, src);
  };
  W.instantiate = async (src, imports) => {
    if (src instanceof Module) return instantiate.call(W, src, imports);
    if (refuses(src)) throw error();
    seen.compiled++;
    return instantiate.call(W, src, imports);
  };
  if (W.compileStreaming) W.compileStreaming = async (res) => W.compile(await (await res).arrayBuffer());
  if (W.instantiateStreaming) W.instantiateStreaming = async (res, imports) => W.instantiate(await (await res).arrayBuffer(), imports);
  W.Module = new Proxy(Module, {
    construct(target, args, newTarget) {
      if (refuses(args[0])) throw error();
      return Reflect.construct(target, args, newTarget);
    },
  });
  return usesSimd;
}
