// "Your runs" card: every run of this visit and earlier ones, kept in the browser (store.js).
//
// A run is recorded when it starts; while it trains, the worker's snapshot (the model, Adam's
// state and the batch order, every ~15 s of training) is kept with its curve, so a run cut off
// by closing the tab can be continued from there; when it ends its final model replaces the
// snapshot. Each run has a short name ("run 3 · tiny, width 32, 2 layers", renamable) used on
// its card, in the chart's legend and in exports. Cards can be ticked to draw the run on the
// chart (the last two runs are ticked for you when a new one starts), opened as a link,
// exported, or deleted.

import { openStore, StaleError } from './store.js';
import { LOCKED, page } from './page.js';
import { describe, startText } from './describe.js';
import { forgetTimings } from './speed.js';
import { fmtInt, fmtLoss, setNote } from './panels.js';

const $ = (id) => document.getElementById(id);
const CSV_FIELDS = ['id', 'name', 'started', 'start', 'preset', 'seed', 'changes', 'config', 'data', 'params', 'steps',
  'stepsDone', 'baseStep', 'trainLoss', 'valLoss', 'novelty', 'seconds', 'tokensPerS', 'status'];
const LIST_BYTES = 16 * 2 ** 20;   // your own list is kept with its run up to this size, to continue it

/** A number to show, or null: a model file's metrics may hold anything. */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A learning rate in words, "—" when there is none (an unknown preset, a model file). */
const lrText = (v) => (num(v) == null ? '—' : String(v));

/** What differs from the preset, in words: "lr 0.01, n_layer 2, block_size 24". */
export function changesText(run) {
  const p = page.presets[run.preset] || {};
  const parts = Object.entries(run.changes || {})
    .filter(([k, v]) => k !== 'steps' && k !== 'lr' && p[k] !== v).map(([k, v]) => `${k} ${v}`);
  return [`lr ${lrText(run.changes?.lr ?? p.lr)}`, ...parts].join(', ');
}

/** A run's name: the one given, or "run N · what it is". */
export function nameOf(r) {
  if (r.name) return r.name;
  const what = r.status === 'loaded' ? (r.dataLabel || 'a model file') : describe(r);
  return r.id == null ? what : `run ${r.id} · ${what}`;
}

/** The model file a run that started from a model trains on from, as the command line names it. */
function initFile(start) {
  if (start.kind === 'pretrained') return `dist/${start.path}`;        // python build.py writes it there
  if (start.kind === 'run') return `zcgpt-run${start.run}.json`;        // run N's Model button saves it so
  return start.name;
}

/** The command line that trains the same run on the desktop. */
export function commandFor(run) {
  const data = `--data ${run.data ?? 'your-list.txt'}`;      // a built-in list by its name (zcgpt.data.find_list)
  if (startText(run.start)) {          // on from a model: its design and vocabulary come from the file
    return ['python -m zcgpt train', `--init ${initFile(run.start)}`, `--seed ${run.seed}`,
      `--steps ${run.changes?.steps ?? run.steps}`, `--lr ${run.changes?.lr ?? run.config?.lr}`, data].join(' ');
  }
  const args = ['python -m zcgpt train', `--preset ${run.preset}`, `--seed ${run.seed}`];
  for (const [k, v] of Object.entries(run.changes || {})) {
    const flag = `--${k.replace(/_/g, '-')}`;
    args.push(typeof v === 'boolean' ? (v ? flag : `--no-${k.replace(/_/g, '-')}`) : `${flag} ${v}`);
  }
  args.push(data);
  return args.join(' ');
}

/** A run's settings on its card: the seed and what differs from the preset, or where it started. */
function settingText(r) {
  const from = startText(r.start);
  if (!from) return `seed ${r.seed}, ${changesText(r)}`;
  return `from ${from} (${fmtInt(r.baseStep ?? r.start.step ?? 0)} steps before), seed ${r.seed}, lr ${lrText(r.changes?.lr ?? r.config?.lr)}`;
}

