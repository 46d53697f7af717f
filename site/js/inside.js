// "See inside": panels that show what the model in this tab does with a name.
//
// Loaded by main.js only when a panel is first opened, together with its style sheet, so the
// page's first load carries none of it. Python computes (zcgpt/insight.py, asked through the
// worker's "inspect" message); this file draws. While training runs, open panels ask again
// about once a second: the worker answers between two training ticks.

import { normalise } from './controls.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 1000;     // while training: how often an open panel asks again
const RETRY_MS = 5000;       // a request with no answer after this long is given up
const VOWELS = new Set('aeiou');

/** Token label: the start and end tokens get one-character names that read well on an axis. */
export const tokenLabel = (s) => (s === '<BOS>' ? '^' : s === '<EOS>' ? '.' : s === ' ' ? '␣' : s);
/** Token name in running text: the end token is spelled out. */
export const tokenName = (s) => (s === '<EOS>' ? 'end' : tokenLabel(s));
export const pct = (p) => `${(100 * p).toFixed(p >= 0.1 ? 0 : 1)}%`;

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

export function svgEl(tag, attrs = {}) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Letters of the vocabulary where an uppercase letter was typed for a lowercase-only vocabulary. */

export function loadStyle() {
  const href = new URL('../inside.css', import.meta.url).href;
  if (document.querySelector(`link[href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve) => {
    const link = el('link', { rel: 'stylesheet', href });
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve);   // unstyled beats never shown
    document.head.append(link);
  });
}

// ---------- the four panels: each builds its controls once and draws an answer ----------

const PANELS = {
  probs: {
    build(body, ask) {
      const input = el('input', { id: 'probs-text', type: 'text', value: 'mari', maxlength: '15', list: 'inside-names',
        spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' });
      input.addEventListener('input', ask);
      body.append(
        el('label', { class: 'inside-input' }, 'Type a name or the start of one', input), namesList(),
        el('p', { class: 'note', id: 'probs-note', 'aria-live': 'polite' }),
        el('div', { class: 'ptop5', id: 'probs-top' }),
        el('p', { class: 'probs-head', id: 'probs-head', text: 'Letter by letter (each row scaled to its likeliest letter):' }),
        el('div', { class: 'probs', id: 'probs-view' }));
    },
    text: () => normalise($('probs-text').value),
    draw(msg) {
      const view = $('probs-view');
      $('probs-head').hidden = Boolean(msg.note);
      if (msg.note) { reshape(view, ''); $('probs-top').replaceChildren(); return; }
      // columns: every letter, then the end token; the start token never comes next
      const cols = msg.itos.map((s, i) => i).filter((i) => msg.itos[i] !== '<BOS>');
      cols.push(cols.splice(cols.indexOf(msg.itos.indexOf('<EOS>')), 1)[0]);
      const text = [...msg.text];
      if (reshape(view, `${msg.text}|${msg.itos.join('')}`)) {
        msg.probs.forEach((_, t) => {
          const next = t < text.length ? msg.itos.indexOf(text[t]) : -1;
          const bars = el('div', { class: 'pbars' });
          for (const i of cols) {
            bars.append(el('span', { class: i === next ? 'pbar next' : 'pbar', 'data-ch': tokenLabel(msg.itos[i]) }));
          }
          view.append(el('div', { class: 'prow', role: 'img' },
            el('span', { class: 'ctx', text: t === 0 ? '^' : text[t - 1] }), bars, el('span', { class: 'ptop' })));
        });
        const axis = el('div', { class: 'pbars axis', 'aria-hidden': 'true' });
        for (const i of cols) axis.append(el('span', { text: tokenLabel(msg.itos[i]) }));
        view.append(el('div', { class: 'prow paxis' }, el('span', { class: 'ctx' }), axis, el('span', { class: 'ptop' })));
      }
      // values only: while training, a refresh changes no layout outside the bars
      msg.probs.forEach((row, t) => {
        const rowEl = view.children[t];
        const next = t < text.length ? msg.itos.indexOf(text[t]) : -1;
        const most = Math.max(...cols.map((i) => row[i])) || 1;   // the likeliest letter fills the row
        cols.forEach((i, c) => {
          const bar = rowEl.children[1].children[c];
          bar.style.setProperty('--p', (row[i] / most).toFixed(4));
          bar.title = `${tokenName(msg.itos[i])}: ${pct(row[i])}`;
        });
        const top = cols.slice().sort((x, y) => row[y] - row[x]).slice(0, 3)
          .map((i) => `${tokenName(msg.itos[i])} ${pct(row[i])}`).join(' · ');
        rowEl.children[2].textContent = top;
        rowEl.setAttribute('aria-label', `After ${t === 0 ? 'the start' : `“${text.slice(0, t).join('')}”`}: ${top}`
          + (next >= 0 ? `; “${text[t]}” came next, at ${pct(row[next])}` : ''));
      });
      const last = text.length ? `“${msg.text}”` : 'the start';
      showTop5(msg, cols);
      return `Model at step ${msg.step.toLocaleString('en-US')}. The likeliest letters after ${last}, then one row per `
        + 'position: what it expects after the letter on the left (^ is the start, . the end of a name); '
        + 'the dark bar is the letter that came next.';
    },
  },

  attention: {
    build(body, ask) {
      const input = el('input', { id: 'att-text', type: 'text', value: 'emma', maxlength: '15', list: 'inside-names',
        spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' });
      input.addEventListener('input', ask);
      body.append(
        el('label', { class: 'inside-input' }, 'Name (type one, or pick one the model made)', input), namesList(),
        el('p', { class: 'note', id: 'att-note', 'aria-live': 'polite' }),
        el('div', { class: 'heatmaps', id: 'att-view' }));
    },
    text: () => normalise($('att-text').value),
    draw(msg) {
      const view = $('att-view');
      if (msg.note) { reshape(view, ''); return; }
      const labels = ['^', ...msg.text];
      if (reshape(view, `${msg.text}|${msg.att.length}|${msg.att[0].length}`)) {
        msg.att.forEach((layer, l) => layer.forEach((_, h) => {
          view.append(el('figure', { class: 'heatmap', 'data-layer': l + 1, 'data-head': h + 1 },
            heatmap(labels), el('figcaption', { text: `layer ${l + 1} · head ${h + 1}` })));
        }));
      }
      msg.att.flat().forEach((map, k) => {
        const svg = view.children[k].firstChild;
        const { layer, head } = view.children[k].dataset;
        fillHeatmap(svg, map);
        svg.setAttribute('aria-label', `Layer ${layer}, head ${head}: `
          + labels.map((q, i) => `${q} reads ${labels[argmax(map[i])]}`).join(', '));
      });
      return `Model at step ${msg.step.toLocaleString('en-US')}. Each square: one head of one layer. Row = the letter `
        + 'that is reading, column = the letter it reads; darker = more attention. Nothing above the diagonal: '
        + 'a position cannot see the future.';
    },
  },

  embedding: {
    build(body) {
      body.append(
        el('p', { class: 'note', id: 'emb-note', 'aria-live': 'polite' }),
        el('div', { class: 'embed', id: 'emb-view' }));
    },
    draw(msg) {
      const view = $('emb-view');
      if (msg.note) { reshape(view, ''); return; }
      if (reshape(view, msg.itos.join(''))) view.append(scatter(msg.itos));
      fillScatter(view.firstChild, msg.coords);
      const [a, b] = msg.share.map((s) => `${Math.round(100 * s)}%`);
      return `Model at step ${msg.step.toLocaleString('en-US')}. Each token's learned vector (wte), squeezed from `
        + `${msg.itos.length} × width to 2-D by PCA: the axes keep ${a} and ${b} of the spread. `
        + 'Letters the model treats alike sit close; vowels in orange, start and end tokens in grey.';
    },
  },

  source: {
    once: true,   // the code does not change while training
    build(body) {
      body.append(
        el('p', { class: 'note', id: 'src-note', 'aria-live': 'polite' }),
        el('div', { class: 'source', id: 'src-view' }));
    },
    draw(msg) {
      const view = $('src-view');
      view.replaceChildren();
      for (const part of msg.parts) {
        view.append(
          el('h3', {}, el('code', { text: part.name }), el('span', { class: 'muted', text: ` ${part.file}, line ${part.line}` })),
          el('pre', { tabindex: '0', 'aria-label': `Python source of ${part.name}` }, el('code', {}, ...pythonLines(part.source))));
      }
      return 'The forward pass as it runs in this tab, read from the installed zcgpt package with '
        + 'inspect.getsource (not a copy): GPT.forward first, then the layers it calls. The backward pass '
        + 'sits right below each of them in zcgpt/model.py.';
    },
  },
};

