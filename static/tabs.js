// The panel switcher: Chat, Research, Username, and Admin for admin keys. One panel shows at a time (the
// page stays usable on a phone), the choice survives a reload, and the arrow keys move between the visible
// tabs as ARIA's tab pattern says. A hidden tab (Admin for a key without the admin scope) is skipped.

const STORAGE = 'vega.tab';

export function initTabs({ onShow = () => {} } = {}) {
  const tabs = [...document.querySelectorAll('.tabs [role=tab]')];
  const visible = () => tabs.filter((tab) => !tab.hidden);
  const select = (tab, { focus = false, remember = true } = {}) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute('aria-selected', String(on));
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute('aria-controls')).hidden = !on;
    }
    if (remember) localStorage.setItem(STORAGE, tab.id);
    if (focus) tab.focus();
    onShow(tab.getAttribute('aria-controls'));
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      const shown = visible();
      select(shown[(shown.indexOf(tab) + step + shown.length) % shown.length], { focus: true });
    });
  }
  const stored = () => tabs.find((tab) => tab.id === localStorage.getItem(STORAGE));
  const current = () => tabs.find((tab) => tab.getAttribute('aria-selected') === 'true');
  select(visible().find((tab) => tab === stored()) ?? tabs[0], { remember: false });
  return {
    /**
     * Shows or hides a tab. Hiding the selected one falls back to the first tab; showing the tab
     * chosen before a reload (whose key was not yet known to be an admin's) selects it again.
     */
    setAvailable(id, available) {
      const tab = tabs.find((candidate) => candidate.id === id);
      tab.hidden = !available;
      if (!available && current() === tab) select(tabs[0], { remember: false });
      else if (available && stored() === tab && current() !== tab) select(tab);
    },
  };
}
