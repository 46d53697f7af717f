// The tab's helper workers: more Pythons (helper.py) that compute shards of each training step
// for the leader (worker.py); zcgpt/shards.py deals the shards. The run's numbers depend on its
// `shards` setting only, so helpers may come, go or die mid-run without changing a bit.
//
// Helpers start after the leader is ready, one at a time, so the first run starts as soon as it
// would on one worker; each joins at a step boundary. The page hands the leader and each helper
// the two ends of a MessageChannel: gradients then go worker to worker, never through this thread.

import { startWorker } from './runtime.js';

const ENGINES = { simd: 'SIMD kernel', numpy: 'numpy' };   // what computes the matrix products

const MB_PER_WORKER = 100;  // memory to count for each worker: its Python, numpy and a model, with some room
const MEMORY_SHARE = 0.25;  // of the device memory the browser reports (at most 8 GB), for all workers

/** The most workers a run can use here: the most shards a preset cuts a step into, within memory. */
export function mostWorkers(maxShards, [lo, hi]) {
  const memory = navigator.deviceMemory ? Math.floor((navigator.deviceMemory * 1024 * MEMORY_SHARE) / MB_PER_WORKER) : hi;
  return Math.max(lo, Math.min(maxShards, memory, hi));
}

/** Workers to use when the address does not say: one per core less one for the page, capped by
 *  mostWorkers. */
export function defaultWorkers(maxShards, limits) {
  const cores = navigator.hardwareConcurrency || 2;
  return Math.max(limits[0], Math.min(cores - 1, mostWorkers(maxShards, limits)));
}

export function createWorkers({ leader, setStatus }) {
  const $ = (id) => document.getElementById(id);
  const helpers = new Map();   // id -> {api, attached}
  let nextId = 1;
  let want = 1;                // workers in all, the leader included
  let limits = [1, 16];
  let working = 1;             // sharing the steps of the run in progress (from the leader)
  let training = false;
  let booting = false;
  let started = false;         // the first "ready" came: a restarted leader keeps the count

  function show() {
    const ready = [...helpers.values()].filter((h) => h.attached).length + 1;
    const starting = want - ready;
    $('workers-note').textContent = `${training ? `${working} working` : `${ready} ready`}`
      + `${starting > 0 ? `, ${starting} starting` : ''}`;
    document.body.dataset.workers = String(ready);
    document.body.dataset.working = String(training ? working : 0);
  }

  function fillSelect(auto) {
    const top = Math.max(want, auto, Math.min(limits[1], navigator.hardwareConcurrency || 2));
    $('workers').replaceChildren(...Array.from({ length: top }, (_, i) => new Option(
      `${i + 1}${i + 1 === auto ? ' (auto)' : ''}`, String(i + 1))));
    $('workers').value = String(want);
  }

  /** Start helpers, one after another, until there are want - 1 of them. */
  async function boot() {
    if (booting) return;
    booting = true;
    try {
      while (helpers.size + 1 < want) {
        const id = nextId++;
        const helper = { api: null, attached: false };
        helpers.set(id, helper);
        show();
        try {
          helper.api = await startWorker((msg) => fromHelper(id, msg), 'helper.py');
        } catch (err) {
          helpers.delete(id);
          want = helpers.size + 1;
          $('workers').value = String(want);
          const n = helpers.size + 1;
          setStatus(`A helper worker could not start (${err?.message || err}); continuing on ${n} worker${n === 1 ? '' : 's'}.`, 'warn');
          break;
        }
        if (helpers.get(id) !== helper) helper.api.terminate();   // let go while it started
        else attach(id);
      }
    } finally {
      booting = false;
      show();
    }
  }

  /** Give a started helper and the leader the two ends of a new channel. */
  function attach(id) {
    const helper = helpers.get(id);
    const lead = leader();
    if (!helper?.api || !lead) return;
    const channel = new MessageChannel();
    helper.api.send({ type: 'attach' }, [channel.port1]);
    lead.send({ type: 'helper', id }, [channel.port2]);
  }

  function fromHelper(id, msg) {
    const helper = helpers.get(id);
    if (!helper) return;
    if (msg.type === 'attached') {
      helper.attached = true;
      show();
    } else if (msg.type === 'error') {      // it crashed (out of memory, say)
      lost(id, `it crashed: ${msg.message}`, true);
      say(`A worker stopped (it crashed)`);
    }
  }

  /** Let a helper go; the leader deals its shards to the others. */
  function drop(id, reason, tellLeader = true) {
    const helper = helpers.get(id);
    if (!helper) return;
    helpers.delete(id);
    helper.api?.terminate();
    if (tellLeader) leader()?.send({ type: 'helper_gone', id, reason });
    show();
  }

  /** A helper died or failed: work on with the rest (the user may ask for more again). */
  function lost(id, reason, tellLeader) {
    drop(id, reason, tellLeader);
    want = helpers.size + 1;
    $('workers').value = String(want);
    show();
  }

  function say(what) {
    const n = training ? Math.min(working, helpers.size + 1) : helpers.size + 1;
    setStatus(`${what}; continuing on ${n} worker${n === 1 ? '' : 's'}.`, 'warn');
  }

  function setWant(n) {
    want = Math.max(limits[0], Math.min(limits[1], n));
    const ids = [...helpers.keys()];
    while (ids.length + 1 > want) drop(ids.pop(), 'you chose fewer workers');
    show();
    boot();
  }

  $('workers').addEventListener('change', () => setWant(Number($('workers').value)));

  return {
    handlers: {
      ready(msg) {
        limits = msg.limits.workers || limits;
        const maxShards = Math.max(...Object.values(msg.presets).map((p) => p.shards || 1));
        const auto = defaultWorkers(maxShards, limits);
        const asked = msg.link?.settings?.workers;
        const most = mostWorkers(maxShards, limits);
        if (!started) want = asked != null ? Math.min(asked, most) : auto;   // a restarted leader keeps the count
        if (!started && asked > most) {   // said after the page's own "ready" words (a link's too)
          queueMicrotask(() => setStatus(`${$('status').textContent} The link asks for ${asked} workers, but no run `
            + `here uses more than ${most}, so ${most} start.`, 'warn'));
        }
        started = true;
        fillSelect(auto);
        $('workers-line').hidden = false;      // left out of the page's first layout until now
        $('engine').textContent = ENGINES[msg.engine] || msg.engine;
        $('engine').dataset.engine = msg.engine;
        $('engine').title = msg.engine_note || 'Every worker runs the matrix products, attention and norms on WebAssembly SIMD.';
        for (const id of helpers.keys()) attach(id);   // a restarted leader: the helpers join it again
        setWant(want);
      },
      workers(msg) {
        if (msg.working != null) working = msg.working;
        if (msg.dropped != null && helpers.has(msg.dropped)) {
          lost(msg.dropped, msg.reason, false);
          say(`A worker stopped (${msg.reason})`);
        }
        show();
      },
      progress(msg) {
        if (msg.workers != null && msg.workers !== working) { working = msg.workers; show(); }
      },
    },
    onState(state) {
      const now = ['training', 'paused', 'stopping'].includes(state);
      if (now === training) return;
      training = now;
      working = 1;
      show();
    },
    /** For the tests: end a helper as a crash would, without a word to anyone. */
    terminate(index = 0) {
      const id = [...helpers.keys()][index];
      helpers.get(id)?.api?.terminate();
      return id ?? null;
    },
    get count() { return helpers.size + 1; },
  };
}
