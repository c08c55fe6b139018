// Messages typed but not yet acknowledged by the server.
//
// The protocol promises "ack means durable" only if the client keeps a
// message until its ack and re-sends it with the same client_id. So every
// outgoing message is written to localStorage first, and removed only by its
// ack (or by a message frame carrying the same client_id, which proves it was
// stored). Each mutation re-reads the stored list, so two tabs of the same
// chat do not overwrite each other's entries.

import { loadJSON, saveJSON } from './storage.js';

let counter = 0;

// Unique per conversation with very high probability: time, a per-page
// counter and 48 random bits. The prefix keeps visitor and operator ids apart.
export function newClientId(prefix) {
  counter += 1;
  const rnd = new Uint32Array(2);
  window.crypto.getRandomValues(rnd);
  const random = rnd[0].toString(36) + (rnd[1] & 0xffff).toString(36);
  return `${prefix}-${Date.now().toString(36)}-${counter}-${random}`.slice(0, 64);
}

function valid(entry) {
  return entry && typeof entry.client_id === 'string' && typeof entry.text === 'string' &&
    typeof entry.conversation === 'string';
}

export class Outbox {
  constructor(key, prefix) {
    this.key = key;
    this.prefix = prefix;
  }

  load() {
    const list = loadJSON(this.key, []);
    return Array.isArray(list) ? list.filter(valid) : [];
  }

  save(list) {
    saveJSON(this.key, list);
  }

  add(conversation, text) {
    const entry = { client_id: newClientId(this.prefix), conversation, text, ts: Date.now() };
    const list = this.load();
    list.push(entry);
    this.save(list);
    return entry;
  }

  get(clientId) {
    return this.load().find((e) => e.client_id === clientId) || null;
  }

  remove(clientId) {
    const list = this.load();
    const kept = list.filter((e) => e.client_id !== clientId);
    if (kept.length !== list.length) this.save(kept);
    return list.find((e) => e.client_id === clientId) || null;
  }

  update(clientId, patch) {
    const list = this.load();
    const entry = list.find((e) => e.client_id === clientId);
    if (!entry) return null;
    Object.assign(entry, patch);
    this.save(list);
    return entry;
  }

  forConversation(conversation) {
    return this.load().filter((e) => e.conversation === conversation);
  }

  all() {
    return this.load();
  }
}
