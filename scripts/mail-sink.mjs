#!/usr/bin/env node
// The demo's mail sink (`make run`): a tiny SMTP server on loopback that
// delivers nowhere — it writes each message it accepts to a file
// <dir>/<UTC time>-<n>.eml (the raw message, readable in any mail program or
// a text editor) and logs one line per message. The demo site's offline
// settings point at it, so the offline form, transcripts and missed-chat
// notices of the demo can be read without a mail server.
//
//   node scripts/mail-sink.mjs --port 2525 --dir var/mail
//
// SMTP (RFC 5321): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no
// AUTH (a client that requires TLS, i.e. one with a user name, is refused).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const port = Number(arg('port', '2525'));
const host = arg('host', '127.0.0.1');
const dir = path.resolve(arg('dir', 'var/mail'));
const MAX_BYTES = 20 * 1024 * 1024;
fs.mkdirSync(dir, { recursive: true });

const log = (msg, fields = {}) => console.log(JSON.stringify({ ts: new Date().toISOString(), process: 'mail-sink', msg, ...fields }));
let count = 0;

/** The Subject header, RFC 2047 words decoded (for the log line only). */
function subjectOf(raw) {
  const head = raw.split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  const m = head.match(/^Subject:\s*(.*)$/im);
  if (!m) return '';
  return m[1].replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, text) => (enc.toUpperCase() === 'B'
    ? Buffer.from(text, 'base64')
    : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (x, h) => String.fromCharCode(parseInt(h, 16))), 'latin1')).toString('utf8'));
}

function deliver(env, raw) {
  count++;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}-${count}.eml`);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `X-Beseda-Sink-From: ${env.from}\r\nX-Beseda-Sink-To: ${env.to.join(', ')}\r\n${raw}`);
  fs.renameSync(tmp, file);
  log('mail received', { from: env.from, to: env.to.join(', '), subject: subjectOf(raw), file });
}

const server = net.createServer((sock) => {
  sock.on('error', () => {});
  sock.setTimeout(5 * 60 * 1000, () => sock.destroy());
  let buf = Buffer.alloc(0);
  let inData = false;
  let env = { from: '', to: [] };
  let data = [];
  let size = 0;
  const say = (line) => sock.write(`${line}\r\n`);
  say(`220 ${host} beseda demo mail sink ESMTP`);
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (let i; (i = buf.indexOf('\r\n')) >= 0;) {
      const line = buf.subarray(0, i).toString('latin1');
      buf = buf.subarray(i + 2);
      if (inData) {
        if (line !== '.') {
          size += line.length + 2;
          if (size <= MAX_BYTES) data.push(line.startsWith('.') ? line.slice(1) : line);
          continue;
        }
        inData = false;
        if (size > MAX_BYTES) say('552 5.3.4 message too big');
        else {
          // Bytes as received (latin1 round trip keeps them), CRLF lines.
          try { deliver(env, Buffer.from(data.map((l) => `${l}\r\n`).join(''), 'latin1')); say('250 2.0.0 written to the demo mail folder'); } catch (e) {
            log('cannot write the mail', { error: e.message }); say('451 4.3.0 cannot write the mail file');
          }
        }
        env = { from: '', to: [] }; data = []; size = 0;
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') { say(`250-${host}`); say('250-8BITMIME'); say(`250 SIZE ${MAX_BYTES}`); }
      else if (verb === 'HELO') say(`250 ${host}`);
      else if (verb === 'MAIL') { env = { from: (line.match(/<([^>]*)>/) || [])[1] || '', to: [] }; say('250 2.1.0 ok'); }
      else if (verb === 'RCPT') {
        if (env.to.length >= 100) say('452 4.5.3 too many recipients');
        else { env.to.push((line.match(/<([^>]*)>/) || [])[1] || ''); say('250 2.1.5 ok'); }
      } else if (verb === 'DATA') {
        if (!env.to.length) say('503 5.5.1 RCPT first');
        else { inData = true; size = 0; say('354 end with <CRLF>.<CRLF>'); }
      } else if (verb === 'RSET') { env = { from: '', to: [] }; say('250 ok'); }
      else if (verb === 'NOOP') say('250 ok');
      else if (verb === 'QUIT') { say('221 bye'); sock.end(); }
      else say('502 5.5.2 not implemented');
    }
    if (!inData && buf.length > 4096) { say('500 5.5.2 line too long'); sock.destroy(); }
  });
});
server.on('error', (e) => { log('cannot listen', { address: `${host}:${port}`, error: e.message }); process.exit(1); });
server.listen(port, host, () => log('listening', { address: `${host}:${port}`, dir }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
