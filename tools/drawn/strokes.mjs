// strokes.mjs — seeded pen strokes of handwritten digits that do not come
// from MNIST: what render.mjs plays as pointer drags on a canvas.
//
//   import { plan, SEED } from './strokes.mjs';
//   const drawings = plan('drawn', { seed: SEED });   // or 'writer'
//   // drawings[i] = { index, label, set, style, template, rare, pen, params,
//   //                 strokes: [[[x, y], ...], ...] }   x, y in 0..1 of the pad
//
// A drawing is a template (one way of writing a digit, as pen paths in a unit
// box, strokes in the order and direction a person draws them) changed by
// seeded random draws: a smooth wobble of the shape, aspect, slant (shear),
// rotation, size and position on the pad, pen width, and the pen's speed
// along each stroke (the pointer reports a point per event: fast parts of a
// stroke give few, far-apart points, so curves come out polygonal there), plus
// hand tremor on every point. Image i depends only on (seed, set, i).
//
// Sets (label of image i: i % 10, so the first 10 k images hold k per class):
//   drawn   110 per class, in blocks of ten of one sub-style (STYLES; the
//           'variant' style, the rare ways of writing, has two blocks)
//   writer  30 per class, one person's hand (WRITER): heavy slant, thick pen,
//           crossed 7, flagged 1, open 4, small loops

/** The committed seed: `make drawn` builds the sets from it. */
export const SEED = 20261207;

// ---- pen paths in a unit box (x right, y down, a digit spans y 0..1) ----

const STEP = 8; // points per curve piece between two given points

/** Straight segments through the points. */
const line = (...pts) => pts;

/** A smooth curve through the points (Catmull-Rom, uniform). */
function curve(...p) {
  const out = [p[0]];
  for (let i = 0; i + 1 < p.length; i++) {
    const a = p[Math.max(0, i - 1)], b = p[i], c = p[i + 1], d = p[Math.min(p.length - 1, i + 2)];
    for (let k = 1; k <= STEP; k++) {
      const t = k / STEP, t2 = t * t, t3 = t2 * t;
      out.push([0, 1].map((j) => 0.5 * (2 * b[j] + (c[j] - a[j]) * t
        + (2 * a[j] - 5 * b[j] + 4 * c[j] - d[j]) * t2 + (3 * b[j] - a[j] - 3 * c[j] + d[j]) * t3)));
    }
  }
  return out;
}

