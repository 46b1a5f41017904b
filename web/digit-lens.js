// digit-lens.js — the <digit-lens> element: draw a digit, see what the
// network reads and the Grad-CAM map of why. One tag embeds it anywhere:
//
//   <script type="module" src="digit-lens.min.js"></script>
//   <digit-lens>fallback text, shown until the element is defined</digit-lens>
//
// Attributes: weights (URL of a safetensors file; default: the one next to
// this file), size (preferred CSS pixels of the square pad, 160..560;
// default: fit the container), theme (light, dark, auto: the page's
// color-scheme), samples (URL of the samples file, or none), teach (the
// teaching panel of teach.js, loaded at the first drawing).
// Events: `result`, detail {digit, probs, maps, input}, the last one in
// .result (input: the 28x28 image the network saw, 784 values in 0..1);
// `error` (an ErrorEvent whose .error is a DigitLensError) for a bad
// attribute or a file that cannot be used; the card says it too, and the
// element goes on with what it has.
// CSS: digit-lens:state(starting) until its first model is ready or has
// failed, so a page can hold its own painting until then (the demo does);
// custom properties and ::part names as listed in digitlens.d.ts.
// Shadow DOM, styles through a constructed stylesheet (no inline <style>, so
// a strict Content-Security-Policy is fine), no globals, no requests beyond
// its own files (the wasm, the weights, and samples.bin when asked for).
//
// It starts with the small module (digitlens.wasm: Grad-CAM alone) and
// fetches the one with every method (digitlens-full.wasm) only when another
// method is chosen in its selector. Pages load the bundle of this file and
// digitlens.js (digit-lens.min.js, made by `make wasm`), which also exports
// the loader's API; digit-lens.one.js is the classic-script build with the
// Grad-CAM wasm and the default weights inside (import.meta.files, below).
import { load, loadSamples, DigitLensError, METHODS } from './digitlens.js';

export * from './digitlens.js';

