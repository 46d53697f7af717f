// Runs kept in the browser (IndexedDB): one record per run, and its texts (the final model, the
// last snapshot to go on from) apart, so the table loads without them.

const DB = 'zcgpt';
const VERSION = 1;

/** A storage failure said in one sentence; quota errors say so. */
export class StoreError extends Error {}
/** A write refused because another tab changed or deleted the record since this copy was read. */
export class StaleError extends StoreError {}

function said(err) {
  if (err?.name === 'QuotaExceededError') {
    return new StoreError("the browser's storage for this page is full");
  }
  return new StoreError(`the browser refused to store it (${err?.name || 'error'}: ${err?.message || err})`);
}

const done = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(said(req.error));
});

function tx(db, stores, mode, work) {
  return new Promise((resolve, reject) => {
    let t;
    let result;
    try {
      t = db.transaction(stores, mode);
      result = work(...stores.map((s) => t.objectStore(s)));
    } catch (err) {
      try { t?.abort(); } catch { /* not started */ }
      reject(said(err));
      return;
    }
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(said(t.error));
    t.onabort = () => reject(said(t.error));
  });
}

/**
 * Write a record (and its texts) if the stored one is not newer: each write adds one to the
 * record's `version`, read again in the same transaction, so a copy older than the stored
 * record, or of a record deleted since it was stored, is refused (StaleError) and nothing is
 * written. The flags hasSnapshot and hasModel follow the texts written with it ("<id>:snapshot",
 * "<id>:model"), in the same transaction: the record never claims a text that was not stored.
 * On success the record's id, version and flags are updated; resolves to its id.
 */
function write(db, run, texts) {
  const flags = {};
  for (const [key, text] of Object.entries(texts)) {
    if (key.endsWith(':snapshot')) flags.hasSnapshot = text != null;
    if (key.endsWith(':model')) flags.hasModel = text != null;
  }
  const next = { ...run, ...flags, version: (run.version ?? 0) + 1 };
  if (next.id == null) delete next.id;
  return new Promise((resolve, reject) => {
    let t;
    let failure = null;
    const put = (runs, store) => {
      try {
        runs.put(next).onsuccess = (e) => { next.id = e.target.result; };
        for (const [key, text] of Object.entries(texts)) {
          if (text == null) store.delete(key);
          else store.put(text, key);
        }
      } catch (err) {
        failure = said(err);
        t.abort();
      }
    };
    try {
      t = db.transaction(['runs', 'texts'], 'readwrite');
      const runs = t.objectStore('runs');
      const store = t.objectStore('texts');
      if (run.id == null) {
        put(runs, store);
      } else {
        runs.get(run.id).onsuccess = (e) => {
          const stored = e.target.result;
          if (stored ? (stored.version ?? 0) > (run.version ?? 0) : (run.version ?? 0) > 0) {
            failure = new StaleError(stored ? `run ${run.id} was changed in another tab` : `run ${run.id} was deleted in another tab`);
            t.abort();
            return;
          }
          put(runs, store);
        };
      }
    } catch (err) {
      try { t?.abort(); } catch { /* not started */ }
      reject(said(err));
      return;
    }
    t.oncomplete = () => {
      Object.assign(run, flags, { id: next.id, version: next.version });
      resolve(next.id);
    };
    t.onabort = () => reject(failure ?? said(t.error));
  });
}

/** The store, or null when this browser keeps nothing (private mode, storage off). */
export async function openStore() {
  if (!('indexedDB' in window)) return null;
  let db;
  try {
    db = await new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, VERSION);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('runs', { keyPath: 'id', autoIncrement: true });
        req.result.createObjectStore('texts');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('blocked by another tab'));
    });
  } catch (err) {
    console.warn('zcgpt: runs are not kept:', err);
    return null;
  }
  return {
    all: () => tx(db, ['runs'], 'readonly', (runs) => done(runs.getAll())).then((p) => p),
    /** Add or update a record; resolves to its id. */
    put: (run) => write(db, run, {}),
    /** Record and texts together: both are kept or neither. */
    putWith: (run, texts) => write(db, run, texts),
    async text(key) {
      let req;
      await tx(db, ['texts'], 'readonly', (store) => { req = store.get(key); });
      return req.result ?? null;
    },
    remove: (id) => tx(db, ['runs', 'texts'], 'readwrite', (runs, store) => {
      runs.delete(id);
      store.delete(`${id}:model`);
      store.delete(`${id}:snapshot`);
      store.delete(`${id}:list`);
    }),
    clear: () => tx(db, ['runs', 'texts'], 'readwrite', (runs, store) => { runs.clear(); store.clear(); }),
  };
}
