// Loss chart: the current run's train and validation loss per step, the uniform-guess line, and
// the runs ticked in "Your runs" to compare, drawn by uPlot with a legend of our own.
//
// Points arrive many times a second; they are appended to plain arrays and the chart is
// redrawn at most once per animation frame, so drawing never piles up on the main thread.
// Train curves are smoothed by an exponential moving average (the Smoothing control; 0 draws
// the raw points); the current run's raw curve stays faintly behind its smoothed one.
// Validation points are never smoothed. Colours come from the page's CSS, so dark mode applies.

import uPlot from '../vendor/uplot/uPlot.esm.js';

const HEIGHT = { wide: 280, narrow: 220 };
// Ticked runs, in the order they are listed; mid-tones that read on light and dark grounds.
const RUN_COLORS = ['#0d9488', '#a855f7', '#d97706', '#db2777', '#65a30d', '#0891b2', '#8b5cf6', '#e11d48'];

const fmtLoss = (u, v) => (v == null ? '—' : v.toFixed(3));

/** EMA of the non-null values, debiased so the curve starts at the first point, not at 0. */
export function smooth(values, alpha) {
  if (!(alpha > 0)) return values.slice();
  let s = 0;
  let n = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return null;
    s = alpha * s + (1 - alpha) * v;
    n += 1;
    return s / (1 - alpha ** n);
  });
}

