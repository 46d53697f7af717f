// The page: wires the worker's messages to the chart, panels and controls.
// Its state and the message dispatcher live in page.js.

import { startWorker, siteURL, buildInfo, nextTask, preload } from './runtime.js';
import { createLoading } from './loading.js';
import { prepareCopy, stale } from './offline.js';
import { createControls } from './controls.js';
import { page, plug, dispatch, setState, setChars } from './page.js';
import * as ui from './panels.js';
import { createWorkers } from './workers.js';
import { createTabs } from './tabs.js';
import { describe } from './describe.js';
import { createSpeed, keptTimings } from './speed.js';

const app = {
  worker: null,
  run: null,           // the run's settings and counters
  readyMs: null,
  loadMs: {},          // when each loading stage began (ms since navigation)
  bytecode: null,      // from the worker: {stdlib_pyc, stdlib_py, numpy_pyc, numpy_py} module counts
  stopClickedAt: null,
  info: null,          // build.json
  alive: false,        // Python has said "ready" and has not been found dead since
  restarted: null,     // {reason, lost} when Python was started again, until it is ready
};

// Python in the tab can die (a fatal error, out of memory) or hang; the page then starts a
// fresh worker and gives it back the list and the last model it keeps copies of.
const WATCH_MS = 2000;   // how often the page checks
const DEAD_MS = 10000;   // a ping unanswered this long means Python is gone

const trips = new Map();   // round-trip ping id -> resolve (window.zcgpt.roundTrip)
let tripSeq = 0;

// Read-only view for the curious (and the end-to-end tests): window.zcgpt.run.points etc.
window.zcgpt = { get state() { return page.state; }, get run() { return app.run; }, get readyMs() { return app.readyMs; },
  get loadMs() { return app.loadMs; }, get bytecode() { return app.bytecode; }, get presets() { return page.presets; },
  /** Kill Python without a word, as a crash would (the tests check the page recovers). */
  terminateWorker: () => app.worker?.terminate(),
  /** The same for a helper worker (the i-th): the run goes on, with the same numbers. */
  terminateHelper: (i) => workers.terminate(i),
  get workers() { return workers.count; },
  /** The loss chart: chart.labels(), chart.drawn(). */
  get chart() { return chart; },
  /** The runs kept in this browser, newest first. */
  runRecords: () => runsPanel?.records() ?? [],
  /** Resolves when Python has answered a ping sent now: everything it sent before has arrived. */
  roundTrip: () => new Promise((resolve) => {
    const id = 2 ** 30 + (tripSeq += 1);   // apart from runtime.js's liveness pings
    trips.set(id, resolve);
    app.worker.send({ type: 'ping', id });
  }) };

let chart = null;  // created in boot(), after the first paint, to keep start-up tasks short
let runsPanel = null;
const controls = plug(createControls({ onTrain, onPause, onStop, onReset, onGenerate,
  send: (msg) => app.worker?.send(msg), showDesigner: () => lab.show('lab-design') }));
const workers = plug(createWorkers({ leader: () => app.worker, setStatus: ui.setStatus }));
plug(createSpeed());   // keeps the tab's run times for the designer's estimate

// Panels loaded after the first paint (data.js, share.js) plug in too: their message handlers
// run after the page's own, onState follows the page's state, train(run) adds to a run.
const plugins = [];
const addPanel = (panel) => { plugins.push(panel); return plug(panel); };

/** A run's settings in words: the preset, then what differs from it. */
function runLabel(run) {
  return describe({ ...run, dataLabel: run.data == null ? 'your list' : undefined });
}

function readyStatus() {
  return `Ready in ${(app.readyMs / 1000).toFixed(1)} s. Pick a model and press Train.`;
}

// ---------- commands from the controls ----------

