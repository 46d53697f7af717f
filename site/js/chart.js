// Loss chart: train and validation loss per step, plus the uniform-guess line, drawn by uPlot.
//
// Points arrive many times a second; they are appended to plain arrays and the chart is
// redrawn at most once per animation frame, so drawing never piles up on the main thread.
// The train curves of the last KEEP runs stay on the chart (thinner, labelled with their
// settings), so two settings can be compared side by side.

import uPlot from '../vendor/uplot/uPlot.esm.js';

const COLORS = { train: '#2563eb', val: '#ea580c', uniform: '#6b7280' };
const HEIGHT = { wide: 280, narrow: 220 };
const KEEP = 2;                                 // earlier runs kept beside the current one
const PAST_COLORS = ['#0d9488', '#a855f7'];    // newest first
const OVERLAY_COLORS = ['#b45309', '#be123c', '#4d7c0f', '#0369a1', '#6d28d9', '#a16207', '#0f766e', '#9d174d'];

function fmtLoss(u, v) {
  return v == null ? '—' : v.toFixed(3);
}

export function createChart(el) {
  const data = { step: [], train: [], val: [], uniform: [] };
  const past = [];     // {label, step, train} of earlier runs, newest first
  let overlays = [];   // {label, step, train} of runs picked in the runs table
  let uniform = null;
  let label = null;    // the current run's settings, for the legend
  let pending = false;

  const height = () => (el.clientWidth < 520 ? HEIGHT.narrow : HEIGHT.wide);
  const opts = {
    width: Math.max(280, el.clientWidth),
    height: height(),
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false },
      y: {
        // Keep the uniform line in view and never stretch the axis to an outlier early step.
        range: (u, min, max) => {
          const top = uniform == null ? max : Math.max(Math.min(max, uniform * 1.15), uniform * 1.05);
          const bottom = Math.min(min, uniform == null ? min : uniform);
          const lo = Number.isFinite(bottom) ? Math.max(0, Math.floor((bottom - 0.1) * 10) / 10) : 0;
          const hi = Number.isFinite(top) ? top : 4;
          return [lo, hi > lo ? hi : lo + 1];
        },
      },
    },
    axes: [
      { label: 'step', size: 40, labelSize: 16 },
      { label: 'loss (nats / letter)', size: 50, labelSize: 16 },
    ],
    series: [
      { label: 'step' },
      { label: 'train', stroke: COLORS.train, width: 1.5, spanGaps: true, value: fmtLoss, points: { show: false } },
      { label: 'validation', stroke: COLORS.val, width: 2, spanGaps: true, value: fmtLoss,
        points: { show: true, size: 4, fill: COLORS.val } },
      { label: 'uniform guess', stroke: COLORS.uniform, width: 1, dash: [6, 4], value: fmtLoss,
        points: { show: false } },
    ],
  };
  const base = opts.series;
  const make = () => {
    opts.width = Math.max(280, el.clientWidth);
    // fresh series objects: uPlot keeps its own state in the ones it is given
    opts.series = [{ ...base[0] }, { ...base[1], label: label ? `train: ${label}` : 'train' }, { ...base[2] }, { ...base[3] },
      ...past.map((r, i) => ({ label: `earlier: ${r.label}`, stroke: PAST_COLORS[i], width: 1.25,
        spanGaps: true, value: fmtLoss, points: { show: false } })),
      ...overlays.map((r, i) => ({ label: r.label, stroke: OVERLAY_COLORS[i % OVERLAY_COLORS.length], width: 1.25,
        dash: [3, 3], spanGaps: true, value: fmtLoss, points: { show: false } }))];
    return new uPlot(opts, opts.series.map(() => []), el);
  };
  let plot = make();

  /** Columns on one x axis: the union of every kept run's steps, null where a run has no point. */
  const joined = () => {
    const others = [...past, ...overlays];
    const xs = [...new Set([...data.step, ...others.flatMap((r) => r.step)])].sort((a, b) => a - b);
    const col = (steps, values) => {
      const at = new Map(steps.map((s, i) => [s, values[i]]));
      return xs.map((s) => at.get(s) ?? null);
    };
    return [xs, col(data.step, data.train), col(data.step, data.val), xs.map(() => uniform),
      ...others.map((r) => col(r.step, r.train))];
  };

  const draw = () => {
    pending = false;
    plot.setData(past.length || overlays.length ? joined() : [data.step, data.train, data.val, data.uniform]);
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };

  new ResizeObserver(() => {
    const width = Math.max(280, el.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: height() });
  }).observe(el);

  return {
    /** Clear the chart for a new run; `lnV` is the loss of a uniform guess, `initVal` the untrained model's. */
    reset(lnV = null, initVal = null, runLabel = null) {
      uniform = lnV;
      for (const key of Object.keys(data)) data[key].length = 0;
      if (runLabel !== label || plot.series.length !== 4 + past.length + overlays.length) {
        label = runLabel;
        plot.destroy();     // the legend changes: a new plot (once a run, cheap)
        plot = make();
      }
      if (lnV != null) this.add(0, null, initVal); // the lines start at step 0, before training
      schedule();
    },
    /** Append one point: train loss at `step`, and a validation loss if one was measured. */
    add(step, train, val = null) {
      data.step.push(step);
      data.train.push(train);
      data.val.push(val);
      data.uniform.push(uniform);
      schedule();
    },
    /** Keep the current train curve as an earlier run (the oldest kept one goes). */
    keep(runLabel) {
      if (!data.step.length) return;
      past.unshift({ label: runLabel, step: data.step.slice(), train: data.train.slice() });
      past.length = Math.min(past.length, KEEP);
    },
    /** Train curves of runs picked in the runs table, drawn dashed beside the rest. */
    setOverlays(list) {
      overlays = list;
      plot.destroy();
      plot = make();
      schedule();
    },
    /** Settings of the runs on the chart, current first (for tests and the curious). */
    labels: () => [label, ...past.map((r) => r.label)],
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
