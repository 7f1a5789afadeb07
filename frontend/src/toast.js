// A Bootstrap toast in the corner; text is set with textContent, never parsed as HTML.
const ICONS = { info: 'info-circle', warning: 'exclamation-triangle', danger: 'x-octagon' };

// ``link`` (optional): { href, label } — a same-site link shown after the text.
export function showToast(text, level = 'info', link = null) {
  const area = document.getElementById('toast-area');
  if (!area) return;
  const toast = document.createElement('div');
  toast.className = `toast align-items-center text-bg-${level === 'info' ? 'primary' : level} border-0`;
  toast.setAttribute('role', 'alert');
  toast.setAttribute('aria-live', 'assertive');
  toast.innerHTML =
    '<div class="d-flex"><div class="toast-body"><i class="bi me-2"></i><span></span></div>' +
    '<button type="button" class="btn-close btn-close-white me-2 m-auto" data-bs-dismiss="toast"></button></div>';
  toast.querySelector('i').classList.add(`bi-${ICONS[level] || ICONS.info}`);
  toast.querySelector('span').textContent = text;
  if (link && typeof link.href === 'string' && link.href.startsWith('/') && !link.href.startsWith('//')) {
    const anchor = document.createElement('a');
    anchor.className = 'link-light fw-semibold ms-2';
    anchor.href = link.href;
    anchor.textContent = link.label;
    toast.querySelector('.toast-body').appendChild(anchor);
  }
  area.appendChild(toast);
  const instance = window.bootstrap.Toast.getOrCreateInstance(toast, { delay: 10000 });
  toast.addEventListener('hidden.bs.toast', () => toast.remove());
  instance.show();
}
