// Offline after the first visit: register site/sw.js once the page is ready (it then copies
// the built files in the background). Loaded lazily by main.js, never before training is possible.

/** Register the service worker for this build; resolves to true once a copy is in place. */
export async function enableOffline() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return false;
  let build = null;
  if (navigator.onLine) {   // offline, the worker that served this page stays in charge
    try {
      const res = await fetch(new URL('manifest.json', document.baseURI), { cache: 'no-store' });
      if (res.ok) build = (await res.json()).build;
    } catch {
      // the network went away after all: as above
    }
  }
  if (build) {
    await navigator.serviceWorker.register(new URL(`sw.js?build=${build}`, document.baseURI));
  } else if (!navigator.serviceWorker.controller) {
    return false;
  }
  await navigator.serviceWorker.ready;
  document.body.dataset.offline = 'ready';
  document.getElementById('about')?.append(' · works offline from now on.');
  return true;
}