/** Clear the live view for `next` (null: none); the runs panel keeps the last run on the chart. */
function replaceRun(next, samplesNote) {
  app.run = next;
  page.paused = false;
  page.pausedBy = null;
  chart.reset();
  ui.clearStats();
  ui.showNames('samples', [], samplesNote);
  ui.showNames('generated', []);
  ui.setText('sample-step', '');
}

function onTrain(run, problem) {
  if (['training', 'paused', 'stopping'].includes(page.state)) {   // one run at a time: Stop first
    ui.setStatus('A run is already going: stop it before training another.', 'warn');
    return;
  }
  if (problem) {
    ui.setStatus(problem, 'warn');
    return;
  }
  for (const p of plugins) {
    const extra = p.train?.(run);
    if (extra?.problem) {
      ui.setStatus(extra.problem, 'warn');
      return;
    }
    Object.assign(run, extra);
  }
  run.dataLabel = page.dataName;
  // ticks: one entry per progress message (for `python build.py bench`); t0: when Train was pressed
  replaceRun({ ...run, trainTokens: 0, trainSeconds: 0, busy: 0, lastVal: null, points: [], ticks: [],
    t0: performance.now() }, 'The first names appear after about a second.');
  setState('training');
  ui.setStatus(`Training ${run.preset}…`);
  if (!wide.matches) showChart();
  app.worker.send({ type: 'train', preset: run.preset, seed: run.seed, changes: run.changes, data: run.data,
    from_model: run.from_model, snapshot: run.snapshot });
}

/** Go on with a run of the runs table from its last snapshot (after a reload, say): the snapshot
 * holds its design, vocabulary and state; the record its curve, start and first loss. */
function continueRun(record, snapshot) {
  if (!['ready', 'done'].includes(page.state)) return;
  controls.applyLink({ preset: record.preset, seed: record.seed, ...record.changes });
  onTrain({ preset: record.preset, seed: record.seed, steps: record.changes.steps, lr: record.changes.lr,
    changes: record.changes, snapshot, continues: record.id, earlierPoints: record.points, start: record.start,
    initVal: record.initVal });
}

function onPause(by = 'user') {
  if (page.state !== 'training' && page.state !== 'paused') return;
  if (page.paused) {
    app.worker.send({ type: 'unpause', by });
  } else {
    app.worker.send({ type: 'pause', by });
  }
  page.paused = !page.paused;
  page.pausedBy = page.paused ? by : null;
  setState(page.paused ? 'paused' : 'training');
  ui.setStatus(page.paused ? (by === 'hidden' ? 'Paused while the tab is hidden.' : 'Paused.') : `Training ${app.run.preset}…`);
}

function onStop() {
  if (page.state !== 'training' && page.state !== 'paused') return;
  app.stopClickedAt = performance.now();
  app.worker.send({ type: 'stop' });
  setState('stopping');
  ui.setStatus('Stopping…');
}

function onReset() {
  app.worker.send({ type: 'reset' });
  replaceRun(null, 'Train to see names appear.');
  ui.setText('gen-note', 'Available after training.');
  setState('ready');
  ui.setStatus(readyStatus());
}

function onGenerate({ n, temperature, prefix }) {
  ui.setText('gen-note', 'Generating…');
  app.worker.send({ type: 'generate', n, temperature, prefix, seed: controls.seed() });
}

// Background tabs get throttled anyway; pause so the laptop fan calms down, resume on return.
document.addEventListener('visibilitychange', () => {
  if (document.hidden && page.state === 'training' && !page.paused) onPause('hidden');
  else if (!document.hidden && page.state === 'paused' && page.pausedBy === 'hidden') onPause('hidden');
});

// ---------- messages from Python ----------

