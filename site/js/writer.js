// "Watch it write a name": the model writes one name a letter at a time. Each step shows the
// probabilities the draw used (after temperature and top-k), the letter drawn, and where the
// position that drew it looked (its attention, per layer and head). Python writes the name
// with the same generator as `python -m zcgpt sample --seed S -n 1`, so the letters match it.

import { el, loadStyle, pct, tokenLabel, tokenName } from './inside.js';

const $ = (id) => document.getElementById(id);
const AUTO_MS = 700;

export function createWriter({ send, canSend }) {
  let built = false;
  let upto = 0;          // letters shown
  let asked = 0;
  let last = null;       // the latest answer
  let auto = null;

  const settings = () => ({
    prefix: $('w-prefix').value.trim(), temperature: Number($('w-temp').value),
    top_k: Math.max(0, Math.round(Number($('w-topk').value) || 0)), seed: Math.max(0, Math.round(Number($('w-seed').value) || 0)),
  });
  const ask = () => {
    if (!canSend()) return;
    send({ type: 'write', id: ++asked, upto, ...settings() });
  };
  const stopAuto = () => { clearInterval(auto); auto = null; $('w-auto').textContent = 'Auto'; };
  const next = () => {
    if (last?.done) { stopAuto(); return; }
    upto += 1;
    ask();
  };

  function build(body) {
    const input = (id, label, attrs) => el('label', {}, label, el('input', { id, ...attrs }));
    body.append(
      el('div', { class: 'writer-row' },
        input('w-prefix', 'Starts with', { type: 'text', maxlength: '15', spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' }),
        input('w-temp', 'Temperature', { type: 'number', min: '0.1', max: '2', step: '0.1', value: '1' }),
        input('w-topk', 'Top-k (0 = all)', { type: 'number', min: '0', step: '1', value: '0' }),
        input('w-seed', 'Seed', { type: 'number', min: '0', step: '1', value: '0' })),
      el('div', { class: 'writer-row' },
        el('button', { type: 'button', id: 'w-back', text: 'Back' }),
        el('button', { type: 'button', id: 'w-next', class: 'primary', text: 'Next letter' }),
        el('button', { type: 'button', id: 'w-auto', text: 'Auto' }),
        el('button', { type: 'button', id: 'w-restart', text: 'Start over' })),
      el('p', { class: 'writer-name', id: 'w-name', 'aria-live': 'polite' }),
      el('p', { class: 'note', id: 'w-note' }),
      el('div', { class: 'writer-bars', id: 'w-bars' }),
      el('div', { class: 'writer-att', id: 'w-att' }));
    $('w-next').addEventListener('click', () => { stopAuto(); next(); });
    $('w-back').addEventListener('click', () => { stopAuto(); upto = Math.max(0, upto - 1); ask(); });
    $('w-restart').addEventListener('click', () => { stopAuto(); upto = 0; ask(); });
    $('w-auto').addEventListener('click', () => {
      if (auto) { stopAuto(); return; }
      if (last?.done) upto = 0;
      auto = setInterval(next, AUTO_MS);
      $('w-auto').textContent = 'Pause';
      next();
    });
    for (const id of ['w-prefix', 'w-temp', 'w-topk', 'w-seed']) $(id).addEventListener('input', () => { stopAuto(); upto = 0; ask(); });
  }

  function draw(msg) {
    if (msg.id !== asked) return;
    last = msg;
    if (msg.note) {
      $('w-note').textContent = msg.note;
      $('w-name').textContent = '';
      $('w-bars').replaceChildren();
      $('w-att').replaceChildren();
      return;
    }
    const letters = msg.letters;
    const word = msg.prefix + letters.join('');
    $('w-name').replaceChildren(el('span', { class: 'w-prefix', text: msg.prefix }),
      ...letters.map((ch, i) => el('span', { class: i === letters.length - 1 ? 'w-new' : '', text: ch || '.' })));
    $('w-name').dataset.word = word;
    $('w-name').dataset.done = String(msg.done);
    $('w-back').disabled = upto === 0;
    $('w-next').disabled = msg.done;
    if (!letters.length) {
      $('w-note').textContent = 'Press Next letter: the model writes one name, a letter at a time.';
      $('w-bars').replaceChildren();
      $('w-att').replaceChildren();
      return;
    }
    const drawn = letters.at(-1);
    const drawnIndex = drawn === '' ? msg.itos.indexOf('<EOS>') : msg.itos.indexOf(drawn);
    const order = msg.probs.map((p, i) => i).filter((i) => msg.probs[i] > 0.001).sort((a, b) => msg.probs[b] - msg.probs[a]).slice(0, 12);
    if (!order.includes(drawnIndex)) order.push(drawnIndex);
    $('w-bars').replaceChildren(...order.map((i) => el('div', { class: i === drawnIndex ? 'wbar drawn' : 'wbar' },
      el('span', { class: 'wch', text: tokenLabel(msg.itos[i]) }),
      el('span', { class: 'wfill', style: `width: ${(100 * msg.probs[i]).toFixed(1)}%` }),
      el('span', { class: 'wpct', text: pct(msg.probs[i]) }))));
    const context = ['^', ...(msg.prefix + letters.slice(0, -1).join(''))];
    $('w-att').replaceChildren(...msg.att.flatMap((layer, l) => layer.map((row, h) => el('div', { class: 'watt-row' },
      el('span', { class: 'wlab', text: `layer ${l + 1} head ${h + 1}` }),
      ...row.map((a, j) => el('span', { class: 'watt', style: `--a: ${a.toFixed(3)}`, title: `${context[j]}: ${pct(a)}`, text: context[j] }))))));
    $('w-note').textContent = `Model at step ${msg.step.toLocaleString('en-US')}. It drew ${drawn === '' ? 'the end token' : `“${tokenName(drawn)}”`} `
      + `with probability ${pct(msg.probs[drawnIndex])}. Below: how strongly that position read each earlier one.`
      + (msg.done ? ` The name is done: ${word}.` : '');
  }

  return {
    async opened() {
      if (!built) {
        await loadStyle();
        build($('inside-writer').querySelector('.inside-body'));
        $('inside-writer').addEventListener('tabhide', () => { if (auto) stopAuto(); });   // no writing out of sight
        built = true;
      }
      ask();
    },
    handlers: { written: draw, done: () => built && ask(), model_loaded: () => built && ask() },
  };
}
