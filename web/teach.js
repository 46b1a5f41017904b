// teach.js — <digit-lens teach>: teach the network your handwriting.
// digit-lens.js imports this file at the element's first drawing (or a file
// dropped on it) when it has the `teach` attribute; pages without it never
// fetch it. It adds, under the maps:
//   - "That's a 0 … 9": what the visitor drew. The drawing joins a personal
//     set kept in this browser (IndexedDB, never sent anywhere), shown as
//     thumbnails, each removable, or all at once;
//   - Teach: the network is taught the whole set (each drawing with three
//     small random turns and shifts of it, web/digitlens-train.js) from the
//     weights the element loaded, in a Worker, with a progress bar; then the
//     same drawing's probabilities and Grad-CAM map before and after, side by
//     side, and the accuracy on 1,000 MNIST test digits before and after, so
//     that forgetting shows;
//   - Reset (the loaded weights), Download (the weights in use, F32
//     safetensors that the CLI and load() read), Load weights… (or a file
//     dropped on the element: checked like any weights file; a bad one is
//     refused with its message, fired as the element's `error` event, and
//     the weights in use stay).
// Storage that is unavailable (a private window) or full: teaching works for
// the session, and one line says the set will not be kept. A stored set that
// cannot be read is dropped, and a line says so.
//
// The element hands over itself, its lens (a function: the element replaces
// the lens when the weights or the method change) and a refresh of its
// reading (after the weights change).

const MAX = 180; // drawings: with 3 variants each and 300 replay digits, within the 1,024 a call takes
const VARIANTS = 3;
const SIDE = 112; // the before/after canvases, in the network's 28x28 frame
const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const here = (f) => new URL(f, import.meta.url);
const train = () => import(/* webpackIgnore: true */ /* @vite-ignore */ here('./digitlens-train.js').href);

const CSS = `
.teach { flex: 1 1 100%; display: grid; gap: 8px; border-top: 1px solid var(--line); padding-top: 12px; }
.teach[hidden] { display: none; }
.teach .cap { margin: 0; }
.said, .trow { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; font-size: 13px; }
.said button { min-width: 28px; padding: 2px 6px; font-variant-numeric: tabular-nums; }
.said[aria-disabled=true] button { opacity: .45; pointer-events: none; }
.set { display: flex; flex-wrap: wrap; gap: 4px; min-height: 0; }
.ex { position: relative; display: grid; justify-items: center; font-size: 11px; color: var(--muted); }
.ex canvas { width: 36px; height: 36px; image-rendering: pixelated; background: #000; border-radius: 4px; }
.ex button { position: absolute; top: -4px; right: -4px; padding: 0 4px; font-size: 11px; line-height: 14px;
  border-radius: 7px; background: var(--card); }
.trow button { font-size: 13px; }
.trow progress { flex: 1 1 80px; accent-color: var(--accent); }
.tline { margin: 0; color: var(--muted); font-size: 12px; min-height: 1.4em; }
.ba { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.ba[hidden] { display: none; }
.ba figure { margin: 0; display: grid; grid-template-columns: ${SIDE}px 120px; gap: 4px 10px; font-size: 12px; }
.ba figcaption { grid-column: 1 / -1; color: var(--muted); }
.ba figcaption b { color: var(--fg); }
.ba canvas { width: ${SIDE}px; height: ${SIDE}px; border-radius: 6px; background: #000; }
.mini { display: grid; gap: 1px; font-variant-numeric: tabular-nums; }
.mini span { display: grid; grid-template-columns: 10px 1fr 40px; gap: 4px; align-items: center; color: var(--muted); }
.mini i { display: block; height: 6px; border-radius: 3px; background: var(--bar); }
.mini .top { color: var(--fg); font-weight: 600; }
.mini .top i { background: var(--accent); }
.mini s { text-decoration: none; text-align: right; }
.acc { flex: 1 1 100%; margin: 0; font-size: 12px; color: var(--muted); }
.acc b { color: var(--fg); }
`;

const HTML = `<p class="cap">Teach it your handwriting: say what you drew, then teach.</p>
<div class="said" role="group" aria-label="What you drew" aria-disabled="true">That's a
${DIGITS.map((d) => `<button data-said="${d}" aria-label="That's a ${d}: add this drawing to your examples">${d}</button>`).join('')}</div>
<div class="set" role="list" aria-label="Your examples"></div>
<div class="trow">
<button data-t="teach" disabled>Teach</button><button data-t="reset" disabled>Reset</button>
<button data-t="save">Download weights</button><button data-t="load">Load weights…</button>
<button data-t="clear" disabled>Clear examples</button>
<input type="file" accept=".safetensors" hidden aria-label="A weights file (safetensors)">
<progress hidden></progress></div>
<p class="tline" role="status"></p>
<div class="ba" hidden>
<figure><figcaption></figcaption><canvas width="${SIDE}" height="${SIDE}"></canvas><div class="mini"></div></figure>
<figure><figcaption></figcaption><canvas width="${SIDE}" height="${SIDE}"></canvas><div class="mini"></div></figure>
<p class="acc"></p></div>`;

