// "Gradients while it trains": each part's gradient norm and update-to-weight ratio at every
// reported step, from the training step itself (zcgpt.train.part_stats). Opening the panel
// asks the worker to watch; closing it stops the watching.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { cssColor } from './chart.js';
import { el, loadStyle } from './inside.js';

const $ = (id) => document.getElementById(id);
// Mid-tones that read on light and dark cards alike.
const COLORS = ['#3b82f6', '#f97316', '#22c55e', '#a855f7', '#06b6d4', '#f43f5e', '#eab308', '#94a3b8'];

export function createGrads({ send, canSend }) {
  let parts = [];          // part names in the order first seen
  let rows = [];           // [step, {part: [grad, ratio]}]
  let plots = null;
  let pending = false;
  let lr = null;           // the run's learning rate, for the note

  const make = (host, label) => {
    const axis = { stroke: cssColor('--muted', '#6b7280'), grid: { stroke: cssColor('--line', '#e5e7eb') } };
    return new uPlot({
      width: Math.max(260, host.clientWidth), height: 180, legend: { live: false },
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [{ label: 'step', size: 36, ...axis },
        { label, size: 60, ...axis, values: (u, vals) => vals.map((v) => (v == null ? '' : v.toExponential(0))) }],
      series: [{ label: 'step' }, ...parts.map((p, i) => ({ label: p, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false } }))],
    }, [[], ...parts.map(() => [])], host);
  };

  const redraw = () => {
    pending = false;
    if (!plots) return;
    const xs = rows.map((r) => r[0]);
    const col = (k) => parts.map((p) => rows.map((r) => (r[1][p]?.[k] > 0 ? r[1][p][k] : null)));   // log scale: no zeros
    plots.grad.setData([xs, ...col(0)]);
    plots.ratio.setData([xs, ...col(1)]);
    $('grads-view').dataset.points = String(rows.length);
  };
  const rebuild = () => {
    plots?.grad.destroy();
    plots?.ratio.destroy();
    $('grads-grad').replaceChildren();
    $('grads-ratio').replaceChildren();
    plots = { grad: make($('grads-grad'), 'gradient norm'), ratio: make($('grads-ratio'), 'update / weight') };
    redraw();
  };
  const schedule = () => {
    if (!pending) { pending = true; requestAnimationFrame(redraw); }
  };

  const panel = () => $('inside-grads');
  const watch = (on) => { if (canSend()) send({ type: 'watch', gradients: on }); };

  return {
    async opened() {
      if (!plots) {
        await loadStyle();
        panel().querySelector('.inside-body').append(
          el('p', { class: 'note', id: 'grads-note', text: 'Nothing to show yet: train (or keep training) with this view '
            + 'open, and two charts appear here, one line per part of the model, a point per reported step.' }),
          el('div', { class: 'grads', id: 'grads-view', hidden: '' }, el('div', { id: 'grads-grad' }), el('div', { id: 'grads-ratio' })));
        panel().addEventListener('tabhide', () => watch(false));
        window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', rebuild);
        rebuild();
      }
      watch(true);
    },
    handlers: {
      start(msg) { rows = []; lr = msg.lr; schedule(); },
      progress(msg) {
        if (!msg.parts?.length) return;
        $('grads-view').hidden = false;
        for (const [step, stats] of msg.parts) {
          for (const p of Object.keys(stats)) if (!parts.includes(p)) { parts.push(p); rebuild(); }
          rows.push([step, stats]);
        }
        $('grads-note').textContent = 'Per part of the model, on a log scale: the gradient\'s size, and how much one '
          + 'step moved the weights compared with their size. Adam moves each weight by about the learning rate per '
          + `step, so ratios of one to five times the rate (${lr ?? 'this run\'s rate'}) are normal early on, falling `
          + 'as the rate decays to 0; '
          + 'near 1 a step rewrites the part, and the run may blow up.';
        schedule();
      },
      ready() { if (panel() && !panel().hidden) watch(true); },   // a restarted Python starts unwatched
    },
  };
}