/** An elliptic arc, angles in degrees from +x, increasing clockwise on screen. */
function arc(cx, cy, rx, ry, from, to) {
  const n = Math.max(2, Math.ceil(Math.abs(to - from) / 6));
  return Array.from({ length: n + 1 }, (_, k) => {
    const a = ((from + (to - from) * k / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
  });
}

/** One stroke from pieces drawn one after the other (a corner where they meet). */
const S = (...pieces) => pieces.flat().filter((p, i, all) =>
  i === 0 || p[0] !== all[i - 1][0] || p[1] !== all[i - 1][1]);

// Each template: strokes in drawing order, each in the direction a pen goes.
// rare: a way of writing the digit that MNIST has few of (judged by eye
// from its test digits, not counted); the drawn set's 'variant' style draws
// only these, its other styles only the others.
const TOP2 = [[0.22, 0.28], [0.3, 0.08], [0.52, 0.0], [0.74, 0.1], [0.78, 0.3], [0.62, 0.55]];
const BELLY5 = [[0.26, 0.46], [0.5, 0.37], [0.76, 0.5], [0.8, 0.74], [0.58, 0.97], [0.2, 0.9]];
const HEAD9 = [[0.74, 0.22], [0.58, 0.03], [0.35, 0.05], [0.24, 0.25], [0.38, 0.44], [0.62, 0.42], [0.74, 0.22]];
export const TEMPLATES = {
  0: {
    ccw: { strokes: [arc(0.5, 0.5, 0.3, 0.5, -80, -445)] },
    cw: { strokes: [arc(0.5, 0.5, 0.3, 0.5, -100, 265)] },
    open: { strokes: [arc(0.5, 0.5, 0.3, 0.5, -70, -400)] },
    narrow: { strokes: [arc(0.5, 0.5, 0.17, 0.5, -80, -440)] },
    curl: { rare: true, strokes: [S(arc(0.5, 0.5, 0.3, 0.5, -80, -440), curve([0.552, 0.008], [0.62, 0.1], [0.54, 0.2]))] },
    slashed: { rare: true, strokes: [arc(0.5, 0.5, 0.3, 0.5, -80, -445), line([0.72, 0.1], [0.28, 0.9])] },
  },
  1: {
    bare: { strokes: [line([0.53, 0], [0.47, 1])] },
    flag: { rare: true, strokes: [line([0.3, 0.24], [0.56, 0], [0.5, 1])] },
    base: { rare: true, strokes: [line([0.3, 0.24], [0.56, 0], [0.5, 1]), line([0.24, 1], [0.78, 1])] },
  },
  2: {
    plain: { strokes: [S(curve(...TOP2, [0.4, 0.78], [0.2, 0.98]), line([0.2, 0.98], [0.86, 0.97]))] },
    loop: { rare: true, strokes: [curve(...TOP2, [0.4, 0.8], [0.25, 0.93], [0.15, 0.93],
      [0.17, 0.83], [0.28, 0.83], [0.4, 0.94], [0.6, 0.99], [0.86, 0.96])] },
  },
  3: {
    round: { strokes: [S(curve([0.22, 0.15], [0.45, 0.01], [0.72, 0.08], [0.74, 0.3], [0.52, 0.45], [0.4, 0.47]),
      curve([0.4, 0.47], [0.6, 0.49], [0.8, 0.64], [0.76, 0.88], [0.5, 1], [0.2, 0.9]))] },
    flattop: { rare: true, strokes: [S(line([0.2, 0.03], [0.78, 0.03], [0.44, 0.4]),
      curve([0.44, 0.4], [0.7, 0.48], [0.8, 0.72], [0.66, 0.95], [0.4, 1], [0.18, 0.88]))] },
  },
  4: {
    closed: { strokes: [line([0.62, 0], [0.14, 0.68], [0.88, 0.68]), line([0.64, 0.04], [0.64, 1])] },
    open: { rare: true, strokes: [line([0.24, 0], [0.18, 0.6], [0.86, 0.6]), line([0.7, 0.12], [0.7, 1])] },
  },
  5: {
    classic: { strokes: [S(line([0.3, 0.03], [0.26, 0.46]), curve(...BELLY5)), line([0.3, 0.03], [0.8, 0.02])] },
    onestroke: { rare: true, strokes: [S(line([0.8, 0.02], [0.3, 0.03], [0.26, 0.46]), curve(...BELLY5))] },
  },
  6: {
    straight: { strokes: [S(line([0.64, 0], [0.28, 0.6]), curve([0.28, 0.6], [0.3, 0.88], [0.5, 1], [0.72, 0.86],
      [0.7, 0.62], [0.48, 0.54], [0.3, 0.64]))] },
    closed: { strokes: [curve([0.7, 0.04], [0.46, 0.1], [0.28, 0.38], [0.22, 0.7], [0.35, 0.96], [0.6, 0.97],
      [0.76, 0.78], [0.62, 0.56], [0.4, 0.57], [0.24, 0.72])] },
    openloop: { rare: true, strokes: [curve([0.7, 0.04], [0.46, 0.1], [0.28, 0.38], [0.22, 0.7], [0.35, 0.96],
      [0.6, 0.97], [0.76, 0.8], [0.66, 0.62])] },
    smallloop: { rare: true, strokes: [curve([0.68, 0.02], [0.45, 0.14], [0.3, 0.45], [0.28, 0.78], [0.4, 0.98],
      [0.58, 0.96], [0.64, 0.84], [0.55, 0.72], [0.38, 0.76], [0.3, 0.86])] },
  },
  7: {
    plain: { strokes: [S(line([0.18, 0.03], [0.82, 0.03]), curve([0.82, 0.03], [0.6, 0.45], [0.44, 1]))] },
    crossed: { rare: true, strokes: [S(line([0.18, 0.03], [0.82, 0.03]), curve([0.82, 0.03], [0.6, 0.45], [0.44, 1])),
      line([0.38, 0.53], [0.8, 0.5])] },
    serif: { rare: true, strokes: [S(line([0.16, 0.17], [0.2, 0.03], [0.82, 0.04]), curve([0.82, 0.04], [0.6, 0.45], [0.44, 1]))] },
  },
  8: {
    onestroke: { strokes: [curve([0.74, 0.14], [0.5, 0.01], [0.27, 0.13], [0.34, 0.35], [0.66, 0.6], [0.73, 0.85],
      [0.5, 1], [0.27, 0.85], [0.34, 0.6], [0.66, 0.35], [0.73, 0.14], [0.6, 0.03])] },
    reverse: { strokes: [curve([0.26, 0.14], [0.5, 0.01], [0.73, 0.13], [0.66, 0.35], [0.34, 0.6], [0.27, 0.85],
      [0.5, 1], [0.73, 0.85], [0.66, 0.6], [0.34, 0.35], [0.27, 0.14], [0.4, 0.03])] },
    circles: { rare: true, strokes: [arc(0.5, 0.24, 0.22, 0.24, -90, -450), arc(0.5, 0.73, 0.27, 0.27, -90, -450)] },
  },
  9: {
    straight: { strokes: [S(curve(...HEAD9), line([0.74, 0.22], [0.7, 1]))] },
    curved: { rare: true, strokes: [S(curve(...HEAD9), curve([0.74, 0.22], [0.76, 0.6], [0.68, 0.9], [0.48, 1], [0.3, 0.92]))] },
    openloop: { rare: true, strokes: [curve([0.7, 0.1], [0.5, 0.02], [0.3, 0.1], [0.26, 0.3], [0.45, 0.44], [0.66, 0.38]),
      line([0.75, 0.04], [0.72, 1])] },
    smallhead: { rare: true, strokes: [S(curve([0.7, 0.14], [0.58, 0.02], [0.42, 0.04], [0.38, 0.18], [0.5, 0.3],
      [0.66, 0.27], [0.7, 0.14]), line([0.7, 0.14], [0.62, 1]))] },
  },
};

// ---- the random draws -------------------------------------------------

/** A 32-bit hash of a string (FNV-1a, then a murmur finaliser). */
function hash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: uniform numbers in [0, 1), the same on every JS engine. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.uniform = (lo, hi) => lo + (hi - lo) * next();
  next.pick = (list) => list[Math.floor(next() * list.length)];
  next.sign = () => (next() < 0.5 ? -1 : 1);
  next.normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return next;
}

// A style: ranges [lo, hi] of each draw (a number: always that value).
//   pen     line width, fraction of the pad (the page's pad: 1/14 = 0.071)
//   height  the digit's height before rotation, fraction of the pad
//   aspect  width multiplier; slant: shear (x += slant * height above the
//   centre; 0.5 is 27 degrees), negative: leaning left; rot: degrees
//   off     distance of the digit's centre from the pad's, fraction of the
//           room it has to that side (1: touching the margin)
//   wobble  smooth deformation of the shape (unit-box units)
//   ends    each stroke starts up to this fraction of its length late, and
//           ends up to it early or late (a loop left open or overshooting)
//   tremor  jitter of every pointer point (fraction of the pad)
//   speed   pad fractions the pen moves per pointer event at full speed
//   templates 'common' (MNIST-like ways of writing), 'rare', or a name per digit
const PLAIN = { pen: [0.055, 0.085], height: [0.5, 0.72], aspect: [0.75, 1.25], slant: [-0.1, 0.25],
  rot: [-8, 8], off: [0, 0.15], wobble: [0.03, 0.055], ends: 0.04, tremor: [0.001, 0.003],
  speed: [0.025, 0.045], templates: 'common' };
export const STYLES = [
  ['plain', {}],
  ['thin', { pen: [0.018, 0.032] }],
  ['thick', { pen: [0.12, 0.16] }],
  ['small', { height: [0.2, 0.3] }],
  ['large', { height: [0.86, 0.92], off: 0 }],
  ['offcentre', { height: [0.32, 0.5], off: [0.75, 1] }],
  ['slanted', { slant: [0.38, 0.6], leanLeft: 0.25 }],
  ['rotated', { rot: [12, 24], rotSign: true }],
  ['shaky', { wobble: [0.07, 0.1], tremor: [0.006, 0.01], speed: [0.05, 0.08] }],
  ['variant', { templates: 'rare' }],
].map(([name, s]) => ({ name, ...PLAIN, ...s }));
// the order of the drawn set's blocks of ten (one per class): the rare
// templates get two blocks, so each has a few drawings
const SLOTS = [...STYLES, STYLES.find((s) => s.name === 'variant')];

// One writer: narrow ranges around one person's habits.
export const WRITER = { ...PLAIN, name: 'writer', pen: [0.105, 0.12], height: [0.55, 0.65], aspect: [0.8, 0.9],
  slant: [0.4, 0.48], rot: [-3, 3], off: [0, 0.1], wobble: [0.015, 0.03], tremor: [0.001, 0.002],
  speed: [0.025, 0.035],
  templates: { 0: 'ccw', 1: 'flag', 2: 'loop', 3: 'round', 4: 'open', 5: 'classic', 6: 'smallloop',
    7: 'crossed', 8: 'onestroke', 9: 'smallhead' } };

export const SETS = { drawn: { perClass: 10 * SLOTS.length }, writer: { perClass: 30 } };

const draw = (r, v) => (Array.isArray(v) ? r.uniform(v[0], v[1]) : v);

function chooseTemplate(r, label, which) {
  const all = Object.entries(TEMPLATES[label]);
  if (typeof which === 'object') return which[label];
  const fit = all.filter(([, t]) => !!t.rare === (which === 'rare'));
  return r.pick(fit.length ? fit : all)[0];
}

// ---- from a template to pointer points ---------------------------------

const bbox = (strokes) => {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const s of strokes) for (const [x, y] of s) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { x0, y0, x1, y1 };
};

