// One WebSocket per tab to /ws/events/, reconnecting with capped exponential back-off.
// Close code 4401 means the session ended: stop and let the next page load go to login.
const CLOSE_UNAUTHENTICATED = 4401;
const HEARTBEAT_MS = 25000;

export function connectEvents(handlers) {
  let delay = 1000;
  let heartbeat = null;

  function open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
    socket.addEventListener('open', () => {
      delay = 1000;
      document.body.dataset.live = 'on';
      heartbeat = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), HEARTBEAT_MS);
    });
    socket.addEventListener('message', (message) => {
      const event = JSON.parse(message.data);
      const handler = handlers[event.type];
      if (handler) handler(event);
      document.dispatchEvent(new CustomEvent('xietong:event', { detail: event }));
    });
    socket.addEventListener('close', (closed) => {
      clearInterval(heartbeat);
      document.body.dataset.live = 'off';
      if (closed.code === CLOSE_UNAUTHENTICATED) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  open();
}