// ---- the personal set: IndexedDB, or this page's memory --------------------

const valid = (r) => r && Number.isInteger(r.id) && Number.isInteger(r.label) && r.label >= 0 && r.label <= 9 &&
  r.px instanceof Uint8Array && r.px.length === 784;

const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });

/** The set's store: {records, put(r) -> id, del(id), clear()}; kept in
 * IndexedDB while it works, else only for this page (kept: false, why: the
 * one line to say). */
async function openSet() {
  const mem = { kept: false, records: [], next: 1,
    put(r) { return (r.id = this.next++); }, del() {}, clear() {} };
  let db;
  try {
    const open = indexedDB.open('digitlens', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('examples', { keyPath: 'id', autoIncrement: true });
    db = await req(open);
  } catch {
    mem.why = 'Your examples will not be kept after this page: this browser does not let it store them.';
    return mem;
  }
  const store = (mode) => db.transaction('examples', mode).objectStore('examples');
  const set = {
    kept: true, records: [],
    async put(r) {
      if (!this.kept) return mem.put(r);
      try { return (r.id = await req(store('readwrite').add({ label: r.label, px: r.px }))); } catch (e) {
        this.kept = false;
        this.why = `Your examples will not be kept after this page: ${e?.name === 'QuotaExceededError'
          ? "this browser's storage is full" : 'this browser would not store them'}.`;
        mem.next = Math.max(0, ...this.records.map((x) => x.id)) + 1;
        return mem.put(r);
      }
    },
    del(id) { if (this.kept) return req(store('readwrite').delete(id)).catch(() => {}); },
    clear() { if (this.kept) return req(store('readwrite').clear()).catch(() => {}); },
  };
  try {
    const all = await req(store('readonly').getAll());
    if (!Array.isArray(all) || !all.every(valid)) {
      await set.clear();
      set.dropped = 'Your stored examples could not be read, so they were dropped.';
    } else set.records = all.slice(0, MAX);
  } catch {
    await set.clear();
    set.dropped = 'Your stored examples could not be read, so they were dropped.';
  }
  return set;
}

// ---- drawing ------------------------------------------------------------------

const gray = (px, data) => { for (let i = 0; i < 784; i++) { data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = px[i]; data[4 * i + 3] = 255; } };
const bytes = (x) => Uint8Array.from(x, (v) => Math.round(v * 255));

/** The element's teach panel. */
class Teach {
  constructor(el, lens, refresh) {
    this.el = el;
    this.lens = lens;
    this.refresh = refresh;
    const root = el.shadowRoot, sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    const box = (this.box = document.createElement('div'));
    box.className = 'teach';
    box.setAttribute('part', 'teach');
    box.innerHTML = HTML;
    root.querySelector('.card').append(box);
    const q = (s) => box.querySelector(s);
    this.$ = { said: q('.said'), set: q('.set'), line: q('.tline'), progress: q('progress'), ba: q('.ba'),
      figs: [...box.querySelectorAll('.ba figure')], acc: q('.acc'), file: q('input[type=file]'),
      b: Object.fromEntries([...box.querySelectorAll('[data-t]')].map((b) => [b.dataset.t, b])) };
    this.said = null; // {x, label} of the drawing last said
    this.busy = false;
    box.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      if (b.dataset.said) this.add(+b.dataset.said);
      else if (b.dataset.rm) this.remove(+b.dataset.rm);
      else if (b.dataset.t) this[b.dataset.t]();
    });
    this.$.file.addEventListener('change', () => { this.drop(this.$.file.files[0]); this.$.file.value = ''; });
    el.addEventListener('result', () => this.result());
    this.ready = openSet().then((s) => {
      this.store = s;
      if (s.dropped || s.why) this.line(s.dropped ?? s.why);
      this.list();
    });
    this.result();
  }

  /** The attribute on or off; a file dropped on the element (with it on). */
  show(on, file) {
    this.box.hidden = !on;
    if (on && file) this.drop(file);
  }

  line(text) { this.$.line.textContent = text; }

  // a new reading: "that's a …" is for this drawing. A new lens without
  // taught weights (the element loaded other weights; a method change
  // carries the taught ones over): the before and after no longer apply.
  result() {
    const r = this.el.result, lens = this.lens();
    this.$.said.setAttribute('aria-disabled', String(!r || this.busy));
    if (lens && lens !== this.seen && !this.busy) {
      if (this.seen && this.taught && !lens.metadata.fine_tuned) {
        this.taught = false;
        this.$.ba.hidden = true;
        this.buttons();
      }
      this.seen = lens;
    }
  }

  async add(label) {
    const r = this.el.result;
    if (!r || this.busy) return;
    await this.ready;
    if (this.store.records.length >= MAX) return this.line(`Your set is full (${MAX} drawings): remove some to add more.`);
    const rec = { label, px: bytes(r.input) };
    this.said = { x: Float32Array.from(r.input), label };
    await this.store.put(rec);
    this.store.records.push(rec);
    this.line(this.store.why ?? `Added a ${label}: ${this.store.records.length} in your set.`);
    this.list();
  }

  async remove(id) {
    await this.ready;
    this.store.records = this.store.records.filter((r) => r.id !== id);
    await this.store.del(id);
    this.line(`Removed: ${this.store.records.length} in your set.`);
    this.list();
  }

  async clear() {
    await this.ready;
    this.store.records = [];
    await this.store.clear();
    this.line('Your set is empty.');
    this.list();
  }

  // the thumbnails (each drawn once), and what can be clicked
  list() {
    const recs = this.store?.records ?? [], made = (this.thumbs ??= new Map());
    for (const id of made.keys()) if (!recs.some((r) => r.id === id)) made.delete(id);
    this.$.set.replaceChildren(...recs.map((r, k) => {
      let d = made.get(r.id);
      if (!d) {
        const c = document.createElement('canvas'), b = document.createElement('button');
        d = document.createElement('div');
        d.className = 'ex';
        d.setAttribute('role', 'listitem');
        c.width = c.height = 28;
        const ctx = c.getContext('2d'), img = ctx.createImageData(28, 28);
        gray(r.px, img.data);
        ctx.putImageData(img, 0, 0);
        b.dataset.rm = r.id;
        b.textContent = '×';
        d.append(c, String(r.label), b);
        made.set(r.id, d);
      }
      d.lastChild.setAttribute('aria-label', `Remove example ${k + 1}, a ${r.label}`);
      return d;
    }));
    this.$.set.hidden = !recs.length;
    this.buttons();
  }

  buttons() {
    const n = this.store?.records.length ?? 0, { b } = this.$, busy = this.busy;
    b.teach.disabled = b.clear.disabled = !n || busy;
    b.teach.textContent = n ? `Teach ${n} drawing${n > 1 ? 's' : ''}` : 'Teach';
    b.save.disabled = b.load.disabled = busy;
    b.reset.disabled = busy || !this.taught;
  }

  setBusy(on) {
    this.busy = on;
    this.$.progress.hidden = !on;
    this.result();
    this.buttons();
  }

  // probabilities and the map of cls for x, with the weights in use
  shot(x, cls) {
    const lens = this.lens(), r = lens.explain(x, { classes: 'all' });
    const heat = lens.heatmap(r.maps, cls, { width: SIDE, alpha: true });
    return { digit: r.digit, probs: Float32Array.from(r.probs), heat: heat.data.slice(), x: bytes(x),
      lit: r.maps[cls].some((v) => v > 0) };
  }

  draw(fig, s, cls, title) {
    const c = fig.querySelector('canvas'), ctx = c.getContext('2d');
    const g = document.createElement('canvas');
    g.width = g.height = 28;
    const gctx = g.getContext('2d'), img = gctx.createImageData(28, 28);
    gray(s.x, img.data);
    gctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(g, 0, 0, SIDE, SIDE);
    const h = document.createElement('canvas');
    h.width = h.height = SIDE;
    h.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(s.heat), SIDE, SIDE), 0, 0);
    ctx.globalAlpha = 0.8;
    ctx.drawImage(h, 0, 0);
    ctx.globalAlpha = 1;
    const p = (v) => (v < 0.001 ? '<0.1' : (100 * v).toFixed(1)) + '%';
    fig.querySelector('figcaption').replaceChildren(`${title}: reads `, Object.assign(document.createElement('b'),
      { textContent: `${s.digit} (${p(s.probs[s.digit])})` }), s.lit ? `; map of ${cls}` : `; no positive evidence for ${cls}`);
    fig.querySelector('.mini').replaceChildren(...DIGITS.map((d) => {
      const row = document.createElement('span'), bar = document.createElement('i'), pct = document.createElement('s');
      bar.style.width = `${(100 * s.probs[d]).toFixed(1)}%`;
      pct.textContent = p(s.probs[d]);
      row.className = d === s.digit ? 'top' : '';
      row.setAttribute('aria-label', `${d}: ${p(s.probs[d])}`);
      row.append(String(d), bar, pct);
      return row;
    }));
  }

  /** Teach the whole set, from the loaded weights; show before and after. */
  async teach() {
    const lens = this.lens();
    await this.ready;
    const recs = this.store.records;
    if (!lens || !recs.length || this.busy) return;
    this.setBusy(true);
    const { progress } = this.$;
    try {
      const T = await train();
      // the drawing to compare: the one last said, else the last in the set
      const last = recs.at(-1);
      const shown = this.said ?? { x: Float32Array.from(last.px, (v) => v / 255), label: last.label };
      const test = await (this.test ??= T.loadDigits(here('./test1k.bin'), 'test digits').catch((e) => {
        this.test = null;
        throw e;
      }));
      // teaching starts from the loaded weights: the same set, the same network
      lens.resetWeights();
      this.line('Reading the 1,000 test digits…');
      const before = this.shot(shown.x, shown.label);
      const acc0 = await T.evaluate(await lens.saveWeights(), test);
      const examples = recs.flatMap((e) => {
        const x = Float32Array.from(e.px, (v) => v / 255);
        return [x, ...T.variants(x, VARIANTS, e.id)].map((pixels) => ({ pixels, label: e.label }));
      });
      progress.value = 0;
      const t = await lens.fineTune(examples, { onProgress: (s, n) => {
        progress.max = n;
        progress.value = s;
        this.line(`Teaching: step ${s} of ${n}…`);
      } });
      const after = this.shot(shown.x, shown.label);
      const acc1 = await T.evaluate(await lens.saveWeights(), test);
      this.taught = true;
      const [f0, f1] = this.$.figs;
      this.draw(f0, before, shown.label, 'Before');
      this.draw(f1, after, shown.label, 'After');
      const pc = (n) => `${(100 * n / test.count).toFixed(1)} %`;
      this.$.acc.replaceChildren(`MNIST test digits (${test.count.toLocaleString('en')}) read right: `,
        Object.assign(document.createElement('b'), { textContent: pc(acc0) }), ' before, ',
        Object.assign(document.createElement('b'), { textContent: pc(acc1) }), ' after.');
      this.$.ba.hidden = false;
      this.line(`Taught ${recs.length} drawing${recs.length > 1 ? 's' : ''} (${examples.length} images with their ` +
        `variants, and ${T.DEFAULTS.replay} MNIST digits so that it does not forget) in ${Math.round(t.ms)} ms.` +
        (this.store.kept ? '' : ' ' + this.store.why));
      this.el.dispatchEvent(new CustomEvent('taught', { detail: { before: acc0 / test.count, after: acc1 / test.count,
        loss: t.loss, ms: t.ms }, bubbles: true }));
    } catch (e) {
      this.line(`Teaching failed: ${e.message}`);
    }
    this.setBusy(false);
    this.refresh();
  }

  reset() {
    const lens = this.lens();
    if (!lens || this.busy) return;
    lens.resetWeights();
    this.taught = false;
    this.$.ba.hidden = true;
    this.setBusy(false);
    this.line('Back to the loaded weights.');
    this.refresh();
  }

  async save() {
    const lens = this.lens();
    if (!lens) return;
    try {
      const b = await lens.saveWeights();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([b], { type: 'application/octet-stream' }));
      a.download = this.taught ? 'digitlens-taught.safetensors' : 'digitlens.safetensors';
      this.box.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      this.line(`Saved ${a.download} (${b.length.toLocaleString('en')} bytes, F32).`);
    } catch (e) { this.line(`Could not save the weights: ${e.message}`); }
  }

  load() { this.$.file.click(); }

  /** A weights file chosen or dropped: checked like any; a bad one is
   * refused with its message (and the element's `error` event). */
  async drop(file) {
    const lens = this.lens();
    if (!file) return;
    if (!lens || this.busy) return this.line(`${file.name}: ${lens ? 'the network is learning' : 'the model is still loading'}; try again in a moment.`);
    try {
      lens.setWeights(new Uint8Array(await file.arrayBuffer()));
    } catch (e) {
      // (the lens's DigitLensError, its code kept, its message naming the file)
      e.message = `${file.name} is not a weights file this page can use: ${e.message.replace(/\.$/, '')}. ` +
        'The weights in use stay.';
      this.line(e.message);
      this.el.dispatchEvent(new ErrorEvent('error', { error: e, message: e.message }));
      return;
    }
    this.taught = false;
    this.$.ba.hidden = true;
    this.setBusy(false);
    this.line(`Loaded ${file.name}${lens.metadata.fine_tuned ? ` (taught: ${lens.metadata.fine_tuned})` : ''}.`);
    this.refresh();
  }
}

/** Called by digit-lens.js: the panel for element el. */
export function attach(el, lens, refresh) { return new Teach(el, lens, refresh); }