/** Points every `d` along a polyline (the end point kept). */
function densify(s, d) {
  const out = [s[0]];
  for (let i = 1; i < s.length; i++) {
    const [ax, ay] = s[i - 1], [bx, by] = s[i], n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / d));
    for (let k = 1; k <= n; k++) out.push([ax + (bx - ax) * k / n, ay + (by - ay) * k / n]);
  }
  return out;
}

// A stroke (dense points) started `late` of its length later, and ended
// `early` of it earlier (negative: later, straight on).
function endsMoved(s, late, early) {
  const n = s.length, cut = (a, k) => a.slice(Math.min(k, a.length - 2));
  let out = cut(s, Math.round(late * n));
  out = cut(out.reverse(), Math.round(Math.max(0, early) * n)).reverse();
  if (early < 0) {
    const [a, b] = [out[out.length - 2], out[out.length - 1]], d = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    let len = 0;
    for (let i = 1; i < n; i++) len += Math.hypot(s[i][0] - s[i - 1][0], s[i][1] - s[i - 1][1]);
    len *= -early;
    out.push([b[0] + ((b[0] - a[0]) / d) * len, b[1] + ((b[1] - a[1]) / d) * len]);
  }
  return out;
}

// A smooth random displacement field: three plane waves per axis.
function wobbleField(r, amp) {
  const waves = [0, 1].map(() => Array.from({ length: 3 }, () => ({
    kx: r.uniform(-5, 5), ky: r.uniform(-5, 5), ph: r.uniform(0, 2 * Math.PI), a: r.uniform(0.3, 1) })));
  const norm = 1 / Math.sqrt(3);
  return ([x, y]) => waves.map((w, j) => [x, y][j]
    + amp * norm * w.reduce((sum, { kx, ky, ph, a }) => sum + a * Math.sin(kx * x + ky * y + ph), 0));
}

