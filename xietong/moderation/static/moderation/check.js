// Warn the author before sending: a field marked data-moderation-check is checked
// against the sensitive-word lexicon as the author types (POST /api/v1/moderation/check, which
// records nothing), and a hint under it names the words that would block or hold the text.
// The server screens the text again when it is submitted; this only spares the author a surprise.
(function () {
  const DELAY_MS = 600;
  const MAX_CHARS = 20000;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)xietong_csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }

  function hintFor(field) {
    let hint = field.parentElement.querySelector(':scope > .xt-moderation-hint');
    if (!hint) {
      hint = document.createElement('div');
      hint.className = 'xt-moderation-hint form-text d-none';
      hint.setAttribute('role', 'status');
      hint.setAttribute('aria-live', 'polite');
      field.insertAdjacentElement('afterend', hint);
    }
    return hint;
  }

  function quoted(words) {
    return words.map((word) => `“${word}”`).join('、');
  }

  function show(field, verdict) {
    const hint = hintFor(field);
    const words = document.getElementById('xt-moderation-check')?.dataset || {};
    hint.classList.remove('text-danger', 'text-warning-emphasis');
    field.classList.remove('is-invalid');
    if (!verdict || verdict.action === 'allow') {
      hint.classList.add('d-none');
      hint.textContent = '';
      return;
    }
    const list = quoted(verdict.words);
    if (verdict.action === 'block') {
      hint.classList.add('text-danger');
      field.classList.add('is-invalid');
      hint.textContent = (words.block || '').replace('%s', list);
    } else {
      hint.classList.add('text-warning-emphasis');
      hint.textContent = (words.hold || '').replace('%s', list);
    }
    hint.classList.remove('d-none');
  }

  async function check(field) {
    const text = field.value.slice(0, MAX_CHARS);
    if (!text.trim()) {
      show(field, null);
      return;
    }
    try {
      const response = await fetch('/api/v1/moderation/check', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify({ fields: { [field.dataset.moderationCheck || 'text']: text } }),
      });
      if (response.ok && field.value.slice(0, MAX_CHARS) === text) show(field, await response.json());
    } catch (error) {
      // Offline or the server busy: the submit is screened anyway.
    }
  }

  const timers = new WeakMap();
  document.addEventListener('input', (event) => {
    const field = event.target.closest && event.target.closest('[data-moderation-check]');
    if (!field) return;
    clearTimeout(timers.get(field));
    timers.set(field, setTimeout(() => check(field), DELAY_MS));
  });
})();