const handlers = {
  stage({ stage, python, numpy, zcgpt }) {
    app.loadMs[stage] = Math.round(performance.now());
    ui.showStage(stage, { python: python && `${python}`, numpy: numpy && `${numpy}`, zcgpt: zcgpt && `${zcgpt}` });
    loading.what = { numpy: 'numpy', zcgpt: 'zcgpt', data: 'the names' }[stage];
    loading.show();
  },

  ready(msg) {
    app.alive = true;
    if (app.restarted) {
      afterRestart(msg);
      return;
    }
    app.readyMs = performance.now();
    app.bytecode = msg.bytecode;   // modules imported from bytecode vs compiled in the tab
    loading.done();
    ui.showStage(null);
    page.presets = msg.presets;
    page.limits = msg.limits;
    page.fields = msg.fields;
    controls.setup();
    setChars(msg.chars);
    ui.setText('about', `zcgpt ${msg.zcgpt} · numpy ${msg.numpy} · ${ui.fmtInt(msg.items)} names, `
      + `${msg.vocab_size} tokens (${msg.chars.length} letters + start/end) · runs in a web worker via PyScript and Pyodide · chart by uPlot.`);
    setState('ready');
    ui.setStatus(readyStatus(), 'ok');
  },

  start(msg) {
    if (!app.run) return;
    // a continued run: its first part's loss at step 0, and the steps and seconds it had
    Object.assign(app.run, { id: msg.run, steps: msg.steps, params: msg.params, initVal: msg.init_val ?? app.run.initVal,
      uniform: msg.uniform, continuedAt: msg.continued_at, busyBefore: msg.busy });
    chart.reset(msg.uniform, app.run.initVal, runLabel(app.run));
    for (const p of app.run.earlierPoints || []) {     // a continued run: its curve so far
      if (p[0] > msg.continued_at) break;
      chart.add(...p);
      app.run.points.push(p);
    }
    ui.setStats({ step: 0, steps: msg.steps });
    ui.setStatus(`Training ${msg.preset}: ${ui.fmtInt(msg.params)} parameters on ${ui.fmtInt(msg.n_train)} names `
      + `(${ui.fmtInt(msg.n_val)} held out for validation).`);
  },

  progress(msg) {
    const run = current(msg);
    if (!run) return;
    run.trainTokens += msg.tick_tokens;
    run.trainSeconds += msg.tick_s;
    run.busy = msg.busy;
    if (msg.val != null) run.lastVal = msg.val;
    for (const [step, loss, val] of msg.points) {   // fixed steps: a shared link replays the same points
      chart.add(step, loss, val);
      run.points.push([step, loss, val]);
    }
    run.ticks.push({ step: msg.step, tokens: msg.tick_tokens, s: msg.tick_s, busy: msg.busy,
      val: msg.val ?? null, ms: performance.now() - run.t0 });
    const stepsPerS = (msg.step - run.continuedAt) / (msg.busy - run.busyBefore);   // this part's rate
    ui.setProgress(msg.step, msg.steps);
    ui.setStats({
      step: msg.step, steps: msg.steps, loss: msg.loss ?? undefined,
      val: msg.val !== undefined ? msg.val : undefined,
      tps: run.trainSeconds > 0 ? run.trainTokens / run.trainSeconds : null,
      elapsed: msg.busy,
      eta: stepsPerS > 0 ? (msg.steps - msg.step) / stepsPerS : null,
    });
    if (msg.samples) showSamples(msg.samples, msg.step);
  },

  // The page switched when the button was pressed; the worker's answer comes after any tick
  // that was under way, so from here on no progress arrives until Resume.
  paused(msg) { document.body.dataset.workerPaused = String(msg.paused); },

  halted(msg) {
    if (!current(msg)) return;
    if (app.stopClickedAt != null) {
      const ms = performance.now() - app.stopClickedAt;
      document.body.dataset.stopMs = ms.toFixed(0);
      app.stopClickedAt = null;
    }
    ui.setStatus(msg.stopped ? `Stopped at step ${ui.fmtInt(msg.step)}; measuring the validation loss…`
      : 'Finished; measuring the validation loss on every held-out name…');
  },

  done(msg) {
    const run = current(msg);
    if (!run) return;
    page.paused = false;
    page.pausedBy = null;
    if (msg.val != null) chart.setLastVal(msg.val);
    Object.assign(run, { finalVal: msg.val, finalStep: msg.step, stopped: msg.stopped, shared: msg.shared,
      tokensPerS: run.trainSeconds > 0 ? run.trainTokens / run.trainSeconds : null });
    ui.setProgress(msg.step, msg.steps);
    ui.setStats({ step: msg.step, steps: msg.steps, val: msg.val, eta: 0, elapsed: msg.busy });
    if (msg.samples?.length) showSamples(msg.samples, msg.step);
    setState('done');
    const tps = run.trainSeconds > 0 ? run.trainTokens / run.trainSeconds : 0;
    const how = msg.stopped ? `Stopped at step ${ui.fmtInt(msg.step)}` : `Trained ${ui.fmtInt(msg.step)} steps`;
    ui.setStatus(`${how} in ${ui.fmtSeconds(msg.busy)} (${ui.fmtInt(tps)} tokens/s). `
      + `Validation loss ${ui.fmtLoss(msg.val)} vs ${ui.fmtLoss(run.uniform)} for a uniform guess.`, 'ok');
    ui.setText('gen-note', msg.step > 0 ? 'Pick a temperature: low is safe and common, high is wild.' : 'Train first.');
  },

  generated(msg) {
    ui.showNames('generated', msg.names);
    if (msg.note) {
      ui.setText('gen-note', msg.note);
    } else {
      const fresh = msg.names.filter((x) => x.new).length;
      ui.setText('gen-note', `${fresh} of ${msg.names.length} are new names`
        + `${msg.prefix ? ` starting with “${msg.prefix}”` : ''} at temperature ${msg.temperature.toFixed(2)}.`);
    }
  },

  reset() {},

  busy(msg) {   // runtime.js waits for the long call before judging Python dead; tests read what it is
    document.body.dataset.busy = `${msg.what} (${msg.seconds} s)`;
  },

  pong(msg) {   // runtime.js counts any message as a sign of life; a round trip waits for its own
    trips.get(msg.id)?.();
    trips.delete(msg.id);
  },

  error(msg) {
    console.warn('zcgpt worker:', msg.trace || msg.message);
    if (msg.where === 'generate') {
      ui.setText('gen-note', msg.message);
      return;
    }
    if (page.state === 'loading') {
      loading.done();
      ui.setStatus(`Could not start: ${msg.message}`, 'error');
      document.body.dataset.state = 'error';
      return;
    }
    // a side request failed (a second Train while a run goes: "train_again"): the run and model stay
    if (msg.where !== 'train') {
      ui.setStatus(`Something went wrong: ${msg.message}`, 'warn');
      return;
    }
    setState(app.run ? 'error' : 'ready');
    ui.setStatus(`Something went wrong: ${msg.message}`, 'error');
  },
};
plug({ handlers });

