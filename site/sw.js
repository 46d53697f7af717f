// Service worker: keeps a copy of the built page so it opens and trains offline after one visit,
// downloading each file once.
//
// js/offline.js registers it as `sw.js?build=<hash>` with the hash from manifest.json (written
// by build.py), so a new build is a new worker with a cache of its own. On a first visit the
// page waits for it before starting Python: every file the page then fetches passes through
// here, goes on to the page as it arrives (with progress messages for the loading card) and is
// kept once its sha256 matches the manifest's. After the page is ready, "complete" fetches what
// the page has not asked for (the browser's HTTP cache answers for what it already fetched).
// A new build's worker takes the files whose hash is unchanged from the old copy and downloads
// the rest, then waits: pages of the old build stay with the old worker and its copy, so a page
// never runs code of two builds. It takes over when the visitor asks (offline.js posts
// {type: 'activate'}) or once no page of the old build is open, and only then deletes the old
// copy. Everything is relative to this file, so it works at / and under a sub-path alike;
// requests to other origins are never touched.

const PREFIX = 'zcgpt-';
const BUILD = new URL(self.location.href).searchParams.get('build') || 'dev';
const CACHE = PREFIX + BUILD;
const SCOPE = new URL('./', self.location.href).href;
const MANIFEST = `${SCOPE}manifest.json`;   // this build's manifest, kept in its cache
const PARALLEL = 4;                          // downloads at a time while completing the copy
const progress = new BroadcastChannel('zcgpt-download');

let manifestPromise = null;
/** This build's manifest: {build, files: {path: {bytes, gzip, sha256}}, runtime: [path]}. */
function manifest() {
  manifestPromise ??= (async () => {
    const cache = await caches.open(CACHE);
    let res = await cache.match(MANIFEST);
    if (!res) {
      res = await fetch(MANIFEST, { cache: 'no-store' });
      if (!res.ok) throw new Error(`manifest.json: HTTP ${res.status}`);
      const copy = res.clone();
      const m = await res.json();
      if (m.build !== BUILD) throw new Error(`manifest.json is of build ${m.build}, not ${BUILD}`);
      await cache.put(MANIFEST, copy);
      return m;
    }
    return res.json();
  })();
  manifestPromise.catch(() => { manifestPromise = null; });
  return manifestPromise;
}

/** A file's path relative to the scope ('' for the page itself is index.html), or null outside it. */
function pathOf(url) {
  const u = new URL(url);
  if (u.origin !== self.location.origin || !u.href.startsWith(SCOPE)) return null;
  const path = decodeURIComponent(u.pathname.slice(new URL(SCOPE).pathname.length));
  return path === '' || path.endsWith('/') ? `${path}index.html` : path;
}

/** Headers to keep with a stored copy: its body is stored decoded, whatever the transfer was. */
function storedHeaders(headers) {
  const out = new Headers(headers);
  for (const h of ['content-encoding', 'content-length', 'transfer-encoding']) out.delete(h);
  return out;
}

/** The manifest's integrity string of `body` (an ArrayBuffer). */
async function sha256(body) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
  return `sha256-${btoa(String.fromCharCode(...digest))}`;
}

/** Store `body` as `path` if its hash is the manifest's; returns whether it was stored. */
async function keep(cache, path, entry, body, headers) {
  if (await sha256(body) !== entry.sha256) return false;
  await cache.put(SCOPE + path, new Response(body, { status: 200, headers: storedHeaders(headers) }));
  return true;
}

/** Read `stream` to its end, posting progress for a runtime file; the bytes as an ArrayBuffer. */
async function readCounting(stream, path, entry, res, counted) {
  const reader = stream.getReader();
  const chunks = [];
  let received = 0;
  let posted = 0;
  // With a compressed transfer the stream holds the decoded bytes; the wire's count is scaled from them.
  const wire = res.headers.get('content-encoding') ? Number(res.headers.get('content-length')) || null : entry.bytes;
  const say = (done) => counted && progress.postMessage({ type: 'progress', build: BUILD, path, received, bytes: entry.bytes, wire, done });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.byteLength;
    if (received - posted > 128 * 1024) { posted = received; say(false); }
  }
  say(true);
  return new Blob(chunks).arrayBuffer();
}

