// safetensors.js — a safetensors file made in a test: {name: [shape,
// Float32Array]} and optional metadata -> the bytes (an 8-byte little-endian
// header length, the JSON header padded with spaces to a multiple of 8, the
// F32 data in the order given).
export function safetensors(tensors, metadata) {
  const head = metadata ? { __metadata__: metadata } : {}, parts = [];
  let off = 0;
  for (const [name, [shape, data]] of Object.entries(tensors)) {
    head[name] = { dtype: 'F32', shape, data_offsets: [off, off + data.byteLength] };
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    off += data.byteLength;
  }
  let json = JSON.stringify(head);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
