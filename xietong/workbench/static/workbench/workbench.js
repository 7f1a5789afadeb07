// Tabs of the workbench cards (to-dos by module, notice and news sections) that keep the
// chosen tab when htmx swaps in a fresh body after a live event, and fall back to the first
// tab when the chosen one is gone (that module has nothing left).
document.addEventListener('alpine:init', () => {
  window.Alpine.data('wbTabs', (initial) => ({
    tab: initial,
    init() {
      this.keep();
    },
    keep() {
      const tabs = Array.from(this.$el.querySelectorAll('[data-tab]'), (element) => element.dataset.tab);
      if (tabs.includes(this.tab)) return;
      this.tab = tabs.length === 0 || tabs.includes(initial) ? initial : tabs[0];
    },
  }));
});
