// Safe persistent storage. localStorage can be missing or throw (privacy
// modes, storage disabled for third-party frames, quota): then we fall back to
// memory so the chat still works for this page view, it just forgets on reload.

const memory = new Map();

function probe() {
  try {
    const s = window.localStorage;
    const key = '__beseda_probe__';
    s.setItem(key, '1');
    s.removeItem(key);
    return s;
  } catch (_) {
    return null;
  }
}

const backend = probe();

export function loadString(key) {
  if (backend) {
    try { return backend.getItem(key); } catch (_) { /* fall through */ }
  }
  return memory.has(key) ? memory.get(key) : null;
}

export function saveString(key, value) {
  memory.set(key, value);
  if (backend) {
    try { backend.setItem(key, value); } catch (_) { /* quota: memory copy stays */ }
  }
}

export function remove(key) {
  memory.delete(key);
  if (backend) {
    try { backend.removeItem(key); } catch (_) { /* ignore */ }
  }
}

export function loadJSON(key, fallback) {
  const raw = loadString(key);
  if (raw === null) return fallback;
  try {
    const value = JSON.parse(raw);
    return value === null || value === undefined ? fallback : value;
  } catch (_) {
    return fallback; // corrupted entry: behave as if absent
  }
}

export function saveJSON(key, value) {
  saveString(key, JSON.stringify(value));
}
