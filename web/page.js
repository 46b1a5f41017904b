// page.js — the demo page's own part, beside the <digit-lens> element: the
// network switch (the pad's network: two-conv, the default, or the seed
// network) and the compare view (both networks' Grad-CAM of the same
// drawing, side by side, live while drawing). Not part of the widget: a
// blog that embeds <digit-lens> never loads it. The seed network's weights
// are fetched only when a visitor first switches to it or opens the view.
import { load } from './digit-lens.min.js';

const el = document.querySelector('digit-lens');
const $ = (s) => document.querySelector(s);
const NETS = {
  twoconv: { weights: 'twoconv.safetensors', name: 'two-conv' },
  seednet: { weights: 'seednet.safetensors', name: 'seed' },
};
const SIDE = 168; // CSS pixels of each compare canvas (28 x 6)

// The network switch: the element loads the other file (each fetched once).
for (const r of document.querySelectorAll('input[name=net]')) {
  r.addEventListener('change', () => {
    if (!r.checked) return;
    if (r.value === 'twoconv') el.removeAttribute('weights');
    else el.setAttribute('weights', NETS[r.value].weights);
  });
}

// The compare view: a Lens per network (the small module, compiled once),
// made when the view is first opened.
const view = $('#compare');
let lenses = null, pending = 0;

async function lensesOnce() {
  lenses ??= Promise.all(Object.entries(NETS).map(async ([key, n]) => [key, await load({ weights: n.weights, methods: 'gradcam' })]))
    .then((l) => Object.fromEntries(l));
  return lenses;
}

// The 28x28 input in gray, the map of cls over it (alpha = the map's value).
function paint(canvas, lens, input, cls) {
  const dpr = Math.min(3, Math.max(1, devicePixelRatio || 1)), px = Math.round(SIDE * dpr);
  if (canvas.width !== px) canvas.width = canvas.height = px;
  const ctx = canvas.getContext('2d'), gray = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(input[i] * 255);
    gray.data.set([v, v, v, 255], 4 * i);
  }
  const r = lens.explain(input, { classes: 'all' });
  const heat = lens.heatmap(r.maps, cls, { width: px, alpha: true });
  const g = new OffscreenCanvas(28, 28);
  g.getContext('2d').putImageData(gray, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(g, 0, 0, px, px);
  const h = new OffscreenCanvas(px, px);
  h.getContext('2d').putImageData(new ImageData(heat.data, px, px), 0, 0);
  ctx.globalAlpha = 0.8;
  ctx.drawImage(h, 0, 0);
  ctx.globalAlpha = 1;
  return r;
}

async function update() {
  const result = el.result;
  if (!view.open || !result) return;
  const ticket = ++pending, l = await lensesOnce();
  if (ticket !== pending || !el.result) return; // a newer drawing came meanwhile
  const { input, digit } = el.result;
  for (const key of Object.keys(NETS)) {
    const r = paint($(`#cmp-${key}`), l[key], input, digit);
    const map = r.maps[digit], lit = map.some((v) => v > 0);
    $(`#cmp-${key}-says`).textContent = `reads ${r.digit} (${(100 * r.probs[r.digit]).toFixed(1)}%); ` +
      (lit ? `map of ${digit}` : `no positive evidence for ${digit}`);
  }
}

el.addEventListener('result', update);
view.addEventListener('toggle', update);
