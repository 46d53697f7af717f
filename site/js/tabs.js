// Tabs: a role="tablist" of buttons, each showing the role="tabpanel" its aria-controls names.
//
// A panel gets a "tabshow" event when it is shown and "tabhide" when it is hidden, so the
// modules behind it can start and stop their work. A collapsible tab list (the set-up card on
// a phone) closes its panel when the open tab is pressed again; otherwise one stays open.

export function createTabs(list, { collapsible = () => false } = {}) {
  const tabs = [...list.querySelectorAll('[role=tab]')];
  const panelOf = (tab) => document.getElementById(tab.getAttribute('aria-controls'));

  // One tab is reached by Tab: the open one, else the one last closed, else the first.
  let lastClosed = null;
  const select = (tab, { focus = false } = {}) => {
    for (const t of tabs) {
      const on = t === tab;
      const panel = panelOf(t);
      const was = !panel.hidden;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on || (!tab && t === (lastClosed || tabs[0])) ? 0 : -1;
      panel.hidden = !on;
      if (on !== was) panel.dispatchEvent(new CustomEvent(on ? 'tabshow' : 'tabhide'));
    }
    if (focus && tab) tab.focus();
  };
  const current = () => tabs.find((t) => t.getAttribute('aria-selected') === 'true') || null;

  list.addEventListener('click', (e) => {
    const tab = e.target.closest('[role=tab]');
    if (!tab) return;
    if (tab === current() && collapsible()) {
      lastClosed = tab;
      select(null);
    } else {
      select(tab);
    }
  });
  // Arrow keys move between tabs (and show them), as a tab list does.
  list.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    select(tabs[(to + tabs.length) % tabs.length], { focus: true });
  });
  select(null);

  return {
    /** Show the panel with this id (null: none). */
    show(panelId) { select(tabs.find((t) => t.getAttribute('aria-controls') === panelId) || null); },
    /** The id of the panel shown, or null. */
    shown: () => (current() ? current().getAttribute('aria-controls') : null),
  };
}
