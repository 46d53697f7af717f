// "See inside": panels that show what the model in this tab does with a name.
//
// Loaded by main.js only when a panel is first opened, together with its style sheet, so the
// page's first load carries none of it. Python computes (zcgpt/insight.py, asked through the
// worker's "inspect" message); this file draws. While training runs, open panels ask again
// about once a second: the worker answers between two training slices.

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 1000;     // while training: how often an open panel asks again
const RETRY_MS = 5000;       // a request with no answer after this long is given up
const VOWELS = new Set('aeiou');

/** Token label: the start and end tokens get one-character names that read well on an axis. */
const tokenLabel = (s) => (s === '<BOS>' ? '^' : s === '<EOS>' ? '.' : s === ' ' ? '␣' : s);
const pct = (p) => `${(100 * p).toFixed(p >= 0.1 ? 0 : 1)}%`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Letters of the vocabulary where an uppercase letter was typed for a lowercase-only vocabulary. */
function normalise(text) {
  const chars = document.body.dataset.chars || '';
  return [...text].map((c) => (chars.includes(c) || !chars.includes(c.toLowerCase()) ? c : c.toLowerCase())).join('');
}

function loadStyle() {
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
      const input = el('input', { id: 'probs-text', type: 'text', value: 'mari', maxlength: '15',
        spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' });
      input.addEventListener('input', ask);
      body.append(
        el('label', { class: 'inside-input' }, 'Type a name or the start of one', input),
        el('p', { class: 'note', id: 'probs-note', 'aria-live': 'polite' }),
        el('div', { class: 'probs', id: 'probs-view' }));
    },
    text: () => normalise($('probs-text').value),
    draw(msg) {
      const view = $('probs-view');
      view.replaceChildren();
      if (msg.note) return;
      // columns: every letter, then the end token; the start token never comes next
      const cols = msg.itos.map((s, i) => i).filter((i) => msg.itos[i] !== '<BOS>');
      cols.push(cols.splice(cols.indexOf(msg.itos.indexOf('<EOS>')), 1)[0]);
      const text = [...msg.text];
      msg.probs.forEach((row, t) => {
        const next = t < text.length ? msg.itos.indexOf(text[t]) : -1;
        const order = cols.slice().sort((a, b) => row[b] - row[a]);
        const seen = t === 0 ? 'the start' : `“${text.slice(0, t).join('')}”`;
        const bars = el('div', { class: 'pbars' });
        for (const i of cols) {
          const bar = el('span', { class: i === next ? 'pbar next' : 'pbar', 'data-ch': tokenLabel(msg.itos[i]),
            title: `${tokenLabel(msg.itos[i])}: ${pct(row[i])}` });
          bar.style.setProperty('--p', row[i].toFixed(4));
          bars.append(bar);
        }
        const top = order.slice(0, 3).map((i) => `${tokenLabel(msg.itos[i])} ${pct(row[i])}`).join(' · ');
        view.append(el('div', { class: 'prow', role: 'img', 'aria-label': `After ${seen}: ${top}`
          + (next >= 0 ? `; “${text[t]}” came next, at ${pct(row[next])}` : '') },
        el('span', { class: 'ctx', text: t === 0 ? '^' : text[t - 1] }), bars, el('span', { class: 'ptop', text: top })));
      });
      const axis = el('div', { class: 'pbars axis', 'aria-hidden': 'true' });
      for (const i of cols) axis.append(el('span', { text: tokenLabel(msg.itos[i]) }));
      view.append(el('div', { class: 'prow paxis' }, el('span', { class: 'ctx' }), axis, el('span', { class: 'ptop' })));
      const last = text.length ? `“${msg.text}”` : 'the start';
      return `Model at step ${msg.step.toLocaleString('en-US')}. Each row: what it expects after the letters on the left `
        + `(^ is the start, . the end of a name). The dark bar is the letter that came next. After ${last}: `
        + `${order3(msg, cols)}.`;
    },
  },

  attention: {
    build(body, ask) {
      const input = el('input', { id: 'att-text', type: 'text', value: 'emma', maxlength: '15',
        spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' });
      input.addEventListener('input', ask);
      body.append(
        el('label', { class: 'inside-input' }, 'Name', input),
        el('p', { class: 'note', id: 'att-note', 'aria-live': 'polite' }),
        el('div', { class: 'heatmaps', id: 'att-view' }));
    },
    text: () => normalise($('att-text').value),
    draw(msg) {
      const view = $('att-view');
      view.replaceChildren();
      if (msg.note) return;
      const labels = ['^', ...msg.text];
      msg.att.forEach((layer, l) => layer.forEach((map, h) => {
        const canvas = el('canvas', { role: 'img', 'aria-label': `Layer ${l + 1}, head ${h + 1}: `
          + labels.map((q, i) => `${q} reads ${labels[argmax(map[i])]}`).join(', ') });
        view.append(el('figure', { class: 'heatmap', 'data-layer': l + 1, 'data-head': h + 1 },
          canvas, el('figcaption', { text: `layer ${l + 1} · head ${h + 1}` })));
        drawHeatmap(canvas, map, labels);
      }));
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
      view.replaceChildren();
      if (msg.note) return;
      view.append(drawScatter(msg.coords, msg.itos.map(tokenLabel), msg.itos));
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
          el('pre', { tabindex: '0' }, el('code', { text: part.source })));
      }
      return 'The forward pass as it runs in this tab, read from the installed zcgpt package with '
        + 'inspect.getsource (not a copy): GPT.forward first, then the layers it calls. The backward pass '
        + 'sits right below each of them in zcgpt/model.py.';
    },
  },
};

