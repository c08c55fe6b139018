// A tiny SMTP server on loopback for tests (RFC 5321's EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH). It records every message
// it accepts, decoded enough to assert on: envelope, headers (RFC 2047
// words decoded), body (quoted-printable or base64 decoded, as UTF-8).
// `sink.dataReply` decides the answer to the end of DATA: a function of the
// message (null: accept, else a reply line such as '451 4.3.0 try later').
import net from 'node:net';

/** "=?UTF-8?B?...?=" / "=?UTF-8?Q?...?=" words in a header value, decoded. */
export function decodeWords(value) {
  const joined = value.replace(/\?=\s+=\?/g, '?==?');
  return joined.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, text) => {
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return bytes.toString('utf8');
  });
}

/** Quoted-printable (RFC 2045) to a UTF-8 string; lines end in \n. */
export function decodeQP(text) {
  const soft = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16)); i += 2;
    } else bytes.push(...Buffer.from(soft[i], 'latin1'));
  }
  return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
}

/** Splits a raw message into { headers: [[name, value]...], header(name), body }. */
export function parseMessage(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const rawBody = at < 0 ? '' : raw.slice(at + 4);
  const headers = [];
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1][1] += line;
    else { const i = line.indexOf(':'); headers.push([line.slice(0, i), line.slice(i + 1).trim()]); }
  }
  const header = (name) => {
    const h = headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
    return h ? decodeWords(h[1]) : undefined;
  };
  const cte = (header('Content-Transfer-Encoding') || '').toLowerCase();
  const body = cte === 'quoted-printable' ? decodeQP(rawBody)
    : cte === 'base64' ? Buffer.from(rawBody, 'base64').toString('utf8') : Buffer.from(rawBody, 'latin1').toString('utf8');
  return { headers, header, body, rawHead: head, rawBody };
}

export async function startSmtp() {
  const sink = { messages: [], dataReply: () => null, attempts: 0, sockets: new Set(), waiters: [] };
  sink.wake = () => { const w = sink.waiters; sink.waiters = []; w.forEach((fn) => fn()); };
  const server = net.createServer((sock) => {
    sink.sockets.add(sock);
    sock.on('close', () => sink.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0), inData = false, env = { from: '', to: [] }, data = [];
    const say = (line) => sock.write(`${line}\r\n`);
    say('220 sink.test ESMTP');
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let i; (i = buf.indexOf('\r\n')) >= 0;) {
        const line = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        if (inData) {
          if (line !== '.') { data.push(line.startsWith('.') ? line.slice(1) : line); continue; }
          inData = false;
          sink.attempts++;
          const raw = data.map((l) => `${l}\r\n`).join('');
          const msg = { ...env, raw, ...parseMessage(raw) };
          const refuse = sink.dataReply(msg);
          if (refuse) say(refuse);
          else { sink.messages.push(msg); say('250 2.0.0 queued'); }
          env = { from: '', to: [] }; data = [];
          sink.wake();
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') { say('250-sink.test'); say('250-8BITMIME'); say('250 SIZE 20000000'); }
        else if (verb === 'HELO') say('250 sink.test');
        else if (verb === 'MAIL') { env.from = (line.match(/<([^>]*)>/) || [])[1] || ''; say('250 2.1.0 ok'); }
        else if (verb === 'RCPT') { env.to.push((line.match(/<([^>]*)>/) || [])[1] || ''); say('250 2.1.5 ok'); }
        else if (verb === 'DATA') { inData = true; say('354 end with .'); }
        else if (verb === 'RSET') { env = { from: '', to: [] }; say('250 ok'); }
        else if (verb === 'NOOP') say('250 ok');
        else if (verb === 'QUIT') { say('221 bye'); sock.end(); }
        else say('502 5.5.2 not implemented');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = server.address().port;
  sink.url = `smtp://127.0.0.1:${sink.port}`;
  /** Waits until pred is true of the messages (checked whenever one arrives). */
  sink.waitFor = async (pred, { timeoutMs = 20000, what = 'mail' } = {}) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = pred(sink.messages);
      if (Array.isArray(r) ? r.length : r) return r;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${sink.messages.length} messages: ${sink.messages.map((m) => m.header('Subject')).join(' | ')}`);
      await new Promise((resolve) => { const t = setTimeout(resolve, Math.min(left, 500)); sink.waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  };
  sink.stop = () => new Promise((resolve) => { for (const s of sink.sockets) s.destroy(); server.close(resolve); });
  return sink;
}
