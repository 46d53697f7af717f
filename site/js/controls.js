// The training form and the generate form: read values, keep buttons in step with the state.

const $ = (id) => document.getElementById(id);

// Steps the page suggests per preset: a run of a few seconds to about a minute in a tab.
// (The presets' own step counts are for the desktop CLI.)
export const PAGE_STEPS = { tiny: 2000, small: 500, zeroclaw: 5000 };

/** Typed text as the model spells it: a capital becomes lowercase only when the model's
 * characters (body[data-chars]) lack the capital and have the lowercase letter. */
export function normalise(text) {
  const chars = document.body.dataset.chars || '';
  return [...text].map((c) => (chars.includes(c) || !chars.includes(c.toLowerCase()) ? c : c.toLowerCase())).join('');
}

const NOTES = {
  tiny: 'tiny learns in seconds: shuffled batches of names.',
  small: 'small is wider and deeper: about ten times slower per step, lower loss in the end.',
  zeroclaw: "zeroclaw is the seed's exact recipe: one name per step in file order, names cut to the block.",
};

/** Which buttons work in which state of the page. */
const ENABLED = {
  loading: [],
  ready: ['train'],
  training: ['pause', 'stop', 'reset'],
  paused: ['pause', 'stop', 'reset', 'generate'],
  stopping: ['reset'],
  done: ['train', 'reset', 'generate'],
  error: ['reset'],
};

export function createControls({ onTrain, onPause, onStop, onReset, onGenerate }) {
  let presets = {};

  const applyPreset = () => {
    const name = $('preset').value;
    $('steps').value = PAGE_STEPS[name] ?? 1000;
    if (presets[name]) $('lr').value = presets[name].lr;
    const p = presets[name];
    const shape = p ? ` ${p.params.toLocaleString('en-US')} parameters: ${p.n_layer} layer${p.n_layer > 1 ? 's' : ''}, `
      + `width ${p.n_embd}, ${p.n_head} heads, block ${p.block_size}, batch ${p.batch_size}.` : '';
    $('preset-note').textContent = (NOTES[name] || '') + shape;
  };
  $('preset').addEventListener('change', applyPreset);

  const intIn = (id, lo, hi) => {
    const v = Math.round(Number($(id).value));
    if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${$(id).closest('label').firstChild.textContent.trim()} must be between ${lo} and ${hi}`);
    return v;
  };

  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    let run;
    try {
      const lr = Number($('lr').value);
      if (!(lr > 0 && lr <= 1)) throw new Error('Learning rate must be above 0 and at most 1');
      run = { preset: $('preset').value, steps: intIn('steps', 1, 100000), seed: intIn('seed', 0, 4294967295), lr };
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
    const n = Math.max(1, Math.min(200, Math.round(Number($('gen-n').value)) || 20));
    $('gen-n').value = n;
    onGenerate({ n, temperature: Number(temp.value), prefix: normalise($('prefix').value.trim()) });
  });

  return {
    /** Presets arrive from Python (the engine's own numbers); fill the form from them. */
    setPresets(p) {
      presets = p;
      applyPreset();
    },
    setState(state, { paused = false } = {}) {
      const on = new Set(ENABLED[state] || []);
      for (const id of ['train', 'pause', 'stop', 'reset', 'generate']) $(id).disabled = !on.has(id);
      $('pause').textContent = paused ? 'Resume' : 'Pause';
      const locked = state === 'training' || state === 'paused' || state === 'stopping' || state === 'loading';
      for (const id of ['preset', 'steps', 'seed', 'lr']) $(id).disabled = locked;
    },
    seed: () => Number($('seed').value) || 0,
  };
}