function download(name, text, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function csvCell(v) {
  let s = v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;     // a spreadsheet would run it as a formula
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function createRunsPanel({ getRun, currentData, chart, linkFor, noLinkReason, continueRun, useModel, lists }) {
  let store = null;
  let runs = [];                 // records, newest first
  let current = null;            // the record of the run in progress
  let waitingModel = null;       // a finished record whose final model is on its way
  let displayed = null;          // the record the chart draws as its current run
  const shown = new Set();       // records overlaid on the chart (by record: a run the store could not keep has no id)
  let clearArmed = false;

  const say = (text, kind = '') => setNote('runs-note', text, kind);
  const failed = (what, err) => say(`${what}: ${err.message}. Earlier runs are safe; delete some, or clear your data, to make room.`, 'error');

  // Runs have owners: the tab training a run holds the Web Lock "zcgpt-run-<id>" until it ends,
  // so a tab that opens marks a "running" record cut off only when no live tab holds its lock.
  // Every write is checked against the stored version (store.js), and each write tells the
  // other tabs on the channel "zcgpt-runs", which read the runs again.
  const owned = new Map();       // run id -> releases its lock
  const lockName = (id) => `zcgpt-run-${id}`;
  function own(r) {
    if (!navigator.locks || r.id == null || owned.has(r.id)) return;
    let free;
    const held = new Promise((resolve) => { free = resolve; });
    owned.set(r.id, free);
    navigator.locks.request(lockName(r.id), () => held).catch(() => {});
  }
  function release(r) {
    owned.get(r?.id)?.();
    owned.delete(r?.id);
  }
  /** Names of the locks held or asked for in every tab, or null when this browser has none. */
  async function locksTaken() {
    if (!navigator.locks?.query) return null;
    try {
      const { held = [], pending = [] } = await navigator.locks.query();
      return new Set([...held, ...pending].map((l) => l.name));
    } catch {
      return null;
    }
  }
  const channel = 'BroadcastChannel' in window ? new BroadcastChannel('zcgpt-runs') : null;
  const tell = () => channel?.postMessage('changed');

  const save = async (record, texts) => {
    if (!store) return false;
    try {
      await (texts ? store.putWith(record, texts) : store.put(record));
    } catch (err) {
      if (!(err instanceof StaleError)) {
        failed(`Run ${record.id ?? ''} was not kept`, err);
        return false;
      }
      // another tab wrote it: the stored one is shown, and this tab writes it no more
      if (record === current) { release(current); current = null; }
      if (record === waitingModel) waitingModel = null;
      say(`Not saved: ${err.message}. The table shows it as it is stored now.`, 'warn');
      await reread();
      return false;
    }
    tell();
    return true;
  };

  /** Running records no live tab owns are marked cut off (with no Web Locks: every one not ours). */
  async function markOrphans(taken) {
    for (const r of runs) {
      if (r.status !== 'running' || r === current || r.id == null) continue;
      if (taken?.has(lockName(r.id))) continue;          // a live tab trains it
      r.status = 'interrupted';     // the tab closed while it trained
      await save(r);
    }
  }

  let reading = Promise.resolve();
  /** Read the runs again (another tab changed them): this tab's records keep their place on the
   * chart and are updated when the stored copy is newer; records gone from storage go. */
  function reread() {
    reading = reading.then(async () => {
      if (!store) return;
      let stored;
      try {
        stored = (await store.all()).reverse();
      } catch (err) {
        failed('Runs could not be read again', err);
        return;
      }
      const mine = new Map(runs.filter((r) => r.id != null).map((r) => [r.id, r]));
      const next = stored.map((s) => {
        const r = mine.get(s.id);
        if (!r) return s;
        mine.delete(s.id);
        if ((s.version ?? 0) > (r.version ?? 0)) Object.assign(r, s);
        return r;
      });
      for (const r of mine.values()) {     // deleted or cleared in another tab
        shown.delete(r);
        ticked.delete(r);
        if (r === current) { release(current); current = null; }
        if (r === waitingModel) waitingModel = null;
        if (r === displayed) displayed = null;
      }
      runs = [...runs.filter((r) => r.id == null), ...next];
      if (navigator.locks) await markOrphans(await locksTaken());
      overlay();
      render();
    });
    return reading;
  }
  if (channel) channel.onmessage = () => reread();

  const ticked = new Set();      // records the person ticked or unticked: left as they are
  let editing = null;            // the record being renamed: cards are not rebuilt under its input
  /** The ticked runs on the chart, all but the one it draws as current (a run is drawn once). */
  const overlay = () => chart.setOverlays(runs.filter((r) => shown.has(r) && r.points?.length && r !== displayed)
    .map((r) => ({ id: r.id ?? `unsaved-${runs.indexOf(r)}`, name: nameOf(r), step: r.points.map((p) => p[0]), train: r.points.map((p) => p[1]),
      val: r.points.map((p, i) => (i === r.points.length - 1 && r.valLoss != null ? r.valLoss : p[2] ?? null)) })));
  /** A new run starts: the two runs before it are ticked, unless the person chose otherwise. */
  const tickLast = () => {
    const last = runs.filter((r) => r !== displayed && r.points?.length && r.status !== 'loaded').slice(0, 2);
    for (const r of runs) if (!ticked.has(r) && !last.includes(r)) shown.delete(r);
    for (const r of last) if (!ticked.has(r)) shown.add(r);
  };

  const fmtS = (v) => (v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(1)} s`);
  const span = (cls, ...children) => {
    const e = document.createElement('span');
    if (cls) e.className = cls;
    e.append(...children);
    return e;
  };
  const fig = (label, value) => {
    const b = document.createElement('b');
    b.textContent = value;
    return span('', `${label} `, b);
  };

  function card(r) {
    const li = document.createElement('li');
    li.className = 'run-card';
    li.dataset.id = r.id;
    li.dataset.status = r.status;
    li.dataset.snapshot = r.hasSnapshot ? 'yes' : 'no';
    const pick = document.createElement('input');
    pick.type = 'checkbox';
    pick.checked = shown.has(r);
    pick.disabled = !r.points?.length;
    pick.setAttribute('aria-label', `show ${nameOf(r)} on the chart`);
    pick.addEventListener('change', () => {
      ticked.add(r);
      if (pick.checked) shown.add(r); else shown.delete(r);
      overlay();
    });
    const name = span('run-name', nameOf(r));
    const head = document.createElement('div');
    head.className = 'run-head';
    head.append(pick, name);
    const figs = document.createElement('div');
    figs.className = 'figs';
    figs.append(fig('val', fmtLoss(r.valLoss)), fig('train', fmtLoss(r.trainLoss)),
      fig('new', num(r.novelty) == null ? '—' : `${Math.round(100 * r.novelty)}%`));
    const setting = document.createElement('p');
    setting.className = 'setting';
    setting.textContent = [`${fmtInt(r.stepsDone)} / ${fmtInt(r.steps)} steps${r.status === 'interrupted' ? ' · cut off' : ''}`,
      fmtS(r.seconds), `${fmtInt(r.tokensPerS)} tok/s`, `${fmtInt(r.params)} params`, r.data ?? r.dataLabel ?? 'your list',
      r.status === 'loaded' ? null : settingText(r)].filter(Boolean).join(' · ');
    const acts = document.createElement('div');
    acts.className = 'acts';
    const button = (text, fn, title) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.title = title;
      b.dataset.act = text.toLowerCase();
      b.disabled = LOCKED.has(page.state);
      b.addEventListener('click', fn);
      acts.append(b);
      return b;
    };
    if (r.status === 'interrupted' && r.hasSnapshot) button('Continue', () => onContinue(r), `go on from step ${r.stepsDone}`);
    if (r.hasModel) {
      button('Use', () => onUse(r), 'load its model: generate names and look inside');
      button('Model', () => onDownload(r), 'download its model file');
    }
    const why = noLinkReason(r);
    if (!why && r.status !== 'loaded') {
      const a = document.createElement('a');
      a.href = linkFor(r);
      a.textContent = 'Link';
      a.target = '_blank';
      acts.append(a);
    } else if (r.status !== 'loaded') {
      acts.append(span('no-link', `No link: ${why}.`));
    }
    if (r.status !== 'loaded') button('Command', () => onCommand(r), 'the command line that trains this run');
    const elsewhere = r.status === 'running' && r !== current;    // another tab trains it: that tab writes it
    const rename = button('Rename', () => onRename(r, name), 'give this run a name of your own');
    rename.disabled = elsewhere;  // a name changes nothing a run depends on
    const del = button('Delete', () => onDelete(r), 'forget this run');
    if (elsewhere) {
      del.disabled = true;
      li.title = 'training in another tab';
    }
    li.append(head, figs, setting, acts);
    return li;
  }

  function render() {
    if (editing) return;           // finish() renders once the name is in
    $('runs-body').replaceChildren(...runs.map(card));
    $('runs-empty').hidden = runs.length > 0;
    $('runs-count').textContent = runs.length ? String(runs.length) : '';
    for (const id of ['runs-csv', 'runs-json', 'runs-clear']) $(id).disabled = !runs.length;
  }

  /** Rename in place: an input over the name; Enter or leaving it keeps, Escape goes back. */
  function onRename(r, nameEl) {
    const input = document.createElement('input');
    input.type = 'text';
    input.maxLength = 60;
    input.value = nameOf(r);
    input.setAttribute('aria-label', `name of ${nameOf(r)}`);
    editing = r;
    const finish = (keep) => {
      if (editing !== r) return;
      editing = null;
      if (keep) {
        const text = input.value.trim();
        r.name = text && text !== nameOf({ ...r, name: null }) ? text : undefined;
        save(r);
        if (r === displayed) chart.setName(nameOf(r));
      }
      overlay();
      render();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    nameEl.replaceChildren(input);
    input.focus();
    input.select();
  }

  async function onContinue(r) {
    const text = await store.text(`${r.id}:snapshot`);
    if (!text) { say(`Run ${r.id} has no saved state to go on from.`, 'error'); return; }
    if (r.data == null) {           // your own list: the copy kept with the run goes back in use
      const list = JSON.parse(await store.text(`${r.id}:list`) || 'null');
      if (!list) { say(`Run ${r.id} trained on your own list, and it was not kept: load that list in Data first.`, 'warn'); return; }
      if (!await lists.use(list)) { say(`Run ${r.id}'s list could not be put back in use.`, 'error'); return; }
    } else if (r.data !== currentData() && !await lists.useBuiltin(r.data)) {
      say(`Run ${r.id} trained on the built-in list “${r.data}”, which is not here.`, 'warn');
      return;
    }
    current = r;
    continueRun(r, text);
  }
  async function onUse(r) {
    const text = await store.text(`${r.id}:model`);
    if (text) useModel(`run ${r.id}`, text, { kind: 'run', run: r.id });
  }
  async function onDownload(r) {
    const text = await store.text(`${r.id}:model`);
    if (text) download(`zcgpt-run${r.id}.json`, `${text}\n`, 'application/json');
  }
  async function onCommand(r) {
    const cmd = commandFor(r);
    say(cmd);
    try { await navigator.clipboard.writeText(cmd); say(`Copied: ${cmd}`, 'ok'); } catch { /* shown */ }
  }
  async function onDelete(r) {
    try {
      await store?.remove(r.id);
    } catch (err) {
      failed(`Run ${r.id} could not be deleted`, err);
      return;
    }
    tell();
    runs = runs.filter((x) => x !== r);
    shown.delete(r);
    overlay();
    render();
  }

  /** The runs as exported: each with the name it shows. */
  const named = () => runs.map((r) => ({ ...r, name: nameOf(r) }));
  $('runs-csv').addEventListener('click', () => {
    const rows = [CSV_FIELDS.join(','), ...named().map((r) => CSV_FIELDS.map((k) => csvCell(r[k])).join(','))];
    download('zcgpt-runs.csv', `${rows.join('\n')}\n`, 'text/csv');
  });
  $('runs-json').addEventListener('click', () => {
    download('zcgpt-runs.json', `${JSON.stringify(named(), null, 1)}\n`, 'application/json');
  });
  $('runs-clear').addEventListener('click', async () => {
    if (!clearArmed) {
      clearArmed = true;
      $('runs-clear').textContent = `Delete ${runs.length} run${runs.length > 1 ? 's' : ''}: click again`;
      setTimeout(() => { clearArmed = false; $('runs-clear').textContent = 'Clear my data'; }, 5000);
      return;
    }
    clearArmed = false;
    $('runs-clear').textContent = 'Clear my data';
    // Clear waits for runs in training: their tab would write them back, and their model after
    const busy = runs.find((r) => r.status === 'running');
    if (busy) {
      say(`Nothing was cleared: ${nameOf(busy)} is training${busy === current ? '' : ' in another tab'}. `
        + 'Stop it (or let it finish), then clear.', 'warn');
      return;
    }
    try {
      await store?.clear();
    } catch (err) {
      failed('Nothing was cleared', err);
      return;
    }
    tell();
    waitingModel = null;           // its model, on its way, is not kept
    forgetTimings();               // the designer's measured speed goes with the runs
    runs = [];
    shown.clear();
    ticked.clear();
    overlay();
    render();
    say('Your runs and models are gone from this browser.', 'ok');
  });

  (async () => {
    store = await openStore();
    if (!store) {
      say('This browser keeps no data for this page (private window?): runs last until you close the tab.', 'warn');
      return;
    }
    try {
      runs = (await store.all()).reverse();
    } catch (err) {
      failed('Earlier runs could not be read', err);
      return;
    }
    await markOrphans(await locksTaken());
    render();
    document.body.dataset.runsLoaded = String(runs.length);
  })();

  /** The chart no longer draws a run as current (Reset, or Python started again): the run it
   * drew stays on it as a ticked run, and a run that was training is kept as cut off. */
  function leave() {
    if (displayed?.points?.length && !ticked.has(displayed)) shown.add(displayed);
    displayed = null;
    overlay();
    if (current) {
      current.status = current.hasSnapshot ? 'interrupted' : 'stopped';
      release(current);
      save(current).then(render);
      current = null;
    }
    render();
  }

  return {
    onState: render,
    handlers: {
      start(msg) {
        const run = getRun();
        if (!run) return;
        if (current && run.continues === current.id) {
          current.status = 'running';
          displayed = current;
          chart.setName(nameOf(current));
          overlay();
          own(current);
          save(current).then(render);
          return;
        }
        current = { started: new Date().toISOString(), start: run.start ?? { kind: 'scratch' }, preset: run.preset,
          seed: run.seed, changes: run.changes, config: msg.config, data: run.data ?? null, dataLabel: run.dataLabel,
          params: msg.params, steps: msg.steps, baseStep: msg.base_step, initVal: msg.init_val,
          stepsDone: 0, status: 'running', points: [] };
        runs.unshift(current);
        displayed = current;
        tickLast();
        overlay();
        const started = current;
        const list = current.data == null ? lists.message() : null;   // your own list: kept to continue on
        const keepList = list && JSON.stringify(list).length <= LIST_BYTES;
        save(current).then(() => {
          if (started === current) own(started);
          if (started === displayed) chart.setName(nameOf(started));
          render();
          if (keepList && started.id != null && started === current) save(started, { [`${started.id}:list`]: JSON.stringify(list) });
        });
      },
      snapshot(msg) {
        const run = getRun();
        if (!current || !run) return;
        (run.snapshotMs ??= []).push(Math.round(msg.ms));    // what each snapshot cost the worker
        Object.assign(current, { stepsDone: msg.step, points: run.points.filter((p) => p[0] <= msg.step), snapshotMs: msg.ms });
        // hasSnapshot is set by the store once the snapshot is in (store.js)
        if (current.id == null) save(current).then(render);
        else save(current, { [`${current.id}:snapshot`]: msg.text }).then(render);
      },
      done(msg) {
        const run = getRun();
        if (!current || !run) return;
        Object.assign(current, { status: msg.stopped ? 'stopped' : 'done', stepsDone: msg.step, trainLoss: msg.train_loss,
          valLoss: msg.val, novelty: msg.novelty, seconds: msg.busy, tokensPerS: run.tokensPerS, points: run.points });
        waitingModel = current;
        release(current);
        current = null;
        save(waitingModel).then(render);
      },
      checkpoint(msg) {
        if (!msg.keep || !waitingModel) return;
        const r = waitingModel;
        waitingModel = null;
        if (r.id == null) return;     // the record was not kept: neither is its model
        // hasModel (and no snapshot) is set by the store once the model is in (store.js)
        save(r, { [`${r.id}:model`]: msg.text, [`${r.id}:snapshot`]: null }).then(render);
      },
      reset() { leave(); },
    },
    /** Python was started again: the run it was training is kept as cut off (see cutOff). */
    restore() { leave(); },
    /** Python died: the run it was training is kept as cut off at once (Continue, when it has a
     * snapshot), or as stopped; returns that record, or null. */
    cutOff() {
      const r = current;
      leave();
      return r;
    },
    /** A model file loaded on the page (one the command line trained, say) becomes a card. */
    addLoaded(msg, text) {
      const m = msg.metrics || {};
      const r = { started: new Date().toISOString(), preset: m.preset ?? '(file)', seed: msg.seed, changes: {},
        data: null, dataLabel: msg.name, params: msg.params, steps: msg.step, stepsDone: msg.step,
        trainLoss: m.train_loss, valLoss: m.val_loss, novelty: m.novelty, seconds: m.seconds, tokensPerS: m.tokens_per_s,
        status: 'loaded', points: [] };   // hasModel once the model is stored
      runs.unshift(r);
      render();
      save(r).then(() => r.id != null && save(r, { [`${r.id}:model`]: text })).then(render);
    },
    /** For tests and the curious. */
    records: () => runs,
  };
}
