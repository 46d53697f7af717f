// Loss chart: train and validation loss per step, plus the uniform-guess line, drawn by uPlot.
//
// Points arrive many times a second; they are appended to plain arrays and the chart is
// redrawn at most once per animation frame, so drawing never piles up on the main thread.

import uPlot from '../vendor/uplot/uPlot.esm.js';

const COLORS = { train: '#2563eb', val: '#ea580c', uniform: '#6b7280' };
const HEIGHT = { wide: 280, narrow: 220 };

function fmtLoss(u, v) {
  return v == null ? '—' : v.toFixed(3);
}

export function createChart(el) {
  const data = { step: [], train: [], val: [], uniform: [] };
  let uniform = null;
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
      { label: 'train', stroke: COLORS.train, width: 1.5, value: fmtLoss, points: { show: false } },
      { label: 'validation', stroke: COLORS.val, width: 2, spanGaps: true, value: fmtLoss,
        points: { show: true, size: 4, fill: COLORS.val } },
      { label: 'uniform guess', stroke: COLORS.uniform, width: 1, dash: [6, 4], value: fmtLoss,
        points: { show: false } },
    ],
  };
  const plot = new uPlot(opts, [[], [], [], []], el);

  const draw = () => {
    pending = false;
    plot.setData([data.step, data.train, data.val, data.uniform]);
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
    reset(lnV = null, initVal = null) {
      uniform = lnV;
      for (const key of Object.keys(data)) data[key].length = 0;
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
