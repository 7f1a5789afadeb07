// The page shell's behaviour: Bootstrap widgets, htmx with CSRF, Alpine islands, and the
// live event socket that keeps the bell count and system messages current in every tab.
import 'bootstrap';
import * as bootstrap from 'bootstrap';
import htmx from 'htmx.org';
import Alpine from 'alpinejs';
import { connectEvents } from './events.js';
import { showToast } from './toast.js';
import { enhancePage } from './ui.js';

window.bootstrap = bootstrap;
window.htmx = htmx;
window.Alpine = Alpine;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)xietong_csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

document.addEventListener('htmx:configRequest', (event) => {
  event.detail.headers['X-CSRFToken'] = csrfToken();
});

function setUnread(count) {
  document.querySelectorAll('[data-unread-count]').forEach((badge) => {
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.classList.toggle('d-none', count <= 0);
    badge.dataset.unreadCount = String(count);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  Alpine.start();
  enhancePage();
  if (!document.body.dataset.authenticated) return;
  connectEvents({
    'notify.count': (event) => setUnread(event.count),
    'system.broadcast': (event) => showToast(event.message, event.level),
  });
});
