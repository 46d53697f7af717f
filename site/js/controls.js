// The training form, the model designer and the generate form: read values, keep buttons in
// step with the state. Presets, the designer's fields and the limits come from Python's
// "ready"; every change of the design is sent to Python, which answers with its cost or its
// problems ("design"), and Train waits for a design Python accepts.

import { ENABLED, LOCKED, page } from './page.js';

const $ = (id) => document.getElementById(id);
const IN_FORM = new Set(['steps', 'lr']);   // design fields that sit in the main form

/** Typed text as the model spells it: a capital becomes lowercase only when the model's
 * characters lack the capital and have the lowercase letter. */
export function normalise(text) {
  const chars = page.chars;
  return [...text].map((c) => (chars.includes(c) || !chars.includes(c.toLowerCase()) ? c : c.toLowerCase())).join('');
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const fmtBig = (n) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} billion` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} million` : fmt(n));
function fmtTime(s) {
  if (s < 90) return `${Math.max(1, Math.round(s))} s`;
  return `${Math.round(s / 60)} min`;
}

/** One designer field: its label in words with the Config name after it, an (i) that shows
 * one line of help (a button, so touch screens get it too), the input and its problem. */
function fieldInput(f) {
  const box = document.createElement('div');
  box.className = f.type === 'bool' ? 'field bool' : 'field';
  box.dataset.field = f.name;
  let input;
  if (f.type === 'bool') {
    input = document.createElement('input');
    input.type = 'checkbox';
  } else if (f.choices.length) {
    input = document.createElement('select');
    for (const c of f.choices) input.append(new Option(c, c));
  } else {
    input = document.createElement('input');
    input.type = 'number';
    input.step = f.type === 'int' ? '1' : 'any';
    input.inputMode = f.type === 'int' ? 'numeric' : 'decimal';
  }
  input.id = `f-${f.name}`;
  input.name = f.name;
  const label = document.createElement('label');
  label.htmlFor = input.id;
  const code = document.createElement('code');
  code.textContent = f.name;
  label.append(`${f.label || f.name} `, code);
  const help = document.createElement('p');
  help.className = 'help';
  help.id = `h-${f.name}`;
  help.textContent = f.help;
  help.hidden = true;
  const info = document.createElement('button');
  info.type = 'button';
  info.className = 'info';
  info.textContent = 'i';
  info.setAttribute('aria-label', `What is ${f.label || f.name}?`);
  info.setAttribute('aria-expanded', 'false');
  info.setAttribute('aria-controls', help.id);
  info.addEventListener('click', () => {
    help.hidden = !help.hidden;
    info.setAttribute('aria-expanded', String(!help.hidden));
    if (help.hidden) input.removeAttribute('aria-describedby');
    else input.setAttribute('aria-describedby', help.id);
  });
  const head = document.createElement('div');
  head.className = 'field-head';
  if (f.type === 'bool') {
    label.className = 'check';
    label.prepend(input, ' ');
    head.append(label, info);
    box.append(head);
  } else {
    head.append(label, info);
    box.append(head, input);
  }
  const problem = document.createElement('span');
  problem.className = 'problem';
  problem.id = `p-${f.name}`;
  box.append(help, problem);
  return box;
}

