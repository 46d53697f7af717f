// The loading card while Python starts: the status line says what we wait for and for how
// long; on a first visit a bar shows the runtime's bytes received of the total (reported by
// the offline copy's service worker, sw.js), on a repeat visit it says the local copy is used.

const $ = (id) => document.getElementById(id);
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`;

/** What a host sends for a manifest entry: gzipped where hosts compress, else the file. */
const expected = (entry) => entry.gzip ?? entry.bytes;

/** @param {(text: string, kind?: string) => void} setStatus the page's status line */
export function createLoading(setStatus) {
  const files = new Map();   // runtime path -> {wire: bytes on the wire, got: of them received}
  let timer = null;
  let mode = null;           // offline.js prepareCopy's: 'download', 'local' or 'direct'

  const loading = {
    what: 'Python',
    show() { setStatus(`Loading ${loading.what}… ${(performance.now() / 1000).toFixed(1)} s`); },
    start() { timer = setInterval(loading.show, 250); },
    done() {
      clearInterval(timer);
      if (mode === 'download' && files.size) {
        draw(true);
        $('download-bar').hidden = true;   // the note says what arrived
      }
      else if (mode === 'direct') $('download').hidden = true;   // no count of what arrived
    },

    /** Where Python's files come from (offline.js prepareCopy): say so on the card. */
    copy(copy) {
      mode = copy.mode;
      const { manifest } = copy;
      document.body.dataset.copy = mode;
      for (const path of manifest?.runtime || []) files.set(path, { wire: expected(manifest.files[path]), got: 0 });
      if (mode === 'local') note('Starting from the local copy: nothing to download.');
      else if (!files.size) return;    // Python comes from elsewhere (a --pyodide-cdn build)
      else if (mode === 'download') draw(false);
      else note(`Downloading about ${MB(total('wire'))}: Python, numpy and the names`);
    },

    /** A runtime file's progress from the service worker: {path, received, bytes, wire, done}. */
    progress(msg) {
      if (!files.has(msg.path) && !files.size) return;   // before copy(), or not a file of the bar
      const f = files.get(msg.path) ?? { wire: msg.wire ?? msg.bytes, got: 0 };
      if (msg.wire) f.wire = msg.wire;   // the host's real figure, once its answer has begun
      f.got = msg.done ? f.wire : Math.min(f.wire, Math.round((msg.received / msg.bytes) * f.wire));
      files.set(msg.path, f);
      draw(false);
    },
  };

  const total = (key) => [...files.values()].reduce((sum, f) => sum + f[key], 0);

  function note(text) {
    $('download').hidden = false;
    $('download-note').textContent = text;
  }

  function draw(finished) {
    const wire = total('wire');
    const got = Math.min(total('got'), wire);
    const pct = wire ? Math.round((100 * got) / wire) : 0;
    const bar = $('download-bar');
    bar.hidden = false;
    bar.setAttribute('aria-valuenow', String(pct));
    $('download-fill').style.width = `${pct}%`;
    note(finished ? `Downloaded ${MB(got)}, kept in this browser for the next visit.`
      : `Downloading ${MB(got)} of ${MB(wire)}: Python, numpy and the names`);
  }

  return loading;
}
