// The page's state and its one message dispatcher, shared by every module.
//
// States (mirrored on <body data-state>, which the tests read):
//   loading -> ready -> training <-> paused -> stopping -> done -> training ...; reset -> ready;
//   error when a run fails (Reset recovers).
// Messages from Python (zcgpt/protocol.py lists them) reach every handler registered with on().

/** Which buttons work in which state. */
export const ENABLED = {
  loading: [],
  ready: ['train'],
  training: ['pause', 'stop', 'reset'],
  paused: ['pause', 'stop', 'reset', 'generate'],
  stopping: ['reset'],
  done: ['train', 'reset', 'generate'],
  error: ['reset'],
};

/** States in which the settings, the data and model files cannot change. */
export const LOCKED = new Set(['loading', 'training', 'paused', 'stopping']);

/** What several modules read: the state, the list's characters, and the worker's presets and limits. */
export const page = {
  state: 'loading',
  paused: false,
  pausedBy: null,  // 'user' or 'hidden' (the tab went to the background)
  chars: '',        // characters of the list the next run trains on
  dataName: '',     // that list's name
  presets: {},      // from "ready": each preset's config, params, page_steps and note
  limits: {},       // from "ready": steps, seed, lr, generate, temperature, data_bytes, model_bytes
  fields: [],       // from "ready": the designer's Config fields [{name, type, help, choices}]
};

const handlers = new Map();     // message type -> [fn]
const stateWatchers = [];

/** Call fn(msg) for every message of this type from Python. */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, []);
  handlers.get(type).push(fn);
}

/** Register a module's {type: fn} handlers and its onState. */
export function plug(panel) {
  for (const [type, fn] of Object.entries(panel.handlers || {})) on(type, fn);
  if (panel.onState) {
    stateWatchers.push(panel.onState);
    panel.onState(page.state);
  }
  return panel;
}

export function dispatch(msg) {
  for (const fn of handlers.get(msg.type) || []) fn(msg);
}

export function setState(state) {
  page.state = state;
  document.body.dataset.state = state;
  for (const fn of stateWatchers) fn(state);
}

/** The characters of the list the next run trains on (also on <body data-chars>). */
export function setChars(chars) {
  page.chars = chars;
  document.body.dataset.chars = chars;
}