/** One <datalist> of the names the model made lately, shared by both inputs. */
function namesList() {
  return $('inside-names') || el('datalist', { id: 'inside-names' });
}

function offerNames(names) {
  const list = $('inside-names');
  if (!list || !names?.length) return;
  const seen = new Set();
  const fresh = names.map((x) => x.name).filter((n) => n && !seen.has(n) && seen.add(n));
  list.replaceChildren(...fresh.map((n) => el('option', { value: n })));
}

/** Source text as nodes, with each line's # comment in a span (strings are skipped over). */
function pythonLines(source) {
  const out = [];
  for (const line of source.split('\n')) {
    let quote = null;
    let cut = -1;
    for (let i = 0; i < line.length && cut < 0; i++) {
      const ch = line[i];
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#') cut = i;
    }
    out.push(cut < 0 ? line : line.slice(0, cut));
    if (cut >= 0) out.push(el('span', { class: 'c', text: line.slice(cut) }));
    out.push('\n');
  }
  out.pop();
  return out;
}

/** The five likeliest tokens after the whole text: a labelled bar each, as wide as its chance. */
function showTop5(msg, cols) {
  const row = msg.probs.at(-1);
  const best = cols.slice().sort((a, b) => row[b] - row[a]).slice(0, 5);
  $('probs-top').replaceChildren(...best.map((i) => {
    const fill = el('span', { class: 'fill' });
    fill.style.setProperty('--p', row[i].toFixed(4));
    return el('div', { class: 't5', role: 'img', 'aria-label': `${tokenName(msg.itos[i])}: ${pct(row[i])}` },
      el('span', { class: 'ch', text: tokenName(msg.itos[i]) }), el('span', {}, fill), el('span', { class: 'pc', text: pct(row[i]) }));
  }));
}

