// Approvals: the 批量同意 selection of the inbox and the colleague picker of the 委托 form,
// Alpine components looked up by name from x-data. The server checks every choice again.

window.wfBatch = function wfBatch() {
  return {
    selected: [],
    boxes() {
      return [...this.$root.querySelectorAll('input[name="items"]')];
    },
    get allChosen() {
      const boxes = this.boxes();
      return boxes.length > 0 && boxes.every((box) => this.selected.includes(box.value));
    },
    toggleAll(checked) {
      this.selected = checked ? this.boxes().map((box) => box.value) : [];
    },
    // After a live refresh, forget the items that left the list (approved elsewhere, withdrawn).
    prune() {
      const present = new Set(this.boxes().map((box) => box.value));
      this.selected = this.selected.filter((value) => present.has(value));
    },
    usePhrase(event) {
      if (event.target.value) this.$refs.opinion.value = event.target.value;
      event.target.value = '';
    },
  };
};

window.wfPeople = function wfPeople(searchUrl, initial) {
  return {
    chosen: initial,
    query: '',
    results: [],
    active: -1,
    timer: null,
    search() {
      clearTimeout(this.timer);
      const text = this.query.trim();
      if (!text) {
        this.results = [];
        return;
      }
      this.timer = setTimeout(async () => {
        const response = await fetch(`${searchUrl}?q=${encodeURIComponent(text)}`, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!response.ok) return;
        const data = await response.json();
        this.results = data.results;
        this.active = this.results.length ? 0 : -1;
      }, 200);
    },
    choose(person) {
      this.chosen = person;
      this.query = '';
      this.results = [];
    },
    clear() {
      this.chosen = null;
      this.$nextTick(() => this.$refs.search && this.$refs.search.focus());
    },
    move(step) {
      if (!this.results.length) return;
      this.active = (this.active + step + this.results.length) % this.results.length;
    },
    pick() {
      if (this.active >= 0 && this.results[this.active]) this.choose(this.results[this.active]);
    },
  };
};
