// "Start from a pre-trained model": for the chosen model and built-in list, the model the build
// trained (buildtools/pretrained.py, build.json's `pretrained`). It is fetched only on a click and
// loaded as any model file (share.js's loadText -> load_model), after its list is in use, so
// Generate, See inside and "Train on from the loaded model" work at once.

import { LOCKED, page } from './page.js';
import { setNote } from './panels.js';

const $ = (id) => document.getElementById(id);

export function createPretrained({ data, loadText, siteURL, setStatus }) {
  let models = [];
  let waiting = null;   // {name, text, data}: a fetched model waiting for its list to be in use
  let busy = false;

  const note = (text, kind = '') => setNote('pretrained-note', text, kind);
  const pick = () => models.find((m) => m.preset === $('preset').value && m.data === $('dataset').value);
  const update = () => {
    const m = pick();
    const btn = $('pretrained-load');
    btn.disabled = busy || LOCKED.has(page.state) || !m;
    btn.textContent = m ? `Load pre-trained ${m.preset} on ${m.data} (validation loss ${m.val_loss.toFixed(3)})`
      : 'Start from a pre-trained model';
    btn.title = m ? `${m.steps} steps, seed ${m.seed}, ${Math.round(m.bytes / 1000)} kB` : '';
    if (!busy && !m && models.length) note(`No pre-trained ${$('preset').value} model for this list (its recipe does not learn it).`);
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
      else if (data.chooseBuiltin(m.data)) waiting = got;
      else throw new Error(`there is no list ${m.data} here`);
    } catch (err) {
      busy = false;
      note(`The pre-trained model could not be fetched (${err?.message || err}).`, 'error');
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
      data(msg) {
        if (waiting && msg.via === 'builtin' && msg.source === waiting.data) load(waiting);
      },
      data_error() {
        if (!waiting) return;
        waiting = null;
        busy = false;
        note('Its list could not be loaded, so neither could the model.', 'error');
        update();
      },
      model_loaded(msg) {
        const m = models.find((x) => msg.name === `pre-trained ${x.preset} on ${x.data}`);
        if (!m) return;
        if (then && then !== m.data) data.chooseBuiltin(then);
        then = null;
        note(`Loaded the pre-trained ${m.preset} model on ${m.data}: ${m.steps} steps with seed ${m.seed}, `
          + `validation loss ${m.val_loss.toFixed(3)}. Generate or look inside now, or press Train to train on.`, 'ok');
        setStatus(`Pre-trained ${m.preset} on ${m.data} loaded (validation loss ${m.val_loss.toFixed(3)}): `
          + 'generate names below, or press Train to train it further.', 'ok');
        update();
      },
      model_error() {
        busy = false;
        update();
      },
    },
  };
}