const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

/** Empty view when what it shows changed shape (key); true then, so the caller builds it anew. */
function reshape(view, key) {
  if (view.dataset.key === key && key) return false;
  view.replaceChildren();
  view.dataset.key = key;
  return Boolean(key);
}

const HEAT = { margin: 14, size: 168 };

/** An empty T x T heatmap as SVG (crisp at any size, no canvas to set up): row i reads column j. */
function heatmap(labels) {
  const T = labels.length;
  const { margin, size } = HEAT;
  const cell = (size - margin) / T;
  const font = Math.min(11, Math.max(7, cell * 0.7)).toFixed(1);
  const svg = svgEl('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img' });
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      svg.append(svgEl('rect', { x: (margin + j * cell).toFixed(2), y: (margin + i * cell).toFixed(2),
        width: (cell - 0.6).toFixed(2), height: (cell - 0.6).toFixed(2), class: j > i ? 'future' : '' }));
    }
  }
  for (let i = 0; i < T; i++) {
    const top = svgEl('text', { x: (margin + (i + 0.5) * cell).toFixed(1), y: margin / 2, 'font-size': font });
    const side = svgEl('text', { x: margin / 2, y: (margin + (i + 0.5) * cell).toFixed(1), 'font-size': font });
    top.textContent = labels[i];     // keys along the top
    side.textContent = labels[i];    // queries down the side
    svg.append(top, side);
  }
  return svg;
}

function fillHeatmap(svg, map) {
  const T = map.length;
  const rects = svg.children;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= i; j++) rects[i * T + j].setAttribute('fill-opacity', (0.04 + 0.96 * map[i][j]).toFixed(3));
  }
}

const SCATTER = { W: 360, H: 260, pad: 18 };

/** Points with labels for every token; fillScatter places them. */
function scatter(itos) {
  const { W, H } = SCATTER;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `Token embeddings projected to 2-D: ${itos.length} points` });
  svg.append(svgEl('line', { class: 'zero' }), svgEl('line', { class: 'zero' }));
  for (const tok of itos) {
    const kind = tok.length > 1 ? 'special' : VOWELS.has(tok.toLowerCase()) ? 'vowel' : 'consonant';
    const g = svgEl('g', { class: `pt ${kind}` });
    const title = svgEl('title');
    title.textContent = tok;
    const t = svgEl('text');
    t.textContent = tok === '<BOS>' ? 'start' : tok === '<EOS>' ? 'end' : tokenLabel(tok);
    g.append(title, svgEl('circle', { r: 2.5 }), t);
    svg.append(g);
  }
  return svg;
}