/** The run a message belongs to, or null for a late message of a run that was reset. */
function current(msg) {
  return app.run && app.run.id === msg.run ? app.run : null;
}

function showSamples(names, step) {
  ui.showNames('samples', names);
  const fresh = names.filter((x) => x.new).length;
  ui.setText('sample-step', `at step ${ui.fmtInt(step)} · ${fresh} of ${names.length} new`);
}

// "See inside" views, beside the chart: js/inside.js (and its data) are fetched when a view is
// first shown. Each view names its module (data-module); a module is loaded and plugged in once.
const insideModules = {
  inside: () => import('./inside.js').then((m) => m.createInside),
  writer: () => import('./writer.js').then((m) => m.createWriter),
  grads: () => import('./grads.js').then((m) => m.createGrads),
};
const insideLoaded = {};
createTabs(document.getElementById('inside-tabs'), { collapsible: () => true });
for (const panel of document.querySelectorAll('.inside-panel')) {
  panel.addEventListener('tabshow', () => {
    const name = panel.dataset.module || 'inside';
    // Another tab put a newer build in charge: its modules would not go with this page's.
    if (!insideLoaded[name] && stale()) { ui.setStatus(stale(), 'warn'); return; }
    insideLoaded[name] ??= insideModules[name]().then((create) => plug(create({
      send: (msg) => app.worker.send(msg), canSend: () => app.worker != null && app.alive })));
    insideLoaded[name].then((it) => it.opened(panel.id)).catch((err) => console.error(err));
  });
}

