// The request page's islands (Alpine components, registered before Alpine starts):
// xtSignature — a handwritten signature pad: draw with mouse, pen or finger, clear, and the
// drawing goes with the form as a PNG data URL in a hidden field (the server stores and scans
// it as an image); xtPeople — pick colleagues from the address-book search for 转交, 加签,
// 传阅 and @mentions, each choice posted as a hidden input.
import './workflow-instance.css';

const INK = '#111827';

function signature() {
  return {
    drawn: false,
    drawing: false,
    last: null,
    init() {
      this.resize();
      const canvas = this.$refs.canvas;
      canvas.addEventListener('pointerdown', (event) => this.start(event));
      canvas.addEventListener('pointermove', (event) => this.move(event));
      ['pointerup', 'pointerleave', 'pointercancel'].forEach((type) =>
        canvas.addEventListener(type, () => this.end()),
      );
      window.addEventListener('resize', () => {
        if (!this.drawn) this.resize();
      });
    },
    resize() {
      const canvas = this.$refs.canvas;
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      const width = canvas.clientWidth || 300;
      const height = canvas.clientHeight || 140;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      const context = canvas.getContext('2d');
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineCap = 'round';
      context.lineJoin = 'round';
      context.strokeStyle = INK;
      context.lineWidth = 2.4;
    },
    point(event) {
      const box = this.$refs.canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    },
    start(event) {
      event.preventDefault();
      this.$refs.canvas.setPointerCapture?.(event.pointerId);
      this.drawing = true;
      this.last = this.point(event);
      const context = this.$refs.canvas.getContext('2d');
      context.beginPath();
      context.arc(this.last.x, this.last.y, 1.2, 0, Math.PI * 2);
      context.fillStyle = INK;
      context.fill();
    },
    move(event) {
      if (!this.drawing) return;
      event.preventDefault();
      const here = this.point(event);
      const context = this.$refs.canvas.getContext('2d');
      context.beginPath();
      context.moveTo(this.last.x, this.last.y);
      context.lineTo(here.x, here.y);
      context.stroke();
      this.last = here;
      this.drawn = true;
    },
    end() {
      if (!this.drawing) return;
      this.drawing = false;
      this.drawn = true;
      this.$refs.field.value = this.$refs.canvas.toDataURL('image/png');
    },
    clear() {
      const canvas = this.$refs.canvas;
      canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
      this.drawn = false;
      this.$refs.field.value = '';
    },
  };
}

function people({ url, multiple = true, max = 50 }) {
  return {
    query: '',
    results: [],
    chosen: [],
    open: false,
    active: -1,
    async search() {
      const text = this.query.trim();
      if (!text || !url) {
        this.results = [];
        this.open = false;
        return;
      }
      try {
        const response = await fetch(`${url}?q=${encodeURIComponent(text)}`, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!response.ok) return;
        const body = await response.json();
        if (text !== this.query.trim()) return;
        const taken = new Set(this.chosen.map((person) => person.id));
        this.results = (body.results || []).filter((person) => !taken.has(person.id));
        this.active = this.results.length ? 0 : -1;
        this.open = true;
      } catch (error) {
        this.results = [];
      }
    },
    pick(person) {
      if (!person) return;
      if (!multiple) this.chosen = [];
      if (this.chosen.length < max && !this.chosen.some((one) => one.id === person.id)) {
        this.chosen.push(person);
      }
      this.query = '';
      this.results = [];
      this.open = false;
    },
    remove(person) {
      this.chosen = this.chosen.filter((one) => one.id !== person.id);
    },
    key(event) {
      if (event.key === 'ArrowDown' && this.results.length) {
        event.preventDefault();
        this.active = (this.active + 1) % this.results.length;
      } else if (event.key === 'ArrowUp' && this.results.length) {
        event.preventDefault();
        this.active = (this.active - 1 + this.results.length) % this.results.length;
      } else if (event.key === 'Enter') {
        if (this.open && this.results[this.active]) {
          event.preventDefault();
          this.pick(this.results[this.active]);
        }
      } else if (event.key === 'Escape') {
        this.open = false;
      }
    },
  };
}

function register() {
  window.Alpine.data('xtSignature', signature);
  window.Alpine.data('xtPeople', people);
}

if (window.Alpine) register();
else document.addEventListener('alpine:init', register);