async function respond(event, path) {
  const req = event.request;
  const cache = await caches.open(CACHE);
  const hit = await cache.match(SCOPE + path);
  if (hit) return hit;
  const known = manifest().catch(() => null);   // asked for while the file is on its way
  let res;
  try {
    res = await fetch(req);
  } catch (err) {
    const index = req.mode === 'navigate' ? await cache.match(`${SCOPE}index.html`) : null;
    if (index) return index;
    throw err;
  }
  const m = await known;
  const entry = m?.files[path];
  if (!entry || res.status !== 200 || !res.body || req.headers.has('range')) return res;
  // The response goes to the page as it is; a clone of its body is counted and, once checked, kept.
  const copy = res.clone();
  const counted = m.runtime.includes(path);
  event.waitUntil(readCounting(copy.body, path, entry, res, counted)
    .then((body) => keep(cache, path, entry, body, res.headers)).catch(() => {}));
  return res;
}

/** Copies of this build's files in an older copy, when their bytes are unchanged. */
async function fromOlderCopy(path, entry) {
  for (const key of await caches.keys()) {
    if (!key.startsWith(PREFIX) || key === CACHE) continue;
    const res = await (await caches.open(key)).match(SCOPE + path);
    if (!res) continue;
    const body = await res.arrayBuffer();
    if (await sha256(body) === entry.sha256) return { body, headers: res.headers };
  }
  return null;
}

/** Put every file of the manifest the copy lacks into it: from an older copy when unchanged,
 *  else fetched with its integrity (the HTTP cache first, the network if that copy is not it). */
async function complete() {
  const m = await manifest();
  const cache = await caches.open(CACHE);
  const have = new Set((await cache.keys()).map((r) => r.url));
  const todo = Object.entries(m.files).filter(([path]) => !have.has(SCOPE + path));
  const onDemand = new Set(m.on_demand || []);   // extra lists, pre-trained models: kept once the page asks
  let fetched = 0;
  const failed = [];
  const one = async ([path, entry]) => {
    const old = await fromOlderCopy(path, entry);
    if (old && await keep(cache, path, entry, old.body, old.headers)) return;
    if (onDemand.has(path)) return;
    const url = path === 'index.html' ? SCOPE : SCOPE + path;   // the address the page was opened at
    let res;
    try {
      res = await fetch(url, { integrity: entry.sha256 });
    } catch {
      res = await fetch(url, { integrity: entry.sha256, cache: 'reload' });   // not the build's bytes, or offline
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    if (!await keep(cache, path, entry, await res.arrayBuffer(), res.headers)) throw new Error('not the bytes of this build');
    fetched += 1;
  };
  const queue = [...todo];
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (queue.length) {
      const item = queue.shift();
      await one(item).catch((err) => failed.push(`${item[0]} (${err?.message || err})`));
    }
  }));
  if (failed.length) throw new Error(`not kept: ${failed.join(', ')}`);
  return { files: Object.keys(m.files).length, added: todo.length, fetched };
}

async function olderCopyExists() {
  return (await caches.keys()).some((key) => key.startsWith(PREFIX) && key !== CACHE);
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // A new build replacing an older copy is complete before it may take over, and waits while
    // a worker of another build is in charge (its pages keep their build); on a first visit
    // it takes over at once (the page waits for it), the page's own requests fill the copy,
    // and "complete" adds the rest once the page is ready.
    if (await olderCopyExists()) await complete();
    if (!self.registration.active) await self.skipWaiting();
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

self.addEventListener('message', (event) => {
  if (event.data?.type === 'activate') {   // the visitor chose to reload into this build
    event.waitUntil(self.skipWaiting());
    return;
  }
  if (event.data?.type !== 'complete') return;
  const reply = (msg) => event.ports[0]?.postMessage({ build: BUILD, ...msg });
  event.waitUntil(complete().then((done) => reply({ type: 'complete', ok: true, ...done }),
    (err) => reply({ type: 'complete', ok: false, message: String(err?.message || err) })));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const path = pathOf(req.url);
  if (req.method !== 'GET' || path === null) return;
  if (path === 'manifest.json') return;   // always asked of the network: is there a new build?
  event.respondWith(respond(event, path));
});
