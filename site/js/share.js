// "Keep and share" card: download or load a model file, and a link that repeats a run.
//
// A model file is zcgpt's versioned checkpoint JSON (zcgpt/checkpoint.py), written and read by
// Python in the worker, so `python -m zcgpt sample --model` reads what this page saves and the
// page loads what the command line trains. A refused file changes nothing.
//
// The link carries the run's settings in the hash (#preset=tiny&seed=42&steps=2000&lr=0.01&n_layer=2&data=names),
// every Config field that differs from the preset by its own name:
// the split, initial weights and batch order all come from the seed, and the worker reports
// the curve by steps, so the same link gives the same curve in the same browser. A run that
// starts from a pre-trained model names it (pretrained=tiny.cities); a run from a model file
// or from another run of this browser has no link (a link cannot carry the model).

import { LOCKED, page } from './page.js';
import { setNote, setText, showNames } from './panels.js';

const $ = (id) => document.getElementById(id);

/** Why a run has no link, or '' when it has one: the link carries settings, never a file. */
export function noLinkReason(run) {
  const kind = run.start?.kind;
  if (kind === 'file') return `it started from the model file ${run.start.name}, which a link cannot carry`;
  if (kind === 'run') return `it started from run ${run.start.run}'s model, which only this browser keeps`;
  if (!run.data) return 'it trained on your own list, which a link cannot carry';
  return '';
}

/** The page's address with a run's settings in its hash. */
export function linkFor(run) {
  const q = new URLSearchParams();
  q.set('preset', run.preset);
  q.set('seed', String(run.seed));
  for (const [name, value] of Object.entries(run.changes)) q.set(name, String(value));   // Config fields by name
  if (run.data) q.set('data', run.data);
  if (run.start?.kind === 'pretrained') q.set('pretrained', `${run.start.preset}.${run.start.data}`);
  const url = new URL(window.location.href);
  url.hash = q.toString();
  return url.href;
}

