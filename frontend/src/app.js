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
    // A new notification (or an urgent one sent again): the count, and a toast that links to it.
    // Its words come from the bell's data attributes, rendered in the user's language.
    'notify.new': (event) => {
      setUnread(event.count);
      const words = document.getElementById('xt-bell')?.dataset || {};
      const urgent = event.urgency === 'urgent';
      const prefix = urgent ? `【${event.round > 0 ? words.toastReminder : words.toastUrgent}】` : '';
      showToast(`${prefix}${event.title}`, urgent ? 'danger' : 'info', { href: event.link, label: words.toastView });
    },
    'system.broadcast': (event) => showToast(event.message, event.level),
  });
});