// Set-up (data, design, runs, keep and share): a column of its own on a wide screen, with one
// panel always open; on a narrow one a row of tabs that open in place and close again.
const wide = window.matchMedia('(min-width: 1024px)');
const lab = createTabs(document.getElementById('lab-tabs'), { collapsible: () => !wide.matches });
if (wide.matches) lab.show('lab-data');
wide.addEventListener('change', () => { if (wide.matches && !lab.shown()) lab.show('lab-data'); });

/** On a narrow screen, bring the chart into view when a run starts (it sits below the form). */
function showChart() {
  const box = document.querySelector('.live').getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight * 0.35) {
    const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    document.querySelector('.live').scrollIntoView({ block: 'start', behavior: still ? 'auto' : 'smooth' });
  }
}

// ---------- start ----------

const nextPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

// While loading, the status line says what we wait for and how long it has been, and the card
// how much of Python's download has arrived (or that it comes from the local copy).
const loading = createLoading(ui.setStatus);

async function boot() {
  ui.showStage('python');
  loading.start();
  // Python boots in its own thread while this one builds the chart and reads build.json. On a
  // first visit the offline copy's service worker takes charge first, so that Python's files
  // are fetched once, kept, and counted on the loading card. PyScript loads meanwhile.
  preload();
  const worker = prepareCopy(loading.progress).then((copy) => {
    loading.copy(copy);
    app.loadMs.python = Math.round(performance.now());
    return startWorker(dispatch);
  }).then((w) => {
    app.loadMs.pythonReady = Math.round(performance.now());
    return w;
  });
  const build = buildInfo();   // fetched once; runtime.js reads the interpreter from it
  // After the first paint, one piece per task: on a slow or busy machine (the worker compiles
  // Pyodide on another core meanwhile) no single start-up task may come near 100 ms.
  await nextPaint();
  // The first Intl formatter loads ICU's locale data, a long task; uPlot makes two when it
  // loads, so pay for that in a task of its own.
  new Intl.NumberFormat(navigator.language).format(1.5);
  new Intl.DateTimeFormat().resolvedOptions();
  await nextTask();
  const { createChart } = await import('./chart.js');   // uPlot is parsed after the first paint
  await nextTask();
  chart = createChart(document.getElementById('chart'), document.getElementById('chart-legend'),
    document.getElementById('chart-empty'));
  const smoothing = document.getElementById('smoothing');
  const showSmoothing = () => {
    chart.setSmoothing(Number(smoothing.value));
    document.getElementById('smoothing-value').textContent = Number(smoothing.value).toFixed(2);
  };
  smoothing.addEventListener('input', showSmoothing);
  showSmoothing();
  await nextTask();
  const { createDataPanel } = await import('./data.js');
  await nextTask();
  const send = (msg) => app.worker.send(msg);
  const dataPanel = addPanel(createDataPanel({ send, fmtInt: ui.fmtInt, siteURL }));
  const { createSharePanel, linkFor, noLinkReason } = await import('./share.js');
  await nextTask();
  let pretrained = null;
  const sharePanel = addPanel(createSharePanel({ send, setStatus: ui.setStatus, setState, getState: () => page.state,
    data: dataPanel, fmtInt: ui.fmtInt, fillForm: controls.applyLink,
    onLoadedFile: (msg, text) => runsPanel?.addLoaded(msg, text), loadPretrained: (id, list) => pretrained?.loadId(id, list) }));
  const { createRunsPanel } = await import('./runs.js');
  await nextTask();
  runsPanel = addPanel(createRunsPanel({ getRun: () => app.run, currentData: () => dataPanel.builtin(), chart,
    linkFor, noLinkReason, continueRun, useModel: sharePanel.loadText, lists: dataPanel }));
  const { createPretrained } = await import('./pretrained.js');
  await nextTask();
  pretrained = addPanel(createPretrained({ data: dataPanel, loadText: sharePanel.loadText, siteURL,
    setStatus: ui.setStatus }));
  build.then((info) => dataPanel.setDatasets(info?.datasets));
  build.then((info) => pretrained.setModels(info?.pretrained));
  app.info = await build;
  app.worker = await worker;
  sendInit(window.location.hash);
}

