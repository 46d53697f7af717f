// Bridge to the Python worker (site/worker.py): start it with PyScript, send and receive JSON.
//
// The worker runs PyScript without SharedArrayBuffer (no COOP/COEP headers on static hosts),
// so the only channel is postMessage: Python's js.postMessage(json) arrives here as a
// "message" event of the PyWorker; our worker.postMessage(json) reaches Python's
// polyscript.xworker.onmessage. Every URL is resolved here, against this module, because the
// worker itself runs from a blob: URL where relative URLs mean nothing.

import { stale } from './offline.js';

const here = (path) => new URL(path, import.meta.url).href;

/** Resolves in a later task, so the work before and after it are separate main-thread tasks. */
export const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

let buildInfoPromise = null;
/** dist/build.json (fetched once, relative to the page), or null when it cannot be read. */
export function buildInfo() {
  buildInfoPromise ??= fetch(new URL('build.json', document.baseURI))
    .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  return buildInfoPromise;
}

/** The Pyodide to load: build.json's `interpreter`, resolved against the page; the copy
 *  beside the page by default. `python build.py --pyodide-cdn` writes Pyodide's CDN there. */
async function interpreterURL() {
  const rel = (await buildInfo())?.interpreter || 'pyodide/pyodide.mjs';
  return new URL(rel, document.baseURI).href;
}

/** The packages Python starts with: numpy (from the interpreter's folder) and zcgpt's wheel. */
async function packages() {
  const wheel = (await buildInfo())?.wheel || 'wheels/zcgpt-0.1.0-py3-none-any.whl';
  return ['numpy', siteURL(wheel)];
}

/** The worker's files besides its packages: the SIMD kernel, when the build made one
 *  (zcgpt/simd.py reads it as gemm.wasm). Every worker gets the same, so all run one engine. */
async function files() {
  const kernel = (await buildInfo())?.kernel;
  return kernel ? { [siteURL(kernel.file)]: './gemm.wasm' } : {};
}

let pyscriptPromise = null;
/** PyScript's module, imported once; preload() starts it while the offline copy gets ready. */
const pyscript = () => (pyscriptPromise ??= import('../pyscript/core.js'));

/** Fetch what starting Python needs besides its runtime files (PyScript, build.json) now. */
export function preload() {
  pyscript().catch(() => {});   // a failure shows when startWorker awaits it
  buildInfo();
}

/**
 * Start Python in a worker. Resolves once the interpreter has run `file` (worker.py, the
 * leader; helper.py for a helper, see workers.js).
 * @param {(msg: object) => void} onMessage called with every message from Python
 * @returns {Promise<{send: (msg: object, transfer?: Transferable[]) => void}>}
 */
export async function startWorker(onMessage, file = 'worker.py') {
  if (stale()) throw new Error(stale());   // a newer build's Python under this page's code: no
  const [{ PyWorker }, interpreter, wanted, extra] = await Promise.all([pyscript(), interpreterURL(), packages(), files()]);
  // `version` is what PyScript actually loads the interpreter from; without it a worker
  // created from JS falls back to the CDN build, which a default build must never contact.
  // Pyodide's indexURL is the interpreter's folder, so numpy comes from beside it too.
  // packages_cache 'passthrough' hands the packages to Pyodide's own start-up, which fetches
  // and links them while the interpreter boots (sooner than loading them after it, and no micropip).
  const config = { interpreter, packages: wanted, packages_cache: 'passthrough', files: extra };
  // PyScript's module takes a long task of its own to evaluate; start the worker in the next.
  await nextTask();
  const worker = await PyWorker(here(`../${file}`), { config, version: interpreter });
  let ping = null;   // {id, sentAt} of a ping not yet answered
  let busyUntil = 0; // Python said it is inside a long call ("busy") that may last until then
  let seq = 0;
  worker.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return; // PyScript's own traffic
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (!msg || typeof msg.type !== 'string') return;
    ping = null;      // any message shows Python is alive
    if (msg.type === 'busy' && Number.isFinite(msg.seconds)) busyUntil = performance.now() + 1000 * msg.seconds;
    onMessage(msg);
  });
  worker.addEventListener('error', (event) => {
    onMessage({ type: 'error', where: 'worker', message: String(event.error || event.message || event) });
  });
  const send = (msg, transfer = []) => worker.postMessage(JSON.stringify(msg), transfer);
  return {
    send,
    terminate: () => worker.terminate(),
    /** Ping Python; true when an earlier ping has gone unanswered for more than `deadMs` past
     *  the end of any long call Python announced ("busy": silent, but known to be working). */
    silent(deadMs) {
      const now = performance.now();
      if (ping) return now - Math.max(ping.sentAt, busyUntil) > deadMs;
      ping = { id: ++seq, sentAt: now };
      send({ type: 'ping', id: ping.id });
      return false;
    },
  };
}

/** Absolute URL of a file shipped beside index.html (works at / and under a sub-path). */
export const siteURL = (rel) => here(`../${rel}`);