// The pen's timing: a bell-shaped speed along each stroke (slow at its ends,
// minimum-jerk profile), slower where the path turns; one pointer event per
// time step, so the points are dense where the pen is slow.
function pointerPoints(s, r, speed, tremor) {
  const d = densify(s, 0.002), n = d.length;
  if (n < 2) return d;
  const len = [0];
  for (let i = 1; i < n; i++) len.push(len[i - 1] + Math.hypot(d[i][0] - d[i - 1][0], d[i][1] - d[i - 1][1]));
  const L = len[n - 1], W = 8; // turning measured over +-8 points (~0.016 of the pad)
  const t = [0];
  for (let i = 1; i < n; i++) {
    const a = d[Math.max(0, i - W)], b = d[i], c = d[Math.min(n - 1, i + W)];
    const turn = Math.abs(Math.atan2(
      (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]),
      (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])));
    const u = len[i] / L, bell = Math.max(0.15, 16 * u * u * (1 - u) * (1 - u));
    const v = (speed * bell) / (1 + 1.5 * (Number.isFinite(turn) ? turn : 0));
    t.push(t[i - 1] + (len[i] - len[i - 1]) / v);
  }
  const steps = Math.max(2, Math.ceil(t[n - 1]));
  const out = [];
  for (let k = 0, i = 0; k <= steps; k++) {
    const tk = (t[n - 1] * k) / steps;
    while (i < n - 2 && t[i + 1] < tk) i++;
    const f = t[i + 1] > t[i] ? Math.min(1, (tk - t[i]) / (t[i + 1] - t[i])) : 0;
    out.push([d[i][0] + f * (d[i + 1][0] - d[i][0]) + tremor * r.normal(),
      d[i][1] + f * (d[i + 1][1] - d[i][1]) + tremor * r.normal()]);
  }
  return out;
}

