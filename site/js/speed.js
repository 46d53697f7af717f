// The tab's measured run times, kept across reloads: after each finished run Python sends its
// newest timed runs ("done": timings), the page keeps them in localStorage and gives them back
// at start-up ("init"), so the designer's time estimate starts from this tab's own speed.
// Python checks what comes back (zcgpt/design.py: read_timings); a private window or a full
// storage may refuse to keep them, and then the estimate is a first guess again after a reload.

const KEY = 'zcgpt.timings';

/** The runs kept by an earlier visit, as Python sent them (an empty list when there are none). */
export function keptTimings() {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(kept) ? kept : [];
  } catch {
    return [];
  }
}

/** Forget the kept run times (Clear my data). */
export function forgetTimings() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing was kept
  }
}

export function createSpeed() {
  return {
    handlers: {
      done(msg) {
        if (!msg.timings) return;
        try {
          localStorage.setItem(KEY, JSON.stringify(msg.timings));
        } catch {
          // not kept: the next visit starts from a first guess
        }
      },
    },
  };
}
