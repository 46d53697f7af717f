// "Data" card: train on a built-in list, an uploaded file or a pasted list.
//
// Python checks every list exactly as the command line does (zcgpt.data: the same
// DataError sentences, naming the line); a refused list changes nothing, so a trained model
// and the list it learned stay. An uploaded file travels as base64 bytes and is read by
// zcgpt.data.read_text, so non-UTF-8 or binary files get the CLI's message too.
//
// With a model loaded and "Train on from the loaded model" ticked, a list with characters the
// model never saw cannot be trained on: a notice here says so and offers a fresh model on the
// list, or the model's own list back (the last list in use that it can read).

import { LOCKED, page, setChars } from './page.js';

const $ = (id) => document.getElementById(id);

/** Base64 of a file, encoded by the browser off the main thread. */
function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',', 2)[1] || '');
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function quoted(s) {
  return `“${s}”`;
}

export function createDataPanel({ send, fmtInt, siteURL }) {
  let datasets = [{ name: 'names', path: 'data/names.txt' }];
  let current = 'names';            // what the next run trains on: a built-in name or 'yours'
  let busy = false;
  let shown = '';                   // the summary of that list, restored when a new one is refused
  let asked = null;                 // the message of the list being checked
  let kept = null;                  // the message of the list in use, to give a restarted Python
  let settled = null;               // resolves the promise of use()/useBuiltin() with the answer
  let modelChars = null;            // characters of the loaded model (model_loaded), until reset
  let readable = null;              // {current, kept}: the last list in use the loaded model can read
  let modelComing = false;          // a pre-trained model's list is loading: its model follows

  const ask = (msg) => {
    asked = msg;
    send(msg);
  };

  const showError = (text) => {
    $('data-error').textContent = text;
    $('data-error').hidden = !text;
  };
  const summary = (msg) => {
    const chars = [...msg.chars];    // characters, not UTF-16 units
    const letters = chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : msg.chars;
    shown = `${msg.source}: ${fmtInt(msg.items)} items · vocabulary ${msg.vocab_size} tokens `
      + `(${chars.length} characters + start/end: ${letters}) · longest ${quoted(msg.longest)} `
      + `(${[...msg.longest].length} characters)`;
    $('data-summary').textContent = shown;
    page.dataName = msg.source;
    setChars(msg.chars);
  };
  /** Where a built-in list comes from, its licence and alphabet (build.json); nothing for your own list. */
  const showSource = (name) => {
    const ds = datasets.find((d) => d.name === name);
    const el = $('data-source');
    el.hidden = !ds?.source;
    if (!ds?.source) return;
    const chars = [...(ds.chars || '')];
    el.textContent = `${ds.title || ds.name}: ${fmtInt(ds.items)} items, alphabet of ${chars.length} `
      + `(${chars.join('').replace(/ /g, '␣')}). Source: ${ds.source}. Licence: ${ds.licence}.`;
  };
  /** Characters of the list in use the loaded model has never seen. */
  const unknown = () => (modelChars == null ? [] : [...new Set(page.chars)].filter((ch) => !modelChars.includes(ch)));
  const shownChar = (ch) => quoted(ch === ' ' ? '␣' : ch);
  /** Show or hide the notice; `ticked`: whether the next run trains on from the loaded model. */
  const checkModel = (ticked = $('continue').checked) => {
    const missing = unknown();
    if (modelChars != null && !missing.length) readable = { current, kept };
    const show = ticked && missing.length > 0 && !modelComing;
    $('data-unreadable').hidden = !show;
    if (!show) return;
    const more = missing.length > 8 ? ` and ${missing.length - 8} more` : '';
    const back = readable && (readable.current === 'yours' ? readable.kept?.name : readable.current);
    const head = document.createElement('strong');
    head.textContent = 'The loaded model cannot train on this list';
    $('data-unreadable-text').replaceChildren(head, `: it has never seen ${missing.slice(0, 8).map(shownChar).join(' ')}${more}. `
      + 'Start a fresh model on it (the loaded model stays for Generate), '
      + `${back ? `or keep the model and go back to its list, ${quoted(back)}.` : 'or choose a list with only the characters it knows.'}`);
    $('data-back').hidden = !back;
  };
  $('continue').addEventListener('change', () => checkModel());
  $('data-fresh').addEventListener('click', () => {
    $('continue').checked = false;
    $('data-unreadable').hidden = true;
    $('dataset').focus();   // the button is gone: keep the keyboard where the list is chosen
  });
  $('data-back').addEventListener('click', () => {
    if (!readable) return;
    $('data-unreadable').hidden = true;
    $('dataset').focus();
    if (readable.current !== 'yours') {
      $('dataset').value = readable.current;
      $('dataset').dispatchEvent(new Event('change'));
    } else {
      pending(`Loading ${readable.kept.name} again…`);
      ask(readable.kept);
    }
  });

  const pending = (text) => {
    busy = true;
    showError('');
    $('data-summary').textContent = text;
  };

  $('dataset').addEventListener('change', () => {
    const name = $('dataset').value;
    const ds = datasets.find((d) => d.name === name);
    if (!ds) return;      // "your list" is chosen by loading one
    pending(`Loading ${name}…`);
    ask({ type: 'builtin', name, url: siteURL(ds.path) });
  });

  $('data-file').addEventListener('change', async () => {
    const file = $('data-file').files[0];
    if (!file) return;
    const limit = page.limits.data_bytes;
    if (file.size > limit) {
      showError(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; the limit is ${limit / 2 ** 20} MB of one-item-per-line text. Nothing changed.`);
      return;
    }
    pending(`Checking ${file.name}…`);
    try {
      ask({ type: 'data', via: 'file', name: file.name, b64: await fileBase64(file) });
      $('data-file').value = '';      // so choosing the same file again reads it again
    } catch (err) {
      busy = false;
      $('data-summary').textContent = shown;
      showError(`${file.name} could not be read (${err?.message || err}). Nothing changed.`);
    }
  });

  $('data-use').addEventListener('click', () => {
    pending('Checking the list…');
    ask({ type: 'data', via: 'paste', name: 'pasted list', text: $('data-text').value });
  });

  const setYours = (label) => {
    let opt = $('dataset').querySelector('option[value="yours"]');
    if (!opt) {
      opt = document.createElement('option');
      opt.value = 'yours';
      $('dataset').append(opt);
    }
    opt.textContent = `your list: ${label}`;
    $('dataset').value = 'yours';
  };

  return {
    /** Built-in lists from build.json (each {name, path, items}). */
    setDatasets(list) {
      if (!list?.length) return;
      datasets = list;
      const sel = $('dataset');
      sel.replaceChildren(...list.map((d) => {
        const o = document.createElement('option');
        o.value = d.name;
        o.textContent = d.items ? `${d.name} (${fmtInt(d.items)})` : d.name;
        return o;
      }));
      sel.value = current;
      showSource(current);
    },
    /** The built-in list a shared link asks for; false if there is no such list. `model`: a
     * model that can read it is loaded next (so no notice in between). */
    chooseBuiltin(name, { model = false } = {}) {
      if (name === current) return true;
      if (!datasets.some((d) => d.name === name)) return false;
      modelComing = model;
      $('dataset').value = name;
      $('dataset').dispatchEvent(new Event('change'));
      return true;
    },
    /** The message that put the list in use (kept with a run on your own list, to continue it). */
    message: () => kept,
    /** Put a kept list message back in use; resolves true once Python has it, false if refused. */
    use(msg) {
      return new Promise((resolve) => {
        settled = resolve;
        busy = true;
        ask(msg);
      });
    },
    /** Choose a built-in list; resolves true once it is in use. */
    useBuiltin(name) {
      if (name === current) return Promise.resolve(true);
      return new Promise((resolve) => {
        settled = resolve;
        if (!this.chooseBuiltin(name)) { settled = null; resolve(false); }
      });
    },
    /** The data a run will use: a built-in name, or null for the user's own list. */
    builtin: () => (current === 'yours' ? null : current),
    /** Show the notice about a list the loaded model cannot read, in view (share.js's last guard). */
    showUnreadable() {
      checkModel(true);
      if ($('data-unreadable').hidden) return;
      if ($('lab-data').hidden) $('tab-data').click();
      $('data-unreadable').scrollIntoView({ block: 'nearest' });
    },
    isBusy: () => busy,
    /** After Python restarted: send it the list in use again; what comes back, or null. */
    restore() {
      if (!kept || (kept.type === 'builtin' && kept.name === datasets[0]?.name)) return null;
      pending(`Loading ${kept.name} again…`);
      ask(kept);
      return 'your list';
    },
    onState(state) {
      const locked = LOCKED.has(state);
      for (const id of ['dataset', 'data-file', 'data-text', 'data-use', 'data-fresh', 'data-back']) $(id).disabled = locked;
    },
    handlers: {
      ready(msg) {
        summary({ ...msg, source: datasets[0]?.name || 'names' });
        showSource(current);
      },
      data(msg) {
        busy = false;
        kept = asked ?? kept;
        asked = null;
        showError('');
        if (msg.via === 'builtin') {
          current = msg.source;
          $('dataset').value = current;
        } else {
          current = 'yours';
          setYours(msg.source);
        }
        showSource(current);
        summary(msg);
        settled?.(true);
        settled = null;
        checkModel();
      },
      data_error(msg) {
        busy = false;
        asked = null;
        modelComing = false;
        checkModel();
        $('dataset').value = current;
        if (msg.via === 'file') $('data-file').value = '';
        showError(`${msg.message} Nothing changed: the next run still uses the list above.`);
        $('data-summary').textContent = shown;
        settled?.(false);
        settled = null;
      },
      model_loaded(msg) {
        modelChars = msg.chars;
        modelComing = false;
        readable = null;
        if (unknown().length) {   // a model file loaded over a list it cannot read: a built-in list it can
          const ds = datasets.find((d) => d.chars && [...d.chars].every((ch) => modelChars.includes(ch)));
          if (ds) readable = { current: ds.name, kept: null };
        }
        checkModel(true);          // loading a model ticks "Train on from the loaded model" (share.js)
      },
      model_error() {
        modelComing = false;
        checkModel();
      },
      reset() {
        modelChars = null;
        readable = null;
        checkModel();
      },
    },
  };
}
