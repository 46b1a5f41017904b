// page.js — the demo page's own part, beside the <digit-lens> element: the
// network switch (the pad's network: two-conv, the default, or the seed
// network) and the compare view (both networks' Grad-CAM of the same
// drawing, side by side, live while drawing). Not part of the widget: a
// blog that embeds <digit-lens> never loads it. The seed network's weights
// are fetched only when a visitor first switches to it or opens the view
// (once: the loader fetches each file once a page, for the element and for
// this script alike).
import { load } from './digit-lens.min.js';

const el = document.querySelector('digit-lens');
const $ = (s) => document.querySelector(s);
const DEFAULT = 'twoconv';
const NETS = {
  twoconv: { weights: 'twoconv.safetensors', name: 'two-conv' },
  seednet: { weights: 'seednet.safetensors', name: 'seed' },
};
// The heatmap is coloured at HEAT x HEAT (4 pixels per input pixel, as the
// element's overlay) and drawn scaled onto each canvas: at a 3x screen's
// 504 pixels it cost 8-14 ms a network, a frame's worth while drawing.
const HEAT = 112;

// One Lens per network (the small module, compiled once), made when first
// needed. A failure is kept (not fetched again on every frame drawn) until
// the visitor asks again: choosing that network, opening the view.
const lenses = {};
function lensOf(key, retry = false) {
  let n = lenses[key];
  if (n?.error && retry) n = null;
  if (!n) {
    n = lenses[key] = { lens: null, error: null };
    n.promise = load({ weights: NETS[key].weights, methods: 'gradcam' })
      .then((lens) => (n.lens = lens), (e) => { n.error = e; throw e; });
  }
  return n.promise;
}

// ---- the network switch: the element loads the other file. Weights that
// cannot be used leave the network in use, and say why under the switch.
const radios = [...document.querySelectorAll('input[name=net]')];
const netMsg = $('#net-msg');
let inUse = DEFAULT, asked = DEFAULT;

async function use(key) {
  asked = key;
  netMsg.textContent = '';
  if (key !== DEFAULT) {
    try {
      await lensOf(key, true); // its weights, checked (the element gets the same bytes)
    } catch (e) {
      if (asked !== key) return;
      asked = inUse;
      for (const r of radios) r.checked = r.value === inUse;
      netMsg.textContent = `Could not load the ${NETS[key].name} network (${e.message}); ` +
        `the ${NETS[inUse].name} network is still in use.`;
      schedule();
      return;
    }
    if (asked !== key) return; // another choice came meanwhile
  }
  inUse = key;
  if (key === DEFAULT) el.removeAttribute('weights');
  else el.setAttribute('weights', NETS[key].weights);
}

for (const r of radios) r.addEventListener('change', () => { if (r.checked) use(r.value); });
// (a reload may restore the visitor's choice: the element starts with the default)
const restored = radios.find((r) => r.checked)?.value;
if (restored && restored !== DEFAULT) use(restored);

// ---- the compare view: the 28x28 input the pad made, in gray, and over it
// each network's Grad-CAM of the class the pad reads, on the map's own
// scale. The element fires `result` on every frame of a stroke: the view is
// painted after that frame (a task of its own), once for the latest result.
const view = $('#compare');
const gray = document.createElement('canvas');
gray.width = gray.height = 28;
const grayCtx = gray.getContext('2d'), grayImg = grayCtx.createImageData(28, 28);
const heat = document.createElement('canvas');
heat.width = heat.height = HEAT;
const heatCtx = heat.getContext('2d'), heatImg = heatCtx.createImageData(HEAT, HEAT);
const shown = {}; // per network: the last explain() result, refilled

let queued = false;
function schedule() {
  if (!view.open || queued) return;
  queued = true;
  setTimeout(() => { queued = false; paintAll(); });
}

function paintAll() {
  if (!view.open) return;
  const result = el.result;
  if (result) {
    const d = grayImg.data;
    for (let i = 0; i < 784; i++) {
      const v = Math.round(result.input[i] * 255);
      d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = v;
      d[4 * i + 3] = 255;
    }
    grayCtx.putImageData(grayImg, 0, 0);
  }
  for (const key of Object.keys(NETS)) paint(key, result);
}

function paint(key, result) {
  const canvas = $(`#cmp-${key}`), says = $(`#cmp-${key}-says`), n = lenses[key];
  // the canvas at the screen's pixels, a multiple of 28 (each input pixel a whole square)
  const dpr = Math.min(3, Math.max(1, devicePixelRatio || 1));
  const px = 28 * Math.max(1, Math.ceil(((canvas.clientWidth || 168) * dpr) / 28));
  if (canvas.width !== px) canvas.width = canvas.height = px;
  const ctx = canvas.getContext('2d');
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, px, px);
  if (n?.error) { says.textContent = `could not load: ${n.error.message}`; return; }
  if (!result) { says.textContent = 'draw a digit on the pad'; return; }
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(gray, 0, 0, px, px);
  if (!n?.lens) { says.textContent = 'loading…'; return; }
  const cls = result.digit;
  const r = (shown[key] = n.lens.explain(result.input, { classes: cls, into: shown[key] }));
  const lit = r.maps[cls].some((v) => v > 0);
  says.textContent = `reads ${r.digit} (${(100 * r.probs[r.digit]).toFixed(1)}%)\n` +
    (lit ? `Grad-CAM of ${cls}` : `no positive Grad-CAM evidence for ${cls}`);
  if (!lit) return;
  n.lens.heatmap(r.maps, cls, { width: HEAT, alpha: true, into: heatImg.data });
  heatCtx.putImageData(heatImg, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.globalAlpha = 0.8;
  ctx.drawImage(heat, 0, 0, px, px);
  ctx.globalAlpha = 1;
}

el.addEventListener('result', schedule);
view.addEventListener('toggle', () => {
  if (!view.open) return;
  for (const key of Object.keys(NETS)) lensOf(key, true).then(schedule, schedule);
  schedule();
});
