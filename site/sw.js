// Service worker: keeps a copy of the built page so it opens and trains offline after one visit.
//
// js/offline.js registers it as `sw.js?build=<hash>` with the hash from manifest.json (written
// by build.py), so a new build is a new worker: it caches the new files under its own name,
// takes over, and deletes the old copy. Everything is relative to this file, so it works at /
// and under a sub-path alike; requests to other origins are never touched.

const PREFIX = 'zcgpt-';
const CACHE = PREFIX + (new URL(self.location.href).searchParams.get('build') || 'dev');
const INDEX = new URL('./', self.location.href).href;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const res = await fetch('manifest.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`manifest.json: HTTP ${res.status}`);
    const { files } = await res.json();
    const cache = await caches.open(CACHE);
    await cache.addAll(['./', ...files].map((f) => new Request(f, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.endsWith('/manifest.json')) return;   // always asked of the network: is there a new build?
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    try {
      return await fetch(req);
    } catch (err) {
      const index = req.mode === 'navigate' ? await cache.match(INDEX) : null;
      if (index) return index;
      throw err;
    }
  })());
});
