// A run in a learner's words, for its short name ("tiny, width 32, 2 layers"): used by the
// runs card, the chart's legend and the exports.

import { page } from './page.js';

const WORDS = {
  n_embd: (v) => `width ${v}`, n_layer: (v) => `${v} layer${v === 1 ? '' : 's'}`, n_head: (v) => `${v} head${v === 1 ? '' : 's'}`,
  block_size: (v) => `context ${v}`, mlp_ratio: (v) => `MLP ${v}×`, batch_size: (v) => `batch ${v}`,
  lr: (v) => `lr ${v}`, warmup_steps: (v) => `warm-up ${v}`, weight_decay: (v) => `decay ${v}`,
  grad_clip: (v) => `clip ${v}`, shards: (v) => `${v} shards`, tied_head: (v) => (v ? 'tied output' : 'own output'),
  final_norm: (v) => (v ? 'final norm' : 'no final norm'), activation: (v) => v,
};

/** Where a run started, in words: "pre-trained tiny on cities", "run 3", "model.json"; null from scratch. */
export function startText(start) {
  if (start?.kind === 'pretrained') return `pre-trained ${start.preset} on ${start.data}`;
  if (start?.kind === 'run') return `run ${start.run}`;
  if (start?.kind === 'file') return start.name;
  return null;
}

/** "tiny, width 32, 2 layers, seed 7, cities": the preset, then only what differs from it; a run
 * from a model: "from pre-trained tiny on cities, lr 0.005, seed 7". */
export function describe(run) {
  const p = page.presets[run.preset];
  const from = startText(run.start);
  const parts = [from ? `from ${from}` : run.preset];
  if (from) {
    if (run.changes?.lr != null && run.changes.lr !== p?.lr) parts.push(WORDS.lr(run.changes.lr));
  } else if (p) {
    for (const [k, v] of Object.entries(run.changes || {})) {
      if (k !== 'steps' && p[k] !== v) parts.push((WORDS[k] || ((x) => `${k} ${x}`))(v));
    }
  }
  const usual = Number(document.getElementById('seed')?.defaultValue ?? NaN);   // the form's own seed
  if (run.seed != null && run.seed !== usual) parts.push(`seed ${run.seed}`);
  if (run.data && run.data !== 'names' && run.data !== run.start?.data) parts.push(run.data);
  else if (run.data == null && run.dataLabel) parts.push(run.dataLabel);
  return parts.join(', ');
}