export function createSharePanel({ send, setStatus, setState, getState, data, fmtInt, fillForm, onLoadedFile,
  loadPretrained }) {
  let loaded = null;   // {name, step, chars, config, origin} of the loaded model
  let origin = null;   // where the model being loaded comes from: {kind: 'file'|'run'|'pretrained', ...}
  let reading = null;  // text of the model file being checked
  let fromFile = false; // whether it came from the file input (a new row of the runs table)
  let kept = null;     // text of the last model (trained or loaded), to give a restarted Python
  let restoring = false;

  const note = (text, kind = '') => setNote('model-note', text, kind);

  $('model-save').addEventListener('click', () => {
    note('Writing the model file…');
    send({ type: 'save' });
  });

  $('model-file').addEventListener('change', async () => {
    const file = $('model-file').files[0];
    if (!file) return;
    if (file.size > page.limits.model_bytes) {
      note(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB: too big for a zcgpt model file. Nothing changed.`, 'error');
      $('model-file').value = '';
      return;
    }
    note(`Reading ${file.name}…`);
    try {
      reading = await file.text();
      fromFile = true;
      origin = { kind: 'file', name: file.name };
      $('model-file').value = '';     // so choosing the same file again loads it again
      send({ type: 'load_model', name: file.name, text: reading });
    } catch (err) {
      note(`${file.name} could not be read (${err?.message || err}). Nothing changed.`, 'error');
    }
  });

  $('share-copy').addEventListener('click', async () => {
    const field = $('share-url');
    try {
      await navigator.clipboard.writeText(field.value);
      $('share-note').textContent = 'Link copied.';
    } catch {
      field.focus();
      field.select();
      $('share-note').textContent = 'Press Ctrl+C (⌘C) to copy the selected link.';
    }
  });

  const showLink = (run) => {
    $('share-url').value = linkFor(run);
    $('share-copy').disabled = false;
  };

  /** Text from a link as the status line shows it: without bidi controls, cut to `most` characters
   *  and isolated (U+2068 … U+2069), so a right-to-left override cannot turn the sentence around. */
  const echo = (text, most = 40) => {
    const plain = String(text).replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
    return `\u2068${plain.length > most ? `${plain.slice(0, most - 1)}…` : plain}\u2069`;
  };

  /** Fill the form from a shared link: Python read and checked the hash (zcgpt.design.parse_link). */
  const applyLink = (link) => {
    const { settings, notes } = link;
    // #workers=N alone is the tab's setting (workers.js reads it), not a run to repeat
    if (!Object.keys(settings).some((k) => k !== 'workers') && !notes.length) return;
    if (settings.pretrained) settings.preset = settings.pretrained.split('.')[0];
    fillForm(settings);
    const problems = [...notes];
    if (settings.pretrained) {
      if (!loadPretrained(settings.pretrained, settings.data)) problems.push(`there is no pre-trained model “${echo(settings.pretrained)}” here`);
    } else if (settings.data && !data.chooseBuiltin(settings.data)) {
      problems.push(`there is no built-in list “${echo(settings.data)}” here`);
    }
    const from = settings.pretrained ? ' (it loads the pre-trained model the run started from)' : '';
    setStatus(problems.length ? `Settings from the link, but ${problems.join('; ')}: the model's own values stand there.`
      : `Settings from the link are filled in${from}: press Train to repeat that run.`, problems.length ? 'warn' : 'ok');
    document.body.dataset.shared = '1';
  };

  // The offline copy (the whole runtime, into the browser's cache) is made while the tab is
  // idle, never while it trains: on two cores it would slow training and the page.
  let offlineTimer = null;
  let offlineAsked = false;
  const offlineWhenIdle = () => {
    clearTimeout(offlineTimer);
    offlineTimer = setTimeout(() => {
      if (offlineAsked || !['ready', 'done'].includes(getState())) return;   // again when a run is done
      offlineAsked = true;
      import('./offline.js').then((m) => m.enableOffline())
        .catch((err) => console.warn('zcgpt: no offline copy:', err));
    }, 3000);
  };

  return {
    onState(state) {
      if (!offlineAsked && (state === 'ready' || state === 'done')) offlineWhenIdle();
      const locked = LOCKED.has(state);
      $('model-file').disabled = locked;
      $('model-save').disabled = state !== 'done';
      $('continue').disabled = locked;
    },
    /** Load a model the page holds into Python; `from`: where it comes from ({kind: 'run', run}
     * for a run of the runs table, {kind: 'pretrained', preset, data, path}). */
    loadText(name, text, from) {
      reading = text;
      fromFile = false;
      origin = from;
      note(`Loading ${name}…`);
      send({ type: 'load_model', name, text });
    },
    /** After Python restarted: load the last model into it again; what comes back, or null. */
    restore() {
      if (!kept) return null;
      restoring = true;
      reading = kept;
      fromFile = false;
      origin = loaded?.origin ?? null;
      send({ type: 'load_model', name: 'your last model', text: kept });
      return 'your last model';
    },
    /** Extra fields of a train message, or {problem} when the run cannot start. */
    train(run) {
      if (data.isBusy()) return { problem: 'The list is still being checked: press Train again in a moment.' };
      const extra = { data: data.builtin() };
      if (loaded && $('continue').checked && !run.snapshot) {
        const unknown = [...new Set(page.chars)].filter((ch) => !loaded.chars.includes(ch));
        if (unknown.length) {   // the Data panel's notice says so as the list is chosen; the last guard
          data.showUnreadable();
          return { problem: 'The loaded model cannot train on this list (it has never seen some of its characters): '
            + 'see the notice in the Data panel.' };
        }
        extra.from_model = true;
        extra.start = { ...loaded.origin, step: loaded.step };
      }
      const why = run.snapshot ? '' : noLinkReason({ ...run, ...extra });
      if (!run.snapshot && !why) {
        showLink({ ...run, ...extra });
        window.history.replaceState(null, '', $('share-url').value);
        $('share-note').textContent = '';
      } else if (!run.snapshot) {
        $('share-url').value = '';
        $('share-copy').disabled = true;
        $('share-note').textContent = `This run has no link: ${why}.`;
      }
      return extra;
    },
    handlers: {
      ready(msg) {
        applyLink(msg.link);
      },
      done() {
        send({ type: 'save', keep: true });   // a copy in the page, in case Python dies
      },
      checkpoint(msg) {
        if (msg.keep) {
          kept = msg.text;
          return;
        }
        const blob = new Blob([msg.text, '\n'], { type: 'application/json' });
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `zcgpt-step${msg.step}.json`;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        note(`Saved ${a.download} (${fmtInt(msg.bytes / 1000)} kB). On the desktop: python -m zcgpt sample --model ${a.download}`, 'ok');
      },
      model_loaded(msg) {
        loaded = { ...msg, origin: origin ?? { kind: 'file', name: msg.name } };
        origin = null;
        if (fromFile && reading) onLoadedFile(msg, reading);
        fromFile = false;
        kept = reading ?? kept;
        reading = null;
        const c = msg.config;
        const val = Number.isFinite(msg.metrics?.val_loss) ? msg.metrics.val_loss : null;   // Python checks it too
        note(`Loaded ${msg.name}: ${fmtInt(msg.params)} parameters (width ${c.n_embd}, ${c.n_layer} layer${c.n_layer > 1 ? 's' : ''}, `
          + `block ${c.block_size}), trained ${fmtInt(msg.step)} steps${val != null ? `, validation loss ${val.toFixed(3)}` : ''}. `
          + 'Generate names with it, or train on.', 'ok');
        $('continue-box').hidden = false;
        $('continue').checked = true;
        document.body.dataset.modelChars = msg.chars;
        setState('done');
        if (!restoring) setStatus(`Model ${msg.name} loaded: generate names below, or press Train to train it further.`, 'ok');
        restoring = false;
        $('gen-note').textContent = 'Pick a temperature: low is safe and common, high is wild.';
        showNames('samples', [], 'Names from the loaded model: press Generate, or Train to train it on.');
        showNames('generated', []);
        setText('sample-step', '');
      },
      model_error(msg) {
        reading = null;
        origin = null;
        fromFile = false;
        restoring = false;
        if (msg.action === 'load') $('model-file').value = '';
        note(`${msg.message} Nothing changed.`, 'error');
      },
      reset() {
        loaded = null;
        kept = null;
        $('continue-box').hidden = true;
        if (getState() === 'ready') note('Download the trained model as JSON, or load one saved here or by the command line.');
      },
    },
  };
}
