// The messages of one conversation, keyed by seq.
//
// Rendering follows seq, not arrival order. "contiguous" is the highest seq
// such that 1..seq are all present: that is what we ask the server to resume
// from. A message above contiguous+1 reveals a gap, which the caller repairs
// with a sync.

export function validMessage(m) {
  return !!m && Number.isSafeInteger(m.seq) && m.seq > 0 && typeof m.text === 'string';
}

export class Thread {
  constructor(id) {
    this.id = id;
    this.bySeq = new Map();
    this.contiguous = 0;
    this.maxSeq = 0;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  // Returns 'invalid', 'dup', 'gap' (stored, but earlier seqs are missing) or 'ok'.
  add(message) {
    if (!validMessage(message)) return 'invalid';
    if (this.bySeq.has(message.seq)) return 'dup';
    this.bySeq.set(message.seq, message);
    if (message.seq > this.maxSeq) this.maxSeq = message.seq;
    while (this.bySeq.has(this.contiguous + 1)) this.contiguous += 1;
    return this.hasGap() ? 'gap' : 'ok';
  }

  hasGap() {
    return this.maxSeq > this.contiguous;
  }

  ordered() {
    return Array.from(this.bySeq.values()).sort((a, b) => a.seq - b.seq);
  }

  last() {
    return this.maxSeq ? this.bySeq.get(this.maxSeq) || null : null;
  }
}
