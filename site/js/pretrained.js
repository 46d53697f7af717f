// "Start from a pre-trained model": for the chosen model and built-in list, the model the build
// trained (buildtools/pretrained.py, build.json's `pretrained`). It is fetched only on a click and
// loaded as any model file (share.js's loadText -> load_model), after its list is in use, so
// Generate, See inside and "Train on from the loaded model" work at once.
// The button and its note follow the model and list shown (#preset, #dataset) whatever changes
// them: a choice, a shared link (Python's "design" answer follows every preset change), a list.

import { LOCKED, page } from './page.js';
import { setNote } from './panels.js';

const $ = (id) => document.getElementById(id);

export function createPretrained({ data, loadText, siteURL, setStatus }) {
  let models = [];
  let waiting = null;   // {name, text, data}: a fetched model waiting for its list to be in use
  let busy = false;
  let said = null;      // {text, kind, preset, data}: what a load or a failed fetch said, shown with that model

  const note = (text, kind = '') => setNote('pretrained-note', text, kind);
  const pick = () => models.find((m) => m.preset === $('preset').value && m.data === $('dataset').value);
  const update = () => {
    const m = pick();
    const preset = $('preset').value;
    const list = $('dataset').value;
    const btn = $('pretrained-load');
    btn.disabled = busy || LOCKED.has(page.state) || !m;
    btn.textContent = m ? `Load pre-trained ${m.preset} on ${m.data} (validation loss ${m.val_loss.toFixed(3)})`
      : 'Start from a pre-trained model';
    btn.title = m ? `${m.steps} steps, seed ${m.seed}, ${Math.round(m.bytes / 1000)} kB` : '';
    if (busy || !models.length) return;   // the fetch's own note stands
    if (said && said.preset === preset && said.data === list) note(said.text, said.kind);
    else if (list === 'yours') note('No pre-trained model for your own list.');
    else if (m) note(`A ${preset} model trained on ${list} when the page was built: generate and look inside at once, or train on.`);
    else note(`No pre-trained ${preset} model for ${list} (its recipe does not learn it).`);
  };
  const load = (got) => {
    waiting = null;
    busy = false;
    loadText(got.name, got.text, { kind: 'pretrained', preset: got.m.preset, data: got.m.data, path: got.m.path });
  };
  let linked = null;    // "tiny.cities" from a link, until the models are known
  let known = false;    // build.json's models have arrived

  const fetchModel = async (m) => {
    busy = true;
    update();
    note(`Fetching the pre-trained ${m.preset} model (${Math.round(m.bytes / 1000)} kB)…`);
    try {
      const res = await fetch(siteURL(m.path));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const got = { name: `pre-trained ${m.preset} on ${m.data}`, text: await res.text(), data: m.data, m };
      // "New" names and training on need the model's own list in use first.
      if (data.builtin() === m.data) load(got);
      else if (data.chooseBuiltin(m.data, { model: true })) waiting = got;
      else throw new Error(`there is no list ${m.data} here`);
    } catch (err) {
      busy = false;
      said = { text: `The pre-trained model could not be fetched (${err?.message || err}).`, kind: 'error', preset: m.preset, data: m.data };
      update();
    }
  };
  let then = null;      // the list a link's run trained on, chosen once its model is loaded
  /** A link's pretrained=tiny.cities: fetch and load that model (once the models are known), then
   * choose the list the run trained on (`list`); false if there is no such model here. */
  const loadId = (id, list) => {
    then = list ?? null;
    if (!known) {
      linked = id;
      return true;
    }
    linked = null;
    const m = models.find((x) => `${x.preset}.${x.data}` === id);
    if (m) fetchModel(m);
    return Boolean(m);
  };
  $('pretrained-load').addEventListener('click', () => {
    const m = pick();
    if (m) fetchModel(m);
  });
  for (const id of ['preset', 'dataset']) $(id).addEventListener('change', update);

  return {
    /** build.json's pre-trained models, each {preset, data, path, bytes, steps, seed, val_loss}. */
    setModels(list) {
      models = (list || []).filter((m) => m.val_loss != null);
      known = true;
      update();
      if (linked && !loadId(linked, then)) note(`There is no pre-trained model “${linked}” here.`, 'error');
    },
    loadId,
    onState: update,
    handlers: {
      design: update,
      data(msg) {
        if (waiting && msg.via === 'builtin' && msg.source === waiting.data) load(waiting);
        update();
      },
      data_error() {
        if (waiting) {
          said = { text: 'Its list could not be loaded, so neither could the model.', kind: 'error',
            preset: $('preset').value, data: $('dataset').value };
          waiting = null;
          busy = false;
        }
        update();
      },
      model_loaded(msg) {
        const m = models.find((x) => msg.name === `pre-trained ${x.preset} on ${x.data}`);
        said = null;
        if (!m) {
          update();
          return;
        }
        if (then && then !== m.data) data.chooseBuiltin(then);
        then = null;
        said = { text: `Loaded the pre-trained ${m.preset} model on ${m.data}: ${m.steps} steps with seed ${m.seed}, `
          + `validation loss ${m.val_loss.toFixed(3)}. Generate or look inside now, or press Train to train on.`,
        kind: 'ok', preset: m.preset, data: m.data };
        setStatus(`Pre-trained ${m.preset} on ${m.data} loaded (validation loss ${m.val_loss.toFixed(3)}): `
          + 'generate names below, or press Train to train it further.', 'ok');
        update();
      },
      model_error() {
        busy = false;
        update();
      },
      reset() {
        said = null;
        update();
      },
    },
  };
}
