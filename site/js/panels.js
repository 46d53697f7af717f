// Read-only panels: loading stages, status line, progress bar, numbers, and lists of names.

const $ = (id) => document.getElementById(id);

export function fmtSeconds(s) {
  if (s == null || !Number.isFinite(s)) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
}

export function fmtInt(n) {
  return n == null || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

export const fmtLoss = (v) => (v == null || !Number.isFinite(v) ? '—' : v.toFixed(3));

/** Mark loading stages: stages before `active` done, `active` in progress. */
export function showStage(active, detail = {}) {
  let seen = false;
  for (const li of $('stages').children) {
    const stage = li.dataset.stage;
    li.classList.toggle('active', stage === active);
    li.classList.toggle('done', !seen && stage !== active && active !== null);
    if (stage === active) seen = true;
    if (detail[stage]) li.dataset.detail = detail[stage];
  }
  if (active === null) for (const li of $('stages').children) li.classList.add('done');
}

export function setStatus(text, kind = '') {
  const el = $('status');
  el.textContent = text;
  el.className = `status-line ${kind}`;
}

/** A panel's note line (the `note` class, and `kind`: ok, warn or error). */
export function setNote(id, text, kind = '') {
  const el = $(id);
  el.textContent = text;
  el.className = `note ${kind}`;
}

export function setProgress(step, steps) {
  const pct = steps ? Math.min(100, (100 * step) / steps) : 0;
  $('bar').style.width = `${pct}%`;
  $('progress').setAttribute('aria-valuenow', pct.toFixed(0));
}

export function setStats({ step, steps, loss, val, tps, elapsed, eta }) {
  if (step !== undefined) $('stat-step').textContent = step == null ? '—' : `${fmtInt(step)} / ${fmtInt(steps)}`;
  if (loss !== undefined) $('stat-loss').textContent = fmtLoss(loss);
  if (val !== undefined) $('stat-val').textContent = fmtLoss(val);
  if (tps !== undefined) $('stat-tps').textContent = tps == null ? '—' : fmtInt(tps);
  if (elapsed !== undefined) $('stat-elapsed').textContent = fmtSeconds(elapsed);
  if (eta !== undefined) $('stat-eta').textContent = eta == null ? '—' : fmtSeconds(eta);
}

export function clearStats() {
  setStats({ step: null, loss: null, val: null, tps: null, elapsed: null, eta: null });
  setProgress(0, 0);
}

/** Fill a list with names, each tagged "new" or "in training set". */
export function showNames(listId, names, emptyText = '') {
  const ul = $(listId);
  ul.replaceChildren();
  if (!names.length && emptyText) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = emptyText;
    ul.append(li);
    return;
  }
  for (const { name, new: isNew } of names) {
    const li = document.createElement('li');
    li.className = isNew ? 'name new' : 'name seen';
    const span = document.createElement('span');
    span.className = 'n';
    span.textContent = name || '(empty)';
    const tag = document.createElement('span');
    tag.className = `tag ${isNew ? 'new' : 'seen'}`;
    tag.textContent = isNew ? 'new' : 'in training set';
    li.append(span, tag);
    ul.append(li);
  }
}

export function setText(id, text) {
  $(id).textContent = text;
}