function fillScatter(svg, coords) {
  const { W, H, pad } = SCATTER;
  const span = (v) => [Math.min(...v), Math.max(...v)];
  const [x0, x1] = span(coords.map((c) => c[0]));
  const [y0, y1] = span(coords.map((c) => c[1]));
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const set = (e, attrs) => { for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); };
  const [vert, horiz] = svg.querySelectorAll('line');
  set(vert, { x1: sx(0).toFixed(1), x2: sx(0).toFixed(1), y1: pad / 2, y2: H - pad / 2 });
  set(horiz, { y1: sy(0).toFixed(1), y2: sy(0).toFixed(1), x1: pad / 2, x2: W - pad / 2 });
  svg.querySelectorAll('g.pt').forEach((g, i) => {
    const [x, y] = [sx(coords[i][0]), sy(coords[i][1])];
    const right = x > W - 40;                        // keep labels near the right edge inside
    set(g.querySelector('circle'), { cx: x.toFixed(1), cy: y.toFixed(1) });
    set(g.querySelector('text'), { x: (x + (right ? -4 : 4)).toFixed(1), y: (y - 4).toFixed(1),
      'text-anchor': right ? 'end' : 'start' });
  });
}

// ---------- requests: one in flight per panel; typing while one is out asks again after ----------

export function createInside({ send, canSend }) {
  const live = {};   // view name -> {panel, pending, sentAt, dirty, answered}
  let seq = 0;

  const ask = (name) => {
    const p = live[name];
    if (!p || p.panel.hidden) return;
    if (!canSend()) { p.dirty = true; return; }
    if (p.pending && performance.now() - p.sentAt < RETRY_MS) { p.dirty = true; return; }
    p.pending = ++seq;
    p.sentAt = performance.now();
    p.dirty = false;
    const spec = PANELS[name];
    send({ type: 'inspect', what: name, id: p.pending, text: spec.text ? spec.text() : '' });
  };

  const answer = (msg) => {
    const p = live[msg.what];
    if (!p || msg.id !== p.pending) return;   // an answer to a request overtaken by typing
    p.pending = null;
    const note = $(`${{ probs: 'probs', attention: 'att', embedding: 'emb', source: 'src' }[msg.what]}-note`);
    const said = PANELS[msg.what].draw(msg);
    note.textContent = msg.note || said || '';
    note.classList.toggle('warn', Boolean(msg.note));
    p.answered = !msg.note;
    p.panel.dataset.step = msg.step ?? '';
    if (p.dirty) ask(msg.what);
  };

  const askAll = (filter = () => true) => {
    for (const name of Object.keys(live)) if (filter(name)) ask(name);
  };
  const refresh = () => askAll((n) => !(PANELS[n].once && live[n].answered));

  return {
    /** The view id="inside-NAME" was shown: build it the first time, then ask for fresh data. */
    async opened(id) {
      const name = id.replace(/^inside-/, '');
      if (!PANELS[name]) return;
      if (!live[name]) {
        await loadStyle();
        const panel = $(id);
        live[name] = { panel, pending: null, sentAt: 0, dirty: false, answered: false };
        PANELS[name].build(panel.querySelector('.inside-body'), () => ask(name));
        $(`${{ probs: 'probs', attention: 'att', embedding: 'emb', source: 'src' }[name]}-note`).textContent = 'Asking the model…';
      }
      if (!(PANELS[name].once && live[name].answered)) ask(name);
    },

    handlers: {
      insight: answer,
      progress(msg) {
        if (msg.samples) offerNames(msg.samples);
        const now = performance.now();
        askAll((n) => !PANELS[n].once && !live[n].pending && now - live[n].sentAt > REFRESH_MS);
      },
      generated(msg) { offerNames(msg.names); },
      done(msg) { offerNames(msg.samples); refresh(); },
      ready: refresh,
      reset: refresh,
      model_loaded: refresh,
    },
  };
}
