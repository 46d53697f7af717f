// The offline copy (site/sw.js), downloaded once.
//
// Before Python starts, prepareCopy() decides where its files come from: on a repeat visit the
// service worker already serves them from the local copy; on a first visit the page registers
// it and waits (briefly) until it is in charge, so the runtime's bytes pass through it once,
// are kept, and report their progress. After the page is ready, enableOffline() has the copy
// completed with whatever the page did not fetch, or registers a newer build's worker.

const CHANNEL = 'zcgpt-download';
const TAKE_OVER_MS = 4000;   // a first visit starts Python without the worker after this long

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
  if (navigator.serviceWorker.controller) return { mode: 'local', manifest: null };
  const manifest = await serverManifest();
  if (!manifest) return { mode: 'direct', manifest: null };
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

/** After the page is ready: make the copy complete (or a newer build's); true once it is. */
export async function enableOffline() {
  if (!supported()) return false;
  const manifest = await serverManifest();   // offline, the worker that served this page stays in charge
  const current = navigator.serviceWorker.controller;
  if (manifest && buildOf(current) !== manifest.build) {
    // A first visit without the worker in charge, or a newer build: its worker installs a
    // complete copy (taking unchanged files from the old one) and then takes over.
    await navigator.serviceWorker.register(new URL(`sw.js?build=${manifest.build}`, document.baseURI));
    await controlled(120000);
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
