// Runs kept in the browser (IndexedDB): one record per run, and its texts (the final model, the
// last snapshot to go on from) apart, so the table loads without them.

const DB = 'zcgpt';
const VERSION = 1;

/** A storage failure said in one sentence; quota errors say so. */
export class StoreError extends Error {}

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
      reject(said(err));
      return;
    }
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(said(t.error));
    t.onabort = () => reject(said(t.error));
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
    async put(run) {
      let req;
      await tx(db, ['runs'], 'readwrite', (runs) => { req = runs.put(run); });
      return req.result;
    },
    /** Record and texts together: both are kept or neither. */
    async putWith(run, texts) {
      let req;
      await tx(db, ['runs', 'texts'], 'readwrite', (runs, store) => {
        req = runs.put(run);
        for (const [key, text] of Object.entries(texts)) {
          if (text == null) store.delete(key);
          else store.put(text, key);
        }
      });
      return req.result;
    },
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