function order3(msg, cols) {
  const row = msg.probs.at(-1);
  return cols.slice().sort((a, b) => row[b] - row[a]).slice(0, 3)
    .map((i) => `${tokenLabel(msg.itos[i])} ${pct(row[i])}`).join(', ');
}

const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

function drawHeatmap(canvas, map, labels) {
  const T = labels.length;
  const margin = 14;
  const size = 168;
  const cell = (size - margin) / T;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = size * dpr;
  canvas.height = size * dpr;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const w = j <= i ? map[i][j] : 0;
      ctx.fillStyle = j <= i ? `rgba(37, 99, 235, ${0.04 + 0.96 * w})` : '#f3f4f6';
      ctx.fillRect(margin + j * cell, margin + i * cell, cell - 0.5, cell - 0.5);
    }
  }
  ctx.fillStyle = '#374151';
  ctx.font = `${Math.min(11, Math.max(8, cell * 0.7))}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < T; i++) {
    ctx.fillText(labels[i], margin + (i + 0.5) * cell, margin / 2);   // keys along the top
    ctx.fillText(labels[i], margin / 2, margin + (i + 0.5) * cell);   // queries down the side
  }
}

function drawScatter(coords, labels, itos) {
  const W = 360;
  const H = 260;
  const pad = 18;
  const xs = coords.map((c) => c[0]);
  const ys = coords.map((c) => c[1]);
  const span = (v) => [Math.min(...v), Math.max(...v)];
  const [x0, x1] = span(xs);
  const [y0, y1] = span(ys);
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `Token embeddings projected to 2-D: ${labels.length} points` });
  svg.append(svgEl('line', { x1: sx(0), x2: sx(0), y1: pad / 2, y2: H - pad / 2, class: 'zero' }),
    svgEl('line', { y1: sy(0), y2: sy(0), x1: pad / 2, x2: W - pad / 2, class: 'zero' }));
  coords.forEach(([x, y], i) => {
    const kind = itos[i].length > 1 ? 'special' : VOWELS.has(itos[i].toLowerCase()) ? 'vowel' : 'consonant';
    const g = svgEl('g', { class: `pt ${kind}` });
    const title = svgEl('title');
    title.textContent = itos[i];
    g.append(title, svgEl('circle', { cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: 2.5 }));
    const right = sx(x) > W - 40;                    // keep labels near the right edge inside
    const t = svgEl('text', { x: (sx(x) + (right ? -4 : 4)).toFixed(1), y: (sy(y) - 4).toFixed(1),
      'text-anchor': right ? 'end' : 'start' });
    t.textContent = kind === 'special' ? (labels[i] === '^' ? 'start' : 'end') : labels[i];
    g.append(t);
    svg.append(g);
  });
  return svg;
}

// ---------- requests: one in flight per panel; typing while one is out asks again after ----------

export function createInside({ send, canSend }) {
  const live = {};   // panel name -> {details, pending, sentAt, dirty, answered}
  let seq = 0;

  const ask = (name) => {
    const p = live[name];
    if (!p || !p.details.open) return;
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
    p.details.dataset.step = msg.step ?? '';
    if (p.dirty) ask(msg.what);
  };

  const askAll = (filter = () => true) => {
    for (const name of Object.keys(live)) if (filter(name)) ask(name);
  };

  return {
    /** A <details id="inside-NAME"> was opened: build it the first time, then ask for fresh data. */
    async opened(id) {
      const name = id.replace(/^inside-/, '');
      if (!PANELS[name]) return;
      if (!live[name]) {
        await loadStyle();
        const details = $(id);
        live[name] = { details, pending: null, sentAt: 0, dirty: false, answered: false };
        PANELS[name].build(details.querySelector('.inside-body'), () => ask(name));
        $(`${{ probs: 'probs', attention: 'att', embedding: 'emb', source: 'src' }[name]}-note`).textContent = 'Asking the model…';
      }
      if (!(PANELS[name].once && live[name].answered)) ask(name);
    },

    /** Every message from the worker passes by here. */
    onMessage(msg) {
      if (msg.type === 'insight') answer(msg);
      else if (msg.type === 'progress') {
        const now = performance.now();
        askAll((n) => !PANELS[n].once && !live[n].pending && now - live[n].sentAt > REFRESH_MS);
      } else if (['ready', 'done', 'reset', 'model_loaded'].includes(msg.type)) {
        askAll((n) => !(PANELS[n].once && live[n].answered));
      }
    },
  };
}
