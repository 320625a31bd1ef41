// The panel switcher: Chat, Research, Username. One panel shows at a time (the page stays usable on a
// phone), the choice survives a reload, and the arrow keys move between tabs as ARIA's tab pattern says.

const STORAGE = 'vega.tab';

export function initTabs({ onShow = () => {} } = {}) {
  const tabs = [...document.querySelectorAll('.tabs [role=tab]')];
  const select = (tab, focus = false) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute('aria-selected', String(on));
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute('aria-controls')).hidden = !on;
    }
    localStorage.setItem(STORAGE, tab.id);
    if (focus) tab.focus();
    onShow(tab.getAttribute('aria-controls'));
  };
  for (const [index, tab] of tabs.entries()) {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      select(tabs[(index + step + tabs.length) % tabs.length], true);
    });
  }
  select(tabs.find((tab) => tab.id === localStorage.getItem(STORAGE)) ?? tabs[0]);
}
