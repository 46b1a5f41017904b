// pad.js — the drawing pad of <digit-lens>, alone, with a pen width to set:
// render.mjs drags the pointer over it, then reads the 28x28 input the
// element would give the network. What is copied from web/digit-lens.js
// (keep in step with it): the pad is black, ink white, round caps and joins;
// a pointerdown paints a dot, each pointermove the segments to its points
// (getCoalescedEvents: every point the pointer reported); the strokes are
// kept and redrawn whole (#redraw, as after Undo); the pad is read
// through a READ x READ canvas (imageSmoothingQuality 'medium') and given
// to lens.preprocess. The element's pad is 280 CSS pixels by default, its
// pen 1/14 of the pad: here the pen is set per drawing.
import { load } from '/web/digitlens.js';

const SIZE = 280, READ = 140;
const pad = document.querySelector('canvas');
pad.width = pad.height = SIZE;
const ctx = pad.getContext('2d', { willReadFrequently: true });
const read = document.createElement('canvas');
read.width = read.height = READ;
const readCtx = read.getContext('2d', { willReadFrequently: true });
readCtx.imageSmoothingQuality = 'medium';

let pen = 1 / 14, stroke = null, strokes = [];

const point = (e) => {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
};

// web/digit-lens.js #paint, with lineWidth side * pen (there: side / 14)
function paint(s, from) {
  const side = pad.width;
  ctx.strokeStyle = '#fff';
  ctx.fillStyle = '#fff';
  ctx.lineWidth = side * pen;
  ctx.lineCap = ctx.lineJoin = 'round';
  if (s.length === 1) {
    ctx.beginPath();
    ctx.arc(s[0][0] * side, s[0][1] * side, (side * pen) / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(s[from][0] * side, s[from][1] * side);
  for (let i = from + 1; i < s.length; i++) ctx.lineTo(s[i][0] * side, s[i][1] * side);
  ctx.stroke();
}

pad.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 && e.pointerType === 'mouse') return;
  e.preventDefault();
  pad.setPointerCapture?.(e.pointerId);
  stroke = [point(e)];
  strokes.push(stroke);
  paint(stroke, 0);
});
pad.addEventListener('pointermove', (e) => {
  if (!stroke) return;
  e.preventDefault();
  const from = stroke.length - 1, evs = e.getCoalescedEvents?.();
  for (const ev of evs?.length ? evs : [e]) stroke.push(point(ev));
  paint(stroke, from);
});
const up = () => { stroke = null; };
pad.addEventListener('pointerup', up);
pad.addEventListener('pointercancel', up);

// (the weights do not matter to preprocessing; load() wants some)
const ready = load({ methods: 'gradcam', weights: '/web/seednet.safetensors' });

// web/digit-lens.js #redraw (no sample digit here)
function redraw() {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  for (const s of strokes) paint(s, 0);
}

globalThis.drawnPad = {
  ready: ready.then(() => true),
  /** A blank pad and a pen `width` (fraction of the pad) for the next drawing. */
  clear(width) {
    pen = width;
    strokes = [];
    redraw();
  },
  /** The network's 28x28 input for the strokes on the pad, as bytes (0..255,
   * rounded), and the strokes as the pad received them (pad units).
   * The pad is redrawn from its strokes first: painted live, one path per
   * pointermove, its anti-aliased edges where two moves' segments meet
   * depend on how Chromium grouped the moves into frames, which varies
   * from run to run; redrawn, one path per stroke, they do not. */
  async read() {
    const lens = await ready;
    redraw();
    readCtx.drawImage(pad, 0, 0, READ, READ);
    const x = lens.preprocess(readCtx.getImageData(0, 0, READ, READ));
    return { pixels: Array.from(x, (v) => Math.round(v * 255)), strokes };
  },
};