export function createControls({ onTrain, onPause, onStop, onReset, onGenerate, send, showDesigner }) {
  let fields = [];        // from "ready": [{name, type, help, choices}]
  let verdict = null;     // Python's answer for the design on screen: {problems, refused, ...}
  let asked = 0;          // id of the last design question
  let timer = null;

  const input = (name) => (IN_FORM.has(name) ? $(name) : $(`f-${name}`));
  const valueOf = (f) => {
    const el = input(f.name);
    if (f.type === 'bool') return el.checked;
    if (f.type === 'str') return el.value;
    return el.value.trim() === '' ? NaN : Number(el.value);
  };

  /** The design fields that differ from the chosen preset (steps and lr always go along). */
  const changes = () => {
    const p = page.presets[$('preset').value] || {};
    const out = {};
    for (const f of fields) {
      const v = valueOf(f);
      if (IN_FORM.has(f.name) || v !== p[f.name]) out[f.name] = Number.isNaN(v) ? String(input(f.name).value) : v;
    }
    return out;
  };

  /** Ask Python what this design costs, a moment after the last change. */
  const ask = () => {
    clearTimeout(timer);
    verdict = null;
    timer = setTimeout(() => {
      if (!fields.length) return;
      send({ type: 'design', preset: $('preset').value, changes: changes(), id: ++asked });
    }, 120);
    onState(page.state);
  };

  const setValues = (values) => {
    for (const f of fields) {
      if (!(f.name in values)) continue;
      const el = input(f.name);
      if (f.type === 'bool') el.checked = Boolean(values[f.name]);
      else el.value = String(values[f.name]);
    }
  };

  const applyPreset = () => {
    const p = page.presets[$('preset').value];
    if (!p) return;
    setValues({ ...p, steps: p.page_steps });
    $('preset-note').textContent = `${p.note} ${p.n_layer} layer${p.n_layer > 1 ? 's' : ''}, `
      + `width ${p.n_embd}, ${p.n_head} heads, context ${p.block_size}, batch ${p.batch_size}.`;
    ask();
  };
  $('preset').addEventListener('change', applyPreset);
  $('controls').addEventListener('input', (e) => { if (e.target.id !== 'seed' && e.target.id !== 'preset') ask(); });
  // 'input' covers typing, selects and switches; a 'change' on leaving a field would ask again
  // and turn Train off under the click that left it.
  $('design-fields').addEventListener('input', ask);

  const label = (id) => $(id).closest('label').firstChild.textContent.trim();
  const seedIn = () => {
    const [lo, hi] = page.limits.seed;
    const v = Number($('seed').value);
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${label('seed')} must be a whole number from ${lo} to ${hi}`);
    return v;
  };

  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!verdict || Object.keys(verdict.problems).length || verdict.refused) {
      onTrain(null, 'This design cannot train yet: see the note below the settings (and the Design tab).');
      return;
    }
    let seed;
    try {
      seed = seedIn();
    } catch (err) {
      onTrain(null, err.message);
      return;
    }
    const c = verdict.config;
    onTrain({ preset: $('preset').value, seed, steps: c.steps, lr: c.lr, changes: changes(), params: verdict.params });
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

  function onState(state) {
    const on = new Set(ENABLED[state] || []);
    const designOk = verdict && !Object.keys(verdict.problems).length && !verdict.refused;
    for (const id of ['train', 'pause', 'stop', 'reset', 'generate']) $(id).disabled = !on.has(id);
    if (!designOk) $('train').disabled = true;
    $('pause').textContent = page.paused ? 'Resume' : 'Pause';
    for (const el of document.querySelectorAll('#controls input, #controls select, #design-fields input, #design-fields select')) {
      el.disabled = LOCKED.has(state);
    }
  }

  /** Python's answer about the design on screen (older answers are dropped). */
  function showDesign(msg) {
    if (msg.id !== asked) return;
    verdict = msg;
    for (const f of fields) {
      const problem = msg.problems[f.name] || '';
      $(`p-${f.name}`)?.replaceChildren(problem);
      input(f.name).closest('.field, label')?.classList.toggle('bad', Boolean(problem));
      input(f.name).setCustomValidity?.(problem);
    }
    const cost = $('design-cost');
    const problems = Object.values(msg.problems);
    if (problems.length) {
      cost.textContent = `Cannot train this design: ${problems.join(' ')}`;
      if (Object.keys(msg.problems).some((n) => !IN_FORM.has(n))) showDesigner();
    } else if (msg.refused) {
      cost.textContent = `Too big for this tab: ${msg.refused}.`;
    } else {
      cost.textContent = `${fmt(msg.params)} parameters · ${fmt(msg.tokens_per_step)} tokens and `
        + `${fmtBig(msg.multiply_adds)} multiply-adds per step · about ${fmtTime(msg.est_seconds)} for `
        + `${fmt(msg.config.steps)} steps ${msg.measured ? 'at the speed this tab measured' : '(a first guess until a run measures this tab)'}.`;
    }
    cost.classList.toggle('error', Boolean(problems.length || msg.refused));
    onState(page.state);
  }

  return {
    /** Fill the model select, the designer and the limits of the form from Python's "ready". */
    setup() {
      const chosen = $('preset').value;
      $('preset').replaceChildren(...Object.keys(page.presets).map((name) => new Option(name, name)));
      if (page.presets[chosen]) $('preset').value = chosen;
      for (const id of ['steps', 'seed', 'lr']) [$(id).min, $(id).max] = page.limits[id].map(String);
      [$('gen-n').min, $('gen-n').max] = page.limits.generate.map(String);
      fields = page.fields;
      $('design-fields').replaceChildren(...fields.filter((f) => !IN_FORM.has(f.name)).map(fieldInput));
      applyPreset();
    },
    /** A link's settings: the preset's values first, then the link's (Python checked them). */
    applyLink(settings) {
      if (settings.preset) $('preset').value = settings.preset;
      applyPreset();
      setValues(settings);
      if (settings.seed != null) $('seed').value = String(settings.seed);
      if (fields.some((f) => !IN_FORM.has(f.name) && f.name in settings)) showDesigner();
      ask();
    },
    onState,
    handlers: { design: showDesign, done: ask },   // after a run, the estimate uses the speed it measured
    seed: () => Number($('seed').value) || 0,
  };
}