// (Comments on the style sheet are here: its text is shipped as it is.)
// Colours are light-dark() pairs: theme=auto (the default) follows the
// color-scheme the element inherits from the page (light unless the page
// says `color-scheme: dark` or `light dark`), theme=light|dark sets it.
// .w: a box as wide as the element and 0 high, the one the ResizeObserver
// watches (the element's own height follows the pad it sets).
// [data-stack]: the info under the pad (a narrow container, a phone): the
// bars in two columns of five, the strip in two rows, so the pad, the
// prediction and the bars fit a phone's screen together.
// .card[data-fresh]: until the model is ready, nothing but the pad can be
// used, so the tools, the bars and the strip are not laid out (their 21
// buttons and two form controls took about 10 of the main thread's 100 ms
// of CPU before the first heatmap); their boxes keep their size meanwhile
// (side by side; stacked, their height depends on the width).
const CSS = `
:host { display: block; margin: 16px 0; --pad: 280px; --fg: light-dark(#1d2330, #e6e8ee);
  --muted: light-dark(#6b7280, #9aa3b2); --line: light-dark(#e4e7ec, #2a2f3a); --card: light-dark(#fff, #151821);
  --track: light-dark(#eef0f4, #232836); --accent: #f26b1d; --bar: light-dark(#b8bec9, #5b6475);
  color: var(--fg); font: 14px/1.4 system-ui, sans-serif; text-align: left; text-transform: none; letter-spacing: normal; }
:host([theme=light]) { color-scheme: light; }
:host([theme=dark]) { color-scheme: dark; }
* { box-sizing: border-box; }
.card { display: flex; flex-wrap: wrap; gap: 18px; padding: 18px; background: var(--card);
  max-width: calc(var(--pad) + 420px);
  border: 1px solid var(--line); border-radius: 16px; box-shadow: 0 1px 2px #0000000d, 0 8px 24px #0000000f; }
.card[data-stack] { max-width: calc(var(--pad) + 38px); }
.stage { position: relative; width: var(--pad); height: var(--pad); border-radius: 12px; overflow: hidden;
  background: #000; }
canvas { display: block; }
[part=pad] { width: 100%; height: 100%; touch-action: none; cursor: crosshair; }
[part=heat] { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; opacity: .75; }
.hint { position: absolute; inset: 0; display: grid; place-items: center; color: #8b93a3; pointer-events: none;
  font-size: 15px; }
.card:not([data-state=idle]) .hint { display: none; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 10px; width: var(--pad); }
button { font: inherit; color: inherit; background: none; border: 1px solid var(--line); border-radius: 8px;
  padding: 4px 9px; cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
.tools button, .tools select { font-size: 13px; }
select { font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 3px 4px; }
button:hover { border-color: var(--muted); }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
[part=pad]:focus-visible { outline-width: 3px; outline-offset: -3px; }
.op { flex: 1 1 70px; display: flex; justify-content: flex-end; align-items: center; gap: 4px;
  color: var(--muted); font-size: 12px; }
.op input { width: 100%; min-width: 40px; max-width: 72px; margin: 0; accent-color: var(--accent); }
[part=note] { margin: 8px 0 0; width: var(--pad); color: light-dark(#a11d1d, #ffb4b4); font-size: 12px; }
[part=note]:empty { display: none; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
.info { flex: 1 1 220px; display: flex; flex-direction: column; gap: 12px; }
.head { display: flex; align-items: center; gap: 14px; }
[part=digit] { font-size: 56px; font-weight: 700; line-height: 1; width: 44px; text-align: center;
  font-variant-numeric: tabular-nums; }
.card:not([data-state=ok]) [part=digit] { color: var(--line); font-weight: 400; }
.sub { flex: 1; color: var(--muted); font-size: 13px; }
.sub b { color: var(--fg); }
.seen { margin: 0; text-align: center; color: var(--muted); font-size: 11px; }
[part=input] { width: 56px; height: 56px; image-rendering: pixelated; border-radius: 6px; background: #000;
  margin: 0 auto 2px; }
.panel { position: relative; }
.bars { display: grid; gap: 3px; }
[data-stack] .bars { grid: repeat(5, auto) / auto-flow 1fr; column-gap: 12px; }
.bar { display: grid; grid-template-columns: 14px 1fr 52px; align-items: center; gap: 8px; border: 0;
  padding: 2px 4px; border-radius: 6px; text-align: left; font-variant-numeric: tabular-nums; }
.bar:hover { background: var(--track); }
.bar[aria-checked=true] { background: var(--track); box-shadow: inset 0 0 0 1px var(--line); }
.track { height: 8px; border-radius: 4px; background: var(--track); overflow: hidden; }
.fill { display: block; height: 100%; width: 0; background: var(--bar); border-radius: 4px; }
.top .fill { background: var(--accent); }
.pct { color: var(--muted); font-size: 12px; text-align: right; }
.top .pct, .top .lbl { color: var(--fg); font-weight: 600; }
[part=message] { display: none; position: absolute; inset: 0; place-content: center; text-align: center;
  padding: 16px 24px; border-radius: 10px; border: 1px dashed var(--line); color: var(--muted); }
.card:not([data-state=ok]) [part=message] { display: grid; }
.card:not([data-state=ok]) .bars { visibility: hidden; }
.card[data-state=error] [part=message] { border: 0; background: light-dark(#fdeeee, #3a1d1f); color: light-dark(#a11d1d, #ffb4b4); }
.stripbox { flex: 1 1 100%; }
.cap { margin: 0 0 6px; color: var(--muted); font-size: 12px; }
[part=strip] { display: grid; grid-template-columns: repeat(10, 1fr); gap: 6px; }
[data-stack] [part=strip] { grid-template-columns: repeat(5, 1fr); }
.tile { padding: 0; border: 1px solid transparent; border-radius: 8px; overflow: hidden; text-align: center;
  font-size: 12px; color: var(--muted); }
.tile canvas { width: 100%; aspect-ratio: 1; background: #000; }
.tile[aria-checked=true] { border-color: var(--accent); color: var(--fg); font-weight: 600; }
.card:not([data-state=ok]) [part=strip] { opacity: .12; }
.card[data-fresh]:not([data-stack]) :is(.tools, .bars, .stripbox) { content-visibility: hidden; }
.tools { contain-intrinsic-height: auto 59px; }
.bars { contain-intrinsic-height: auto 263px; }
.stripbox { contain-intrinsic-height: auto 100px; }
`;

