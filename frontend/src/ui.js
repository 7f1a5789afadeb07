// Small helpers for server-rendered pages: show/hide a password, "back" buttons on error
// pages, and "/" to jump to the global search box.
function onClick(event) {
  const reveal = event.target.closest('[data-xt-reveal]');
  if (reveal) {
    const input = document.getElementById(reveal.dataset.xtReveal);
    if (!input) return;
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    reveal.setAttribute('aria-pressed', String(show));
    const icon = reveal.querySelector('.bi');
    if (icon) icon.className = `bi ${show ? 'bi-eye-slash' : 'bi-eye'}`;
    input.focus();
    return;
  }
  if (event.target.closest('[data-xt-back]')) history.back();
}

function onKey(event) {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest('input, textarea, select, [contenteditable]')) return;
  const search = document.getElementById('xt-search-input');
  if (!search || search.offsetParent === null) return;
  event.preventDefault();
  search.focus();
}

export function enhancePage() {
  document.addEventListener('click', onClick);
  document.addEventListener('keydown', onKey);
  // Offer "back" only when there is a page of ours to go back to.
  const cameFromHere = document.referrer.startsWith(location.origin) && history.length > 1;
  if (cameFromHere) document.querySelectorAll('[data-xt-back]').forEach((b) => b.classList.remove('d-none'));
}
