// The training form and the generate form: read values, keep buttons in step with the state.
// Presets, their suggested steps and the limits come from Python's "ready" message.

import { ENABLED, LOCKED, page } from './page.js';

const $ = (id) => document.getElementById(id);

/** Typed text as the model spells it: a capital becomes lowercase only when the model's
 * characters lack the capital and have the lowercase letter. */
export function normalise(text) {
  const chars = page.chars;
  return [...text].map((c) => (chars.includes(c) || !chars.includes(c.toLowerCase()) ? c : c.toLowerCase())).join('');
}

export function createControls({ onTrain, onPause, onStop, onReset, onGenerate }) {
  const applyPreset = () => {
    const p = page.presets[$('preset').value];
    if (!p) return;
    $('steps').value = p.page_steps;
    $('lr').value = p.lr;
    $('preset-note').textContent = `${p.note} ${p.params.toLocaleString('en-US')} parameters: ${p.n_layer} layer${p.n_layer > 1 ? 's' : ''}, `
      + `width ${p.n_embd}, ${p.n_head} heads, block ${p.block_size}, batch ${p.batch_size}.`;
  };
  $('preset').addEventListener('change', applyPreset);

  const label = (id) => $(id).closest('label').firstChild.textContent.trim();
  const numberIn = (id, integer) => {
    const [lo, hi] = page.limits[id];
    const v = integer ? Math.round(Number($(id).value)) : Number($(id).value);
    if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${label(id)} must be between ${lo} and ${hi}`);
    return v;
  };

  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    let run;
    try {
      run = { preset: $('preset').value, steps: numberIn('steps', true), seed: numberIn('seed', true), lr: numberIn('lr', false) };
    } catch (err) {
      onTrain(null, err.message);
      return;
    }
    onTrain(run);
  });
  $('pause').addEventListener('click', () => onPause());
  $('stop').addEventListener('click', () => onStop());
  $('reset').addEventListener('click', () => onReset());

  const temp = $('temperature');
  const showTemp = () => { $('temp-value').textContent = Number(temp.value).toFixed(2); };
  temp.addEventListener('input', showTemp);
  showTemp();
  $('gen').addEventListener('submit', (e) => {
    e.preventDefault();
    const [lo, hi] = page.limits.generate;
    const n = Math.max(lo, Math.min(hi, Math.round(Number($('gen-n').value)) || 20));
    $('gen-n').value = n;
    onGenerate({ n, temperature: Number(temp.value), prefix: normalise($('prefix').value.trim()) });
  });

  return {
    /** Fill the model select and the limits of the form from Python's "ready". */
    setup() {
      const chosen = $('preset').value;
      $('preset').replaceChildren(...Object.keys(page.presets).map((name) => {
        const o = document.createElement('option');
        o.value = name;
        o.textContent = name;
        return o;
      }));
      if (page.presets[chosen]) $('preset').value = chosen;
      for (const id of ['steps', 'seed', 'lr']) [$(id).min, $(id).max] = page.limits[id].map(String);
      [$('gen-n').min, $('gen-n').max] = page.limits.generate.map(String);
      applyPreset();
    },
    onState(state) {
      const on = new Set(ENABLED[state] || []);
      for (const id of ['train', 'pause', 'stop', 'reset', 'generate']) $(id).disabled = !on.has(id);
      $('pause').textContent = page.paused ? 'Resume' : 'Pause';
      for (const id of ['preset', 'steps', 'seed', 'lr']) $(id).disabled = LOCKED.has(state);
    },
    seed: () => Number($('seed').value) || 0,
  };
}
