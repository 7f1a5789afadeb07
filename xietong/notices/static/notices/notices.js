// Notices: the audience picker of the notice form, an Alpine component looked up by name
// from x-data. The server checks every choice again.

window.noticePicker = function noticePicker(initial, picks, searchUrl) {
  return {
    selected: initial,
    picks,
    query: '',
    results: [],
    open: false,
    active: -1,
    timer: null,
    has(ref) {
      return this.selected.some((item) => item.ref === ref);
    },
    add(item) {
      if (!this.has(item.ref)) this.selected.push({ ref: item.ref, label: item.label, kind: item.kind });
      this.query = '';
      this.results = [];
      this.open = false;
      this.$refs.search.focus();
    },
    remove(ref) {
      this.selected = this.selected.filter((item) => item.ref !== ref);
    },
    search() {
      clearTimeout(this.timer);
      const text = this.query.trim();
      if (!text) {
        this.results = [];
        this.open = false;
        return;
      }
      this.timer = setTimeout(async () => {
        const response = await fetch(`${searchUrl}?q=${encodeURIComponent(text)}`, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!response.ok) return;
        const data = await response.json();
        if (text !== this.query.trim()) return;
        this.results = data.results;
        this.active = this.results.length ? 0 : -1;
        this.open = true;
      }, 200);
    },
    move(step) {
      if (!this.results.length) return;
      this.active = (this.active + step + this.results.length) % this.results.length;
    },
    choose() {
      if (this.open && this.active >= 0 && this.results[this.active]) this.add(this.results[this.active]);
    },
    backspace() {
      if (!this.query && this.selected.length) this.selected.pop();
    },
  };
};