// HEAT28: the overlay is coloured at 4 pixels per input pixel, in the
// network's 28x28 frame, and drawn onto the pad scaled (bilinear), so a
// drawing costs 112x112 colour lookups whatever the pad's size. READ: the
// pad is read at READ x READ pixels (a digit over most of the pad still
// spans 100 of them for preprocessing's 20x20 box), so a drawing costs the
// same on a 3x screen as on a 1x one.
const TILE = 56, HEAT28 = 112, READ = 140;
const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
// HTML and the numbers in it are the module's own: no user data is parsed.
// The one-file build has Grad-CAM alone: the other methods are listed, disabled.
const HTML = () => `<div class="w"></div>
<div class="card" data-state="loading" data-fresh>
  <div>
    <div class="stage">
      <canvas part="pad" tabindex="0" role="application"
        aria-label="Drawing pad: draw a digit, or press a key 0 to 9 for a test digit of that class"></canvas>
      <canvas part="heat" aria-hidden="true"></canvas>
      <div class="hint">Draw a digit here</div>
    </div>
    <div class="tools">
      <button data-act="undo" aria-label="Undo the last stroke" disabled>Undo</button>
      <button data-act="clear" aria-label="Clear the pad">Clear</button>
      <button data-act="sample" aria-label="Load a random MNIST test digit">Sample</button>
      <select part="method" aria-label="Explanation method">${METHODS.map((m, i) =>
        `<option${i && import.meta.files ? ` disabled value="${m}">${m} (not in the one-file build)` : `>${m}`}</option>`).join('')}</select>
      <label class="op">heat <input type="range" min="0" max="100" value="75" aria-label="Heatmap opacity" disabled></label>
    </div>
    <p part="note"></p>
  </div>
  <div class="info">
    <div class="head">
      <div part="digit">–</div>
      <div class="sub"></div>
      <figure class="seen"><canvas part="input" width="28" height="28" role="img"
        aria-label="The 28 by 28 image the network saw"></canvas>28×28 input</figure>
    </div>
    <div class="panel">
      <div class="bars" role="radiogroup" aria-label="Class probabilities; choose one to see its Grad-CAM map" inert>${DIGITS.map((c) =>
        `<button class="bar" role="radio" aria-checked="false" tabindex="-1" data-cls="${c}"><span class="lbl">${c}</span><span class="track"><span class="fill"></span></span><span class="pct">–</span></button>`).join('')}</div>
      <div part="message">Loading the model…</div>
    </div>
  </div>
  <div class="stripbox">
    <p class="cap">Grad-CAM of every class, one shared scale (brighter = more evidence for that digit)</p>
    <div part="strip" role="radiogroup" aria-label="Grad-CAM maps of all ten classes" inert>${DIGITS.map((c) =>
      `<button class="tile" role="radio" aria-checked="false" tabindex="-1" aria-label="Grad-CAM map of class ${c}" data-cls="${c}"><canvas width="${TILE}" height="${TILE}"></canvas>${c}</button>`).join('')}</div>
  </div>
  <p class="sr" role="status"></p>
</div>`;

let sheet = null; // one constructed stylesheet shared by every instance
let template = null; // the shadow DOM, parsed once, cloned by every instance

function bold(text) {
  const b = document.createElement('b');
  b.textContent = text;
  return b;
}

function styles(root) {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
    root.adoptedStyleSheets = [sheet];
  } else {
    const s = document.createElement('style');
    s.textContent = CSS;
    root.append(s);
  }
}

// arrow keys in a radio group: the next (+1) or the previous (-1) class
const STEP = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

export class DigitLens extends HTMLElement {
  static get observedAttributes() { return ['weights', 'size', 'theme', 'samples', 'teach']; }

  #taught; #lens = null; #loading = null; #strokes = []; #stroke = null; #sample = null; #notes = {};
  #cls = null; #frame = 0; #size = 0; #want = 0; #width = 0; #dpr = 1; #x = null; #place = null; #strip = 0; #shown = false; #fresh = true;
  #$ = {}; #int = this.attachInternals?.(); // (Safari before 16.4 has none)