/** A colour of the page's CSS (light or dark), or `fallback` where it is not set. */
export function cssColor(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function createChart(el, legendEl, emptyEl = null) {
  const data = { step: [], train: [], val: [] };
  let overlays = [];   // {id, name, step, train, val} of runs ticked in the runs table
  let uniform = null;
  let name = null;     // the current run's name, for the legend
  let alpha = 0.8;     // smoothing (the page sets it from its control)
  let pending = false;
  let colors = null;

  const height = () => (el.clientWidth < 520 ? HEIGHT.narrow : HEIGHT.wide);
  const yRange = (u, min, max) => {
    // Keep the uniform line in view and never stretch the axis to an outlier early step.
    const top = uniform == null ? max : Math.max(Math.min(max, uniform * 1.15), uniform * 1.05);
    const bottom = Math.min(min, uniform == null ? min : uniform);
    const lo = Number.isFinite(bottom) ? Math.max(0, Math.floor((bottom - 0.1) * 10) / 10) : 0;
    const hi = Number.isFinite(top) ? top : 4;
    return [lo, hi > lo ? hi : lo + 1];
  };

  const make = () => {
    colors = {
      train: cssColor('--train', '#2563eb'), val: cssColor('--val', '#c2410c'), uniform: cssColor('--muted', '#6b7280'),
      axis: cssColor('--muted', '#6b7280'), grid: cssColor('--line', '#e5e7eb'),
    };
    const axis = (label, size) => ({ label, size, labelSize: 16, stroke: colors.axis,
      grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } });
    const line = (stroke, width, extra = {}) => ({ stroke, width, spanGaps: true, value: fmtLoss, points: { show: false }, ...extra });
    const dots = (stroke, dash) => ({ stroke, width: dash ? 1 : 2, dash: dash ? [2, 3] : undefined, spanGaps: true,
      value: fmtLoss, points: { show: true, size: 5, fill: stroke, stroke } });
    const series = [
      { label: 'step' },
      line(colors.train, 1, { label: 'train (raw)', alpha: 0.3 }),
      line(colors.train, 1.75, { label: 'train' }),
      { ...dots(colors.val, false), label: 'validation' },
      line(colors.uniform, 1, { label: 'uniform guess', dash: [6, 4] }),
      ...overlays.flatMap((r, i) => {
        const c = RUN_COLORS[i % RUN_COLORS.length];
        return [line(c, 1.5, { label: `${r.name}: train` }), { ...dots(c, true), label: `${r.name}: validation` }];
      }),
    ];
    return new uPlot({
      width: Math.max(260, el.clientWidth), height: height(), legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: yRange } },
      axes: [axis('step', 40), axis('loss (nats / letter)', 50)],
      series,
    }, series.map(() => []), el);
  };
  let plot = make();

  /** Our legend: what each colour is, the current run first, with each run's last validation. */
  const drawLegend = () => {
    if (!legendEl) return;
    const item = (color, kind, text, fin) => {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = `sw ${kind}`;
      sw.style.setProperty('--c', color);
      li.append(sw, text);
      if (fin != null) {
        const f = document.createElement('span');
        f.className = 'fin';
        f.textContent = `val ${fin.toFixed(3)}`;
        li.append(f);
      }
      return li;
    };
    const lastVal = (vals) => [...vals].reverse().find((v) => v != null) ?? null;
    const items = [
      item(colors.train, '', name ? `${name}: train` : 'train'),
      item(colors.val, 'dot', 'validation', data.step.length ? lastVal(data.val) : null),
      item(colors.uniform, 'dash', 'uniform guess'),
      ...overlays.map((r, i) => item(RUN_COLORS[i % RUN_COLORS.length], '', r.name, lastVal(r.val))),
    ];
    items[0].dataset.run = 'current';
    overlays.forEach((r, i) => { items[3 + i].dataset.run = String(r.id); });
    legendEl.replaceChildren(...items);
  };

  /** Columns on one x axis: the union of every run's steps, null where a run has no point. */
  const columns = () => {
    const xs = overlays.length ? [...new Set([...data.step, ...overlays.flatMap((r) => r.step)])].sort((a, b) => a - b)
      : data.step;
    const col = (steps, values) => {
      if (steps === xs) return values;
      const at = new Map(steps.map((s, i) => [s, values[i]]));
      return xs.map((s) => at.get(s) ?? null);
    };
    return [xs, col(data.step, alpha > 0 ? data.train : data.train.map(() => null)), col(data.step, smooth(data.train, alpha)),
      col(data.step, data.val), xs.map(() => uniform),
      ...overlays.flatMap((r) => [col(r.step, smooth(r.train, alpha)), col(r.step, r.val)])];
  };

  let drawn = null;    // the columns last drawn and their smoothing, for tests and the curious
  let drawnAlpha = null;
  const draw = () => {
    pending = false;
    drawn = columns();
    drawnAlpha = alpha;
    plot.setData(drawn);
    if (emptyEl) emptyEl.hidden = drawn[0].length > 0;
    drawLegend();
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  const rebuild = () => {
    plot.destroy();
    plot = make();
    schedule();
  };

  new ResizeObserver(() => {
    const width = Math.max(260, el.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: height() });
  }).observe(el);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', rebuild);

  return {
    /** Clear the chart for a new run; `lnV` is the loss of a uniform guess, `initVal` the untrained model's. */
    reset(lnV = null, initVal = null, runName = null) {
      uniform = lnV;
      name = runName;
      for (const key of Object.keys(data)) data[key].length = 0;
      if (lnV != null) this.add(0, null, initVal); // the lines start at step 0, before training
      schedule();
    },
    /** The current run's name once it has one (its number comes from the runs store). */
    setName(runName) {
      name = runName;
      schedule();
    },
    /** Append one point: train loss at `step`, and a validation loss if one was measured. */
    add(step, train, val = null) {
      data.step.push(step);
      data.train.push(train);
      data.val.push(val);
      schedule();
    },
    /** Runs ticked in the runs table ({id, name, step, train, val}), drawn beside the current one. */
    setOverlays(list) {
      const shape = (l) => l.map((r) => `${r.id}:${r.name}`).join('\n');
      const same = shape(list) === shape(overlays);
      overlays = list;
      if (same) schedule();
      else rebuild();
    },
    /** How much train curves are smoothed: 0 raw, up to 0.98. */
    setSmoothing(value) {
      alpha = Math.min(0.98, Math.max(0, value));
      schedule();
    },
    /** Names of the runs on the chart, current first (for tests and the curious). */
    labels: () => [name, ...overlays.map((r) => r.name)],
    /** The colours it draws with, read from the page's CSS (light or dark). */
    colors: () => ({ ...colors }),
    /** What is drawn: each series' label and its column on the shared step axis. */
    drawn: () => (drawn ? plot.series.map((sr, i) => ({ label: sr.label, values: drawn[i] })) : []),
    /** The smoothing of what is drawn. */
    drawnSmoothing: () => drawnAlpha,
    /** Attach a validation loss to the latest point (the final full-set evaluation). */
    setLastVal(val) {
      const n = data.val.length;
      if (n) {
        data.val[n - 1] = val;
        schedule();
      }
    },
  };
}