const round4 = (v) => Math.round(v * 1e4) / 1e4;

/** Drawing `index` of a set, from (seed, set, index) alone. */
export function drawing(set, index, seed = SEED) {
  const label = index % 10;
  const style = set === 'writer' ? WRITER : SLOTS[Math.floor(index / 10) % SLOTS.length];
  const r = rng(hash(`${seed}:${set}:${index}`));
  const template = chooseTemplate(r, label, style.templates);
  const { rare = false, strokes: base } = TEMPLATES[label][template];
  const p = {
    pen: draw(r, style.pen), height: draw(r, style.height), aspect: draw(r, style.aspect),
    slant: draw(r, style.slant) * (r() < (style.leanLeft ?? 0) ? -0.6 : 1),
    rot: draw(r, style.rot) * (style.rotSign ? r.sign() : 1), off: draw(r, style.off),
    offAngle: r.uniform(0, 2 * Math.PI), wobble: draw(r, style.wobble), tremor: draw(r, style.tremor),
  };
  // the shape: wobbled, each later stroke a little out of place, as a hand puts it
  const field = wobbleField(r, p.wobble);
  let strokes = base.map((s, k) => {
    const dx = k ? r.uniform(-0.04, 0.04) : 0, dy = k ? r.uniform(-0.04, 0.04) : 0;
    const ends = [r.uniform(0, style.ends), r.uniform(-style.ends, style.ends)];
    return endsMoved(densify(s, 0.01), ...ends).map((q) => field([q[0] + dx, q[1] + dy]));
  });
  // aspect, slant and rotation about the box's centre, then the height on the pad
  const b = bbox(strokes), cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2, h = b.y1 - b.y0;
  const cos = Math.cos((p.rot * Math.PI) / 180), sin = Math.sin((p.rot * Math.PI) / 180);
  strokes = strokes.map((s) => s.map(([x, y]) => {
    const u = ((x - cx) * p.aspect - p.slant * (y - cy)) / h, w = (y - cy) / h;
    return [(u * cos - w * sin) * p.height, (u * sin + w * cos) * p.height];
  }));
  // fit inside the pad, a margin of half the pen and 2 % clear of the edge
  const margin = p.pen / 2 + 0.02;
  const f = bbox(strokes), fit = Math.min(1, (1 - 2 * margin) / Math.max(f.x1 - f.x0, f.y1 - f.y0));
  strokes = strokes.map((s) => s.map(([x, y]) => [x * fit, y * fit]));
  const g = bbox(strokes);
  // position: off the centre by `off` of the room on a random bearing
  const roomX = Math.cos(p.offAngle) >= 0 ? 1 - margin - g.x1 - 0.5 : 0.5 - margin + g.x0;
  const roomY = Math.sin(p.offAngle) >= 0 ? 1 - margin - g.y1 - 0.5 : 0.5 - margin + g.y0;
  // (on a square's edge rather than a circle: off = 1 touches the margin)
  const bx = Math.cos(p.offAngle), by = Math.sin(p.offAngle), k = Math.max(Math.abs(bx), Math.abs(by));
  const ox = 0.5 + (p.off * roomX * bx) / k, oy = 0.5 + (p.off * roomY * by) / k;
  const speed = draw(r, style.speed);
  strokes = strokes.map((s) => pointerPoints(s.map(([x, y]) => [x + ox, y + oy]), r,
    speed * r.uniform(0.75, 1.3), p.tremor).map(([x, y]) => [round4(x), round4(y)]));
  const params = Object.fromEntries(Object.entries({ ...p, height: p.height * fit, cx: ox, cy: oy, speed })
    .map(([k, v]) => [k, round4(v)]));
  return { index, label, set, style: style.name, template, rare, pen: params.pen, params, strokes };
}

/** Every drawing of a set. perClass: fewer (or more) than the set's own. */
export function plan(set, { seed = SEED, perClass = SETS[set]?.perClass } = {}) {
  if (!SETS[set]) throw new Error(`unknown set '${set}' (sets: ${Object.keys(SETS).join(', ')})`);
  return Array.from({ length: 10 * perClass }, (_, i) => drawing(set, i, seed));
}