  constructor() {
    super();
    this.#starting('add');
    const root = this.attachShadow({ mode: 'open' });
    styles(root);
    if (!template) {
      template = document.createElement('template');
      template.innerHTML = HTML();
    }
    root.append(template.content.cloneNode(true));
    const q = (s) => root.querySelector(s);
    const $ = (this.#$ = {
      card: q('.card'), pad: q('[part=pad]'), heat: q('[part=heat]'), digit: q('[part=digit]'),
      sub: q('.sub'), input: q('[part=input]'), bars: q('.bars'), msg: q('[part=message]'),
      strip: q('[part=strip]'), opacity: q('input[type=range]'), method: q('[part=method]'), cap: q('.cap'),
      note: q('[part=note]'), sr: q('.sr'), undo: q('[data-act=undo]'),
      sample: q('[data-act=sample]'),
    });
    /** The last result event's detail, or null. */
    this.result = null;
    $.padCtx = $.pad.getContext('2d', { willReadFrequently: true });
    $.heatCtx = $.heat.getContext('2d');
    $.inputCtx = $.input.getContext('2d');
    $.inputImg = $.inputCtx.createImageData(28, 28);
    $.tiles = null; // the strip's 2D contexts, made when it is first drawn
    // the heatmap in the network's 28x28 frame, drawn onto the pad through #place
    $.heat28 = document.createElement('canvas');
    $.heat28.width = $.heat28.height = HEAT28;
    $.heat28Ctx = $.heat28.getContext('2d');
    $.heat28Img = $.heat28Ctx.createImageData(HEAT28, HEAT28);