/** Tell a started Python where the names are (hash: the address's settings). */
function sendInit(hash) {
  const data = app.info?.datasets?.[0]?.path || 'data/names.txt';
  // ?snapshot_s=2: a snapshot to continue from every 2 s of training (15 s unless asked; tests ask)
  const every = Number(new URLSearchParams(window.location.search).get('snapshot_s'));
  app.worker.send({ type: 'init', data: siteURL(data), hash, timings: keptTimings(),
    ...(every > 0 ? { snapshot_s: every } : {}) });
}

function restartPython(reason) {
  app.alive = false;
  app.worker?.terminate();
  app.worker = null;
  if (stale()) {   // a newer build is in charge: its worker.py and wheel would not go with this page
    runsPanel?.cutOff();
    ui.setStatus(`Python in this tab ${reason}. ${stale()}`, 'error');
    document.body.dataset.state = 'error';
    return;
  }
  // the run it trained is kept as cut off now, not when Python is back: Continue goes on from its snapshot
  const cut = runsPanel?.cutOff();
  const lost = cut?.hasSnapshot ? ` (run ${cut.id} was cut off at step ${ui.fmtInt(cut.stepsDone)}: Continue in Your runs goes on from there)`
    : ['training', 'paused', 'stopping'].includes(page.state) ? ' (the run in progress was lost)' : '';
  app.restarted = { reason, lost };
  replaceRun(null, 'Train to see names appear.');
  setState('loading');
  ui.setStatus(`Python in this tab ${reason}: starting it again…`, 'warn');
  startWorker(dispatch).then((worker) => {
    app.worker = worker;
    sendInit('');
  }).catch((err) => {
    ui.setStatus(`Python in this tab ${reason}, and it could not be started again (${err?.message || err}): reload the page.`, 'error');
    document.body.dataset.state = 'error';
  });
}

/** Python is back: give it the list and the model the page kept, and say what happened. */
function afterRestart(msg) {
  page.presets = msg.presets;
  page.limits = msg.limits;
  page.fields = msg.fields;
  loading.done();
  ui.showStage(null);
  const note = `Python in this tab ${app.restarted.reason}, so it was started again${app.restarted.lost}`;
  const lost = Boolean(app.restarted.lost);
  app.restarted = null;
  setState('ready');
  // a model given back after a run was lost is the one from before that run (share.js keeps the last one loaded or trained)
  const back = plugins.map((p) => p.restore?.()).filter(Boolean)
    .map((what) => (lost && what === 'your last model' ? 'the model you had before that run' : what));
  ui.setStatus(`${note}${back.length ? `: ${back.join(' and ')} ${back.length > 1 ? 'are' : 'is'} back` : ''}.`, 'warn');
  document.body.dataset.restarts = String(Number(document.body.dataset.restarts || 0) + 1);
}

setInterval(() => {
  if (!app.alive || document.hidden) return;   // a hidden tab's timers run late: no verdicts then
  if (app.worker.silent(DEAD_MS)) restartPython('stopped answering');
}, WATCH_MS);

boot().catch((err) => {
  console.error(err);
  loading.done();
  ui.setStatus(`Could not start Python: ${err?.message || err}`, 'error');
  document.body.dataset.state = 'error';
});
