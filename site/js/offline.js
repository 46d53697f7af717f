// The offline copy (site/sw.js), downloaded once.
//
// Before Python starts, prepareCopy() decides where its files come from: on a repeat visit the
// service worker already serves them from the local copy; on a first visit the page registers
// it and waits (briefly) until it is in charge, so the runtime's bytes pass through it once,
// are kept, and report their progress. After the page is ready, enableOffline() has the copy
// completed with whatever the page did not fetch, or registers a newer build's worker.
//
// One page, one build: a newer build's worker completes its copy and waits while this page is
// open; the page says a new version is ready and reloads into it when the visitor presses the
// button (never while a run trains). A tab whose worker another tab switched to a newer build
// keeps its code and says so: stale() then refuses loading more of it (modules, Python).

const CHANNEL = 'zcgpt-download';
const TAKE_OVER_MS = 4000;   // a first visit starts Python without the worker after this long
const RUNNING = new Set(['training', 'paused', 'stopping']);   // a run a reload would cut off
const STALE = 'zcgpt was updated in another tab: reload to use the new version.';

let pageBuild = null;   // the build this page's code is of (null: not known, no service worker)
let asked = false;      // this tab asked a newer build's worker to take over
let staleNote = '';

/** Why this tab must not load more of its code ('' while it may): another tab put a newer
 *  build in charge, whose files would not go with the ones this page runs. */
export const stale = () => staleNote;

const supported = () => 'serviceWorker' in navigator && window.isSecureContext;

/** manifest.json of the build on the server, or null offline. */
async function serverManifest() {
  if (!navigator.onLine) return null;
  try {
    const res = await fetch(new URL('manifest.json', document.baseURI), { cache: 'no-store' });
    return res.ok ? await res.json() : null;
  } catch {
    return null;   // the network went away after all
  }
}

const buildOf = (worker) => worker && new URL(worker.scriptURL).searchParams.get('build');

/** Resolves once a service worker controls the page, or after `ms` (false then). */
function controlled(ms) {
  if (navigator.serviceWorker.controller) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      clearTimeout(timer);
      resolve(true);
    }, { once: true });
  });
}

/**
 * Before Python starts: 'local' (a repeat visit: the runtime comes from the local copy),
 * 'download' (a first visit: the service worker passes the runtime's files through, reporting
 * progress), or 'direct' (no service worker here).
 * @param {(msg: {path, received, bytes, wire, done}) => void} onProgress a runtime file's progress
 * @returns {Promise<{mode: string, manifest: object|null}>}
 */
export async function prepareCopy(onProgress) {
  if (!supported()) return { mode: 'direct', manifest: null };
  new BroadcastChannel(CHANNEL).onmessage = (event) => {
    if (event.data?.type === 'progress') onProgress(event.data);
  };
  navigator.serviceWorker.addEventListener('controllerchange', controllerChanged);
  pageBuild = buildOf(navigator.serviceWorker.controller);
  if (pageBuild) return { mode: 'local', manifest: null };
  const manifest = await serverManifest();
  if (!manifest) return { mode: 'direct', manifest: null };
  pageBuild = manifest.build;   // the page came from the server just now
  try {
    const url = new URL(`sw.js?build=${manifest.build}`, document.baseURI);
    const reg = await navigator.serviceWorker.register(url);
    // Already active for this build but not in charge (a hard reload): it will not take over.
    if (reg.active && buildOf(reg.active) === manifest.build) return { mode: 'direct', manifest };
    return { mode: (await controlled(TAKE_OVER_MS)) ? 'download' : 'direct', manifest };
  } catch (err) {
    console.warn('zcgpt: no offline copy', err);
    return { mode: 'direct', manifest };
  }
}

/** Ask the service worker in charge to complete its copy; its answer. */
function complete(worker) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    worker.postMessage({ type: 'complete' }, [channel.port2]);
  });
}

/** The notice's parts. */
const notice = () => ({ box: document.getElementById('update'), text: document.getElementById('update-text'),
  button: document.getElementById('update-reload'), why: document.getElementById('update-why') });

let observer = null;   // follows the page's state for the notice's button

/** Show the notice: `text`, and a button labelled `label` that calls `act` once no run is in
 *  progress (while one is, the button is off and says why). */
function showNotice(text, label, act) {
  const { box, text: line, button, why } = notice();
  if (!box) return;
  line.textContent = text;
  button.textContent = label;
  const follow = () => {
    const busy = RUNNING.has(document.body.dataset.state);
    button.disabled = busy || asked;
    why.textContent = busy ? 'The button works once the run in progress ends: it is not interrupted.' : '';
    why.hidden = !busy;
  };
  box.hidden = false;
  follow();
  observer?.disconnect();
  observer = new MutationObserver(follow);
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
  button.onclick = () => {
    if (RUNNING.has(document.body.dataset.state)) return;
    act();
  };
}

function controllerChanged() {
  if (asked) {   // the build this tab asked for is in charge: reload into it
    window.location.reload();
    return;
  }
  const build = buildOf(navigator.serviceWorker.controller);
  if (!pageBuild || !build || build === pageBuild || staleNote) return;
  staleNote = STALE;
  showNotice(STALE, 'Reload', () => window.location.reload());
}

/** Resolves once `worker` is no longer installing. */
function settled(worker) {
  return new Promise((resolve) => {
    const check = () => { if (worker.state !== 'installing') resolve(worker.state); };
    worker.addEventListener('statechange', check);
    check();
  });
}

/** A newer build's worker has its complete copy and waits: offer to reload into it. */
function offerNewVersion(worker) {
  showNotice('A new version of zcgpt is ready.', 'Reload to use it', () => {
    asked = true;
    notice().button.disabled = true;
    worker.postMessage({ type: 'activate' });   // then controllerchange reloads the page
  });
  worker.addEventListener('statechange', () => {   // an even newer build replaced it: wait for that one
    if (worker.state === 'redundant' && !staleNote) notice().box.hidden = true;
  });
}

/** After the page is ready: make the copy complete (or a newer build's); true once it is. */
export async function enableOffline() {
  if (!supported()) return false;
  const manifest = await serverManifest();   // offline, the worker that served this page stays in charge
  const current = navigator.serviceWorker.controller;
  if (manifest && !current) {
    // A first visit without the worker in charge: it takes over as soon as it is installed.
    await navigator.serviceWorker.register(new URL(`sw.js?build=${manifest.build}`, document.baseURI));
    await controlled(120000);
  } else if (manifest && buildOf(current) !== manifest.build) {
    // A newer build: its worker installs a complete copy (taking unchanged files from this
    // one) and waits until the visitor reloads into it; this page stays with its own copy.
    const reg = await navigator.serviceWorker.register(new URL(`sw.js?build=${manifest.build}`, document.baseURI));
    const fresh = [reg.installing, reg.waiting].find((w) => buildOf(w) === manifest.build);
    if (fresh && await settled(fresh) === 'installed' && !staleNote) offerNewVersion(fresh);
  }
  const worker = navigator.serviceWorker.controller;
  if (!worker) return false;
  const done = await complete(worker);
  if (!done?.ok) {
    console.warn('zcgpt: the offline copy is not complete:', done?.message);
    return false;
  }
  document.body.dataset.offline = 'ready';
  document.getElementById('about')?.append(' · works offline from now on.');
  return true;
}