    $.pad.addEventListener('pointerdown', (e) => this.#down(e));
    $.pad.addEventListener('pointermove', (e) => this.#move(e));
    $.pad.addEventListener('pointerup', (e) => this.#up(e));
    $.pad.addEventListener('pointercancel', (e) => this.#up(e));
    $.opacity.addEventListener('input', () => { $.heat.style.opacity = $.opacity.value / 100; });
    $.method.addEventListener('change', () => {
      $.cap.textContent = `${$.method.value} map of every class, one shared scale (brighter = more evidence for that digit)`;
      if (this.#lens && !this.#lens.methods.includes($.method.value)) this.#load(this.#lens);
      else this.#update();
    });
    root.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      if (b.dataset.cls !== undefined) this.#choose(+b.dataset.cls);
      else if (b.dataset.act === 'undo') { this.#strokes.pop(); this.#redraw(); this.#update(); this.#say(); }
      else if (b.dataset.act === 'clear') this.clear();
      else if (b.dataset.act === 'sample') this.sample();
      if (b.disabled) $.pad.focus(); // Undo with nothing left to undo
    });
    // Keyboard: arrow keys move the choice within a radio group (one Tab
    // stop each: the chosen one); keys 0-9 on the pad load a sample digit.
    root.addEventListener('keydown', (e) => {
      const c = e.target.dataset.cls, d = STEP[e.key];
      if (c && d) {
        this.#choose((+c + d + 10) % 10);
        e.target.parentNode.children[this.#cls].focus();
      } else if (e.target === $.pad && /^\d$/.test(e.key)) this.sample(+e.key);
      else return;
      e.preventDefault();
    });
    // with teach: a file dropped on the element is a weights file
    this.addEventListener('dragover', (e) => this.hasAttribute('teach') && e.preventDefault());
    this.addEventListener('drop', (e) => this.#teach(e));
    // the pad fits the element's width, whatever changes it
    new ResizeObserver(([e]) => { this.#width = e.contentRect.width; this.#resize(); }).observe(q('.w'));
    this.#resize();
    this.#samples();
  }

  // Without size, the pad's width is read at once: waiting for the
  // ResizeObserver painted one frame with a 280 px pad first.
  connectedCallback() {
    if (!this.#want) { this.#width = this.clientWidth; this.#resize(); }
    if (!this.#lens && !this.#loading) this.#load();
  }

  attributeChangedCallback(name, old, val) {
    if (old === val) return;
    if (name === 'size') {
      const n = parseFloat(val), want = (this.#want = Math.min(560, Math.max(160, n)) || 0);
      this.#note('size', val === null || want === n ? '' : `size="${val}" is not a number of pixels from 160 to 560: ${want ? want + ' used' : 'it fits the page'}.`);
      this.#resize();
    }
    else if (name === 'samples') this.#samples();
    else if (name === 'theme')
      this.#note('theme', val === null || /^(light|dark|auto)$/.test(val) ? '' : `theme="${val}" is not light, dark or auto: auto used.`);
    else if (name === 'teach') this.#teach();
    else if (this.isConnected) this.#load();
  }

  // With the teach attribute, teach.js's panel (README, Teaching), loaded at
  // the first drawing or file dropped on the element: pages without it
  // never fetch it. It gets the element, its lens (a function: the element
  // replaces the lens when the weights or the method change) and a refresh.
  #teach(e) {
    const on = this.hasAttribute('teach'), file = on && e?.dataTransfer.files[0]; // (readable during the event only)
    if (on && (e || this.result)) {
      e?.preventDefault();
      this.#taught ??= (import.meta.files ? Promise.reject(new DigitLensError('No teaching in the one-file build', 'NO_WASM'))
        : import(/* webpackIgnore: true */ /* @vite-ignore */ new URL('./teach.js', import.meta.url).href))
        .then((m) => m.attach(this, () => this.#lens, () => this.#update()), (e) => this.#note('teach', e.message, e));
    }
    this.#taught?.then((t) => t?.show(on, file));
  }

  /** Clear the pad and the results. */
  clear() {
    this.#strokes = []; this.#sample = null; this.#cls = null;
    this.#redraw(); this.#update();
  }

  /** Load a random digit (of class `digit`, if given) from the MNIST test
   * samples. A samples file that cannot be had disables the Sample button
   * and says why; what is shown stays. */
  async sample(digit) {
    const a = this.getAttribute('samples'), $ = this.#$;
    if ($.sample.disabled) return this.#say($.sample.title);
    try {
      const s = await loadSamples(a ? new URL(a, document.baseURI) : undefined);
      let i = Math.floor(Math.random() * s.count);
      for (let k = 0; digit >= 0 && s.labels[i] !== digit && k < s.count; k++) i = (i + 1) % s.count;
      const px = s.pixels.subarray(i * 784, i * 784 + 784);
      this.#sample = { index: i, label: s.labels[i], pixels: Float32Array.from(px, (v) => v / 255), px };
      this.#strokes = []; this.#cls = null;
      this.#redraw(); this.#update(); this.#say();
    } catch (e) {
      this.#samples(e);
      this.#say(e.message);
    }
  }

  // The Sample button and the pad's keys: hidden for samples="none"; off in
  // the one-file build without a samples URL, or once the file has failed.
  #samples(e) {
    const a = this.getAttribute('samples'), $ = this.#$, one = import.meta.files && !a;
    $.sample.hidden = a === 'none';
    $.sample.disabled = !!e || a === 'none' || one;
    $.sample.title = e ? e.message : one ? 'No samples in the one-file build: give a samples URL' : '';
    $.pad.tabIndex = $.sample.disabled ? -1 : 0;
    this.#note('samples', e?.message, e);
  }

  // A problem with an attribute or a file, shown under the pad and fired as
  // an `error` event; '' when it is gone.
  #note(key, text, error = new DigitLensError(text, 'ATTR')) {
    if (text) this.#notes[key] = text; else delete this.#notes[key];
    this.#$.note.textContent = Object.values(this.#notes).join(' ');
    if (text) this.#fire(error);
  }

  #fire(error) { this.dispatchEvent(new ErrorEvent('error', { error, message: error.message })); }

  // The screen reader's one announcement per finished stroke, sample or
  // undo: what is read and how sure, or what is wrong.
  #say(text = this.#$.card.dataset.state === 'ok'
    ? `${this.#sample && !this.#strokes.length ? `Sample labelled ${this.#sample.label}. ` : ''}Reads ${this.result.digit}, ${(this.result.probs[this.result.digit] * 100).toFixed(1)}%.`
    : this.#$.msg.textContent) {
    this.#$.sr.textContent = text;
  }

  // The model: the small module while the selector says gradcam, the full
  // one otherwise. from: the lens whose weights to keep (a method change).
  // A model that cannot load replaces nothing: the element goes on with the
  // one it has, if any.
  async #load(from) {
    const attr = this.getAttribute('weights'), $ = this.#$;
    if (from || !this.#lens) {
      this.#lens = null;
      this.#state('loading', from ? `Loading ${$.method.value}…` : 'Loading the model…');
    }
    const p = (this.#loading = from ? from.withAllMethods()
      : load({ methods: $.method.value === 'gradcam' ? 'gradcam' : 'all', ...(attr && { weights: new URL(attr, document.baseURI) }) }));
    try {
      const lens = await p;
      if (this.#loading !== p) return; // superseded by a newer weights attribute
      this.#lens = lens;
      this.#note('weights');
    } catch (e) {
      if (this.#loading !== p) return;
      const err = e instanceof DigitLensError ? e : new DigitLensError(e.message, 'IO');
      if (from) $.method.value = 'gradcam';
      const text = `Could not load the model. ${e.message}`;
      if ((this.#lens ??= from)) this.#note('weights', `${text}. The one it had is still in use.`, err);
      else {
        this.#error(text);
        this.#say();
        this.#fire(err);
      }
    }
    this.#update();
  }

  #state(state, text = '') {
    const $ = this.#$, card = $.card;
    card.dataset.state = state;
    $.msg.textContent = text;
    $.bars.inert = $.strip.inert = $.opacity.disabled = state !== 'ok';
    // the rest of the card is laid out after the first frame with the model
    if (this.#fresh && state !== 'loading') {
      this.#fresh = false;
      this.#starting('delete');
      requestAnimationFrame(() => setTimeout(() => delete card.dataset.fresh));
    }
  }

  // (a browser without custom states, or before Chrome 125, has no such state)
  #starting(op) { try { this.#int.states[op]('starting'); } catch {} }

  #error(text) {
    this.#state('error', text);
    this.#blank();
  }

  // No result to show: clear every output (the state's message says why).
  #blank() {
    const $ = this.#$;
    this.#strip++; // a strip still to be drawn is not
    if (!this.#shown) return; // nothing drawn yet: the canvases are blank
    this.#shown = false;
    $.digit.textContent = '–';
    $.sub.textContent = '';
    $.heatCtx.setTransform(1, 0, 0, 1, 0, 0);
    $.heatCtx.clearRect(0, 0, $.heat.width, $.heat.height);
    $.inputCtx.clearRect(0, 0, 28, 28);
    for (const t of $.tiles ?? []) t.clearRect(0, 0, TILE, TILE);
  }

  // The pad's side: `size` if it fits, else what the width leaves (the
  // info beside the pad when 220 px are left for it, else under it); no
  // size: the width, 240..560 beside the info, up to 560 above it.
  // Until the element is laid out (or while it is hidden), size or 280.
  #resize() {
    const want = this.#want, w = this.#width - 38, beside = w - 238; // the card's padding and border; the info and the gap
    const stack = this.#width > 0 && (want ? beside < want : beside < 240);
    const size = this.#width ? Math.max(100, Math.round(Math.min(want || 560, stack ? w : beside))) : want || 280;
    this.#$.card.toggleAttribute('data-stack', stack);
    const dpr = Math.min(3, Math.max(1, globalThis.devicePixelRatio || 1));
    if (size === this.#size && dpr === this.#dpr) return;
    this.#size = size;
    this.#dpr = dpr;
    const $ = this.#$, side = Math.round(size * dpr);
    $.card.style.setProperty('--pad', size + 'px');
    $.pad.width = $.pad.height = side;
    $.heat.width = $.heat.height = Math.min(side, 512);
    this.#redraw();
    this.#update();
  }

  // ---- drawing: strokes in pad units (0..1), redrawn at device pixels ----

  #point(e) {
    const r = this.#$.pad.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  }

  #down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    this.#$.pad.setPointerCapture?.(e.pointerId);
    this.#stroke = [this.#point(e)];
    this.#strokes.push(this.#stroke);
    this.#paint(this.#stroke, 0);
    this.#schedule();
  }

  #move(e) {
    if (!this.#stroke) return;
    e.preventDefault();
    const from = this.#stroke.length - 1;
    const evs = e.getCoalescedEvents?.(); // empty for a scripted event
    for (const ev of evs?.length ? evs : [e]) this.#stroke.push(this.#point(ev));
    this.#paint(this.#stroke, from);
    this.#schedule();
  }

  #up() {
    if (!this.#stroke) return;
    this.#stroke = null;
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    // The pad as the stroke list paints it, which is how undo repaints it: a
    // stroke painted piece by piece while drawn differs from the same stroke
    // painted whole at its antialiased edges (enough to change the reading).
    this.#redraw();
    this.#update();
    this.#say();
  }

  // A stroke 1/14 of the pad wide: a digit drawn over most of the pad then
  // comes out of the 20x20 fit about as thick as MNIST's (2-3 pixels).
  #paint(s, from) {
    const ctx = this.#$.padCtx, side = this.#$.pad.width;
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = side / 14;
    ctx.lineCap = ctx.lineJoin = 'round';
    if (s.length === 1) {
      ctx.beginPath();
      ctx.arc(s[0][0] * side, s[0][1] * side, side / 28, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(s[from][0] * side, s[from][1] * side);
    for (let i = from + 1; i < s.length; i++) ctx.lineTo(s[i][0] * side, s[i][1] * side);
    ctx.stroke();
  }

  #redraw() {
    const $ = this.#$, ctx = $.padCtx, side = $.pad.width;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, side, side);
    if (this.#sample) {
      const img = $.inputCtx.createImageData(28, 28);
      this.#sample.px.forEach((v, i) => { img.data.set([v, v, v, 255], 4 * i); });
      $.inputCtx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage($.input, 0, 0, side, side);
    }
    for (const s of this.#strokes) this.#paint(s, 0);
  }

  #schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => { this.#frame = 0; this.#update(); });
  }

  #padImage() {
    const $ = this.#$;
    if (!$.readCtx) {
      const c = document.createElement('canvas');
      c.width = c.height = READ;
      $.readCtx = c.getContext('2d', { willReadFrequently: true });
      $.readCtx.imageSmoothingQuality = 'medium'; // averages when the pad is several times larger
    }
    $.readCtx.drawImage($.pad, 0, 0, READ, READ);
    return $.readCtx.getImageData(0, 0, READ, READ);
  }

  // ---- inference and display ----

  #update() {
    const lens = this.#lens, $ = this.#$;
    $.undo.disabled = !this.#strokes.length;
    if (!lens) return;
    if (!this.#strokes.length && !this.#sample) {
      this.#x = null;
      this.#blank();
      this.#state('idle', 'Draw a digit (0–9) on the dark pad to see what the network reads.');
      return;
    }
    let r;
    try {
      if (!this.#strokes.length) {
        this.#x = this.#sample.pixels;
        this.#place = { scale: this.#$.pad.width / 28, ox: 0, oy: 0 };
      } else {
        const img = this.#padImage(), f = this.#$.pad.width / img.width;
        this.#x = lens.preprocess(img);
        const { scale, ox, oy } = lens.frame(); // the 28x28 frame on the pad
        this.#place = { scale: scale * f, ox: ox * f, oy: oy * f };
      }
      r = lens.explain(this.#x, { method: this.#$.method.value });
    } catch (e) {
      if (!(e instanceof DigitLensError)) throw e;
      this.#error(e.code === 'NO_INK' && /covers/.test(e.message)
        ? 'The ink covers most of the pad. Clear it and draw a single digit.'
        : e.code === 'NO_INK' ? 'Nothing to read: the pad is blank. Draw a digit.' : e.message);
      return;
    }
    this.#state('ok');
    this.result = { digit: r.digit, probs: r.probs, maps: r.maps, input: this.#x };
    this.#render();
    this.dispatchEvent(new CustomEvent('result', { detail: this.result, bubbles: true }));
    this.#teach();
  }

  // (chosen again, it stays chosen)
  #choose(c) {
    this.#cls = c;
    if (this.result) this.#render();
  }

  #render() {
    const $ = this.#$, lens = this.#lens, { digit, probs, maps } = this.result;
    this.#shown = true;
    const cls = this.#cls ?? digit;
    $.digit.textContent = digit;
    const sample = this.#sample && !this.#strokes.length;
    // A map can be zero everywhere (Grad-CAM: the averaged gradient finds no
    // positive evidence). Say so rather than show an empty overlay.
    const lit = maps[cls].some((v) => v > 0), name = $.method.value === 'gradcam' ? 'Grad-CAM' : $.method.value;
    $.sub.replaceChildren(bold(`${(probs[digit] * 100).toFixed(1)}%`), ' sure',
      ...(sample ? [' · sample labelled ', bold(this.#sample.label)] : []), document.createElement('br'),
      lit ? 'heatmap: why ' : `no positive ${name} evidence for `, bold(cls));
    [...$.bars.children].forEach((b, c) => {
      const p = probs[c] * 100;
      b.classList.toggle('top', c === digit);
      b.setAttribute('aria-checked', String(c === cls));
      b.tabIndex = c === cls ? 0 : -1;
      b.setAttribute('aria-label', `${c}: ${p.toFixed(1)} percent`);
      b.querySelector('.fill').style.width = p.toFixed(2) + '%';
      b.querySelector('.pct').textContent = p < 0.1 ? '<0.1%' : p.toFixed(1) + '%';
    });
    // the 28x28 input
    const d = $.inputImg.data;
    for (let i = 0; i < 784; i++) {
      const v = Math.round(this.#x[i] * 255);
      d[4 * i] = d[4 * i + 1] = d[4 * i + 2] = v;
      d[4 * i + 3] = 255;
    }
    $.inputCtx.putImageData($.inputImg, 0, 0);
    // the map of the chosen class over the pad (per-map scale, opacity = heat)
    // (in the 28x28 frame, then mapped back onto the drawing)
    lens.heatmap(maps, cls, { width: HEAT28, alpha: true, into: $.heat28Img.data });
    $.heat28Ctx.putImageData($.heat28Img, 0, 0);
    const k = $.heat.width / $.pad.width, { scale, ox, oy } = this.#place, sc = (scale * k * 28) / HEAT28;
    $.heatCtx.setTransform(1, 0, 0, 1, 0, 0);
    $.heatCtx.clearRect(0, 0, $.heat.width, $.heat.height);
    $.heatCtx.setTransform(sc, 0, 0, sc, ox * k, oy * k);
    $.heatCtx.drawImage($.heat28, 0, 0);
    $.heatCtx.setTransform(1, 0, 0, 1, 0, 0);
    // The strip of ten after the frame that shows the map above: the first
    // heatmap does not wait for ten more.
    const token = ++this.#strip;
    requestAnimationFrame(() => setTimeout(() => { if (token === this.#strip) this.#tiles(); }));
  }

  // all ten on one shared scale, the input screened over each
  #tiles() {
    const $ = this.#$, lens = this.#lens, { maps } = this.result, cls = this.#cls ?? this.result.digit;
    if (!lens) return;
    if (!$.tiles) {
      $.tiles = [...$.strip.querySelectorAll('canvas')].map((cv) => cv.getContext('2d'));
      $.tileImg = $.tiles[0].createImageData(TILE, TILE);
    }
    $.tiles.forEach((ctx, c) => {
      lens.heatmap(maps, c, { width: TILE, shared: true, into: $.tileImg.data });
      ctx.putImageData($.tileImg, 0, 0);
      ctx.globalAlpha = 0.3;
      ctx.globalCompositeOperation = 'screen';
      ctx.drawImage($.input, 0, 0, TILE, TILE);
      ctx.globalAlpha = 1;
      ctx.globalCompositeOperation = 'source-over';
      ctx.canvas.parentNode.setAttribute('aria-checked', String(c === cls));
      ctx.canvas.parentNode.tabIndex = c === cls ? 0 : -1;
    });
  }
}

if (!customElements.get('digit-lens')) customElements.define('digit-lens', DigitLens);
