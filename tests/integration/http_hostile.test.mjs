// Hostile HTTP on the gateway's port, byte for byte over raw sockets
// (node `net`): pipelined requests with bodies in one write, request
// smuggling (Content-Length with Transfer-Encoding), and Content-Length
// values that are huge, negative or not numbers. Each attack gets its
// documented answer (docs/PROTOCOL.md section 3) or a clean close, and the
// gateway keeps serving: /healthz answers at once, a live chat goes on, and
// SIGTERM still stops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
let chatVisitor, chatOperator, session;

before(async () => {
  c = await startCluster({ gateways: 1, routers: 1 });
  chatOperator = await operator(c.wsUrl(0, 'operator'), c.operator);
  session = chatOperator.welcome.session;
  chatVisitor = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = chatVisitor.welcome.conversation.id;
  await chatVisitor.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hello' }, 'ack');
  await chatOperator.next((f) => f.type === 'assigned' && f.conversation?.id === conv, { what: 'the chat is assigned' });
});

after(async () => {
  chatVisitor?.close();
  chatOperator?.close();
  if (c) await c.stop();
});

/**
 * Writes `data` in ONE write on a fresh connection and collects what comes
 * back until the server closes, `until(text)` holds, or waitMs passes.
 * Resolves { text, closed } (closed: the server ended the connection).
 */
function raw(data, { waitMs = 3000, until } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(c.gatewayPorts[0], '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (closed) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      sock.destroy();
      resolve({ text, closed });
    };
    const t = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (until && until(text)) finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.write(data);
  });
}

const statuses = (text) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

/** /healthz answers within a second, several times in a row. */
async function healthzQuick(what) {
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const r = await fetch(`${c.gatewayUrl(0)}/healthz`, { signal: AbortSignal.timeout(2000) });
    assert.equal(r.status, 200, `/healthz ${what}`);
    assert.ok(Date.now() - started < 1000, `/healthz answered quickly ${what} (${Date.now() - started} ms)`);
  }
}

/** The live chat still works both ways. */
async function chatWorks(what) {
  const conv = chatVisitor.welcome.conversation.id;
  const text = `still chatting ${what} ${clientId('t')}`;
  const a = await chatVisitor.request({ type: 'send', conversation: conv, client_id: clientId('v'), text }, 'ack',
    { timeoutMs: 10000 });
  assert.equal(a.type, 'ack', `a visitor's send is acked ${what}: ${JSON.stringify(a)}`);
  await chatOperator.next((f) => f.type === 'message' && f.text === text,
    { timeoutMs: 10000, what: `the operator sees the message ${what}` });
}

const put = (body, headers = '') =>
  `PUT /api/v1/status HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const BODY = '{"status":"away"}';

test('two pipelined PUTs with bodies in one write: the first is answered, the gateway never hangs', async () => {
  await chatWorks('before the attack');
  for (const auth of ['', 'Authorization: Bearer bogus-token\r\n', `Authorization: Bearer ${session}\r\n`]) {
    const attack = raw(put(BODY, auth) + put(BODY, auth), { waitMs: 5000 });
    // While the attacker's connection is open, the gateway serves.
    await healthzQuick(`during the attack (${auth ? 'with a token' : 'no token'})`);
    const r = await attack;
    const got = statuses(r.text);
    assert.ok(got.length >= 1, `the first PUT is answered: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.equal(got[0], auth === '' ? 401 : auth.includes('bogus') ? 401 : 200, r.text.slice(0, 300));
    // Either both are answered in order, or the connection was closed after the first.
    assert.ok(got.length === 2 || (got.length === 1 && r.closed),
      `each answered, or a clean close after the first: ${JSON.stringify(r.text.slice(0, 600))}`);
    if (got.length === 2) assert.equal(got[1], got[0]);
    else assert.match(r.text, /\r\nconnection: close\r\n/i, 'the answer says the connection closes');
    await healthzQuick(`after the attack (${auth ? 'with a token' : 'no token'})`);
  }
  await chatWorks('after the attack');
});

test('a PUT with a token pipelined with a GET: never 500, each answered or a clean close', async () => {
  const get = `GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`;
  for (const auth of ['Authorization: Bearer bogus-token\r\n', `Authorization: Bearer ${session}\r\n`]) {
    const r = await raw(put(BODY, auth) + get, { waitMs: 5000 });
    const got = statuses(r.text);
    assert.ok(!got.includes(500), `no 500: ${JSON.stringify(r.text.slice(0, 600))}`);
    assert.ok(got.length >= 1, `the PUT is answered: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.equal(got[0], auth.includes('bogus') ? 401 : 200);
    assert.ok(got.length === 2 || (got.length === 1 && r.closed), `each answered or closed: ${r.text.slice(0, 600)}`);
    if (got.length === 2) assert.equal(got[1], 200);
  }
  await healthzQuick('after PUT + GET');
  // Requests without bodies are still pipelined: answered in order on one connection.
  const r = await raw(get.repeat(3) + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', {
    until: (t) => statuses(t).length >= 4 && t.endsWith('ok\n'),
  });
  assert.deepEqual(statuses(r.text), [200, 200, 200, 200], r.text.slice(0, 600));
});

test('a POST or PATCH without Content-Length, then a GET on the same connection: the first is answered and the connection closed, never left waiting for a body', async () => {
  // libwebsockets 4.1 takes a POST, PUT or PATCH without Content-Length to
  // have a body of up to 100 MiB and reads what follows as that body: the
  // connection must end after the answer, not hang with the GET unanswered.
  const get = `GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`;
  const firsts = [
    `POST /api/v1/inbox/00000000-0000-4000-8000-000000000000/done HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`,
    'POST /api/v1/inbox/00000000-0000-4000-8000-000000000000/done HTTP/1.1\r\nHost: x\r\n\r\n',
    `PATCH /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`,
    'POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  ];
  for (const first of firsts) {
    const r = await raw(first + get, { waitMs: 5000 });
    const got = statuses(r.text);
    assert.ok(got.length >= 1, `the first request is answered: ${JSON.stringify(first.split('\r\n')[0])}`);
    assert.ok(got.length === 2 || (got.length === 1 && r.closed),
      `${first.split('\r\n')[0]}: each answered, or closed after the first (not left open): ${JSON.stringify(r.text.slice(0, 400))}`);
  }
  await healthzQuick('after bodyless POSTs');
});

/** CPU seconds (user + system) the process used so far, from /proc. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;    // utime, stime in clock ticks (USER_HZ 100)
}

test('while a pipelined PUT waits for its reply the gateway does not spin', async () => {
  const router = c.proc('router-0');
  const gwPid = c.proc('gateway-0').child.pid;
  const get = `GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`;
  router.child.kill('SIGSTOP');          // the reply cannot come while we watch
  try {
    const attack = raw(put('{"status":"online"}', `Authorization: Bearer ${session}\r\n`) + get, { waitMs: 15000 });
    await healthzQuick('while the PUT waits');
    const before = cpuSeconds(gwPid);
    const started = Date.now();
    await waitFor(() => Date.now() - started >= 2000, { intervalMs: 100, what: 'two seconds of waiting' });
    const used = cpuSeconds(gwPid) - before;
    assert.ok(used < 0.5, `the gateway used ${used.toFixed(2)} s of CPU in 2 s while one request waited`);
    router.child.kill('SIGCONT');
    const r = await attack;
    const got = statuses(r.text);
    assert.ok(got.length >= 1 && !got.includes(500), `answered, never 500: ${JSON.stringify(r.text.slice(0, 400))}`);
  } finally {
    router.child.kill('SIGCONT');
  }
  await chatWorks('after the router came back');
});

test('a flood of pipelined PUTs from several connections: the gateway keeps serving', async () => {
  const attacks = [];
  for (let i = 0; i < 5; i++) attacks.push(raw((put(BODY) + put('{}') + put(BODY)).repeat(3), { waitMs: 4000 }));
  await healthzQuick('during a flood');
  const results = await Promise.all(attacks);
  for (const r of results) assert.equal(statuses(r.text)[0], 401, r.text.slice(0, 200));
  await healthzQuick('after a flood');
  await chatWorks('after a flood');
});

test('Content-Length with Transfer-Encoding: 400 and the connection closed, nothing smuggled', async () => {
  const smuggled = `GET /api/v1/operators HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n\r\n`;
  for (const te of ['Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip, chunked\r\n', 'transfer-encoding: identity\r\n']) {
    const r = await raw(`PUT /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n`
      + `Content-Length: 5\r\n${te}\r\n0\r\n\r\n${smuggled}`, { waitMs: 4000 });
    assert.deepEqual(statuses(r.text), [400], `${te.trim()}: one 400, nothing else: ${JSON.stringify(r.text.slice(0, 600))}`);
    assert.ok(r.closed, `${te.trim()}: the connection is closed`);
    assert.ok(!r.text.includes('"operators"') && !r.text.includes('Anna'), 'the smuggled request was not served');
  }
  // The same on a GET.
  const g = await raw(`GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n`
    + `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, { waitMs: 4000 });
  assert.deepEqual(statuses(g.text), [400], JSON.stringify(g.text.slice(0, 600)));
  assert.ok(g.closed);
  // And on the pages: a body (delimited either way) is never taken for a request.
  for (const framing of ['Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', 'Transfer-Encoding: chunked\r\n',
    'Content-Length: 5\r\n', 'Content-Length: -1\r\n']) {
    const p = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${framing}\r\n0\r\n\r\n${smuggled}`, { waitMs: 4000 });
    assert.deepEqual(statuses(p.text), [400], `/healthz with ${framing.trim()}: ${JSON.stringify(p.text.slice(0, 400))}`);
    assert.ok(p.closed, `/healthz with ${framing.trim()}: closed`);
  }
  // Pipelined page requests without bodies are still served in order.
  const pages = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3), {
    until: (t) => statuses(t).length >= 3 && t.endsWith('ok\n'),
  });
  assert.deepEqual(statuses(pages.text), [200, 200, 200], pages.text.slice(0, 400));
  await healthzQuick('after smuggling attempts');
});

test('a huge Content-Length without a body is 413 at once; -1 and abc are 400', async () => {
  const head = `PUT /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${session}\r\n`;
  for (const cl of ['99999999999', '1000000', '18446744073709551617']) {
    const started = Date.now();
    const r = await raw(`${head}Content-Length: ${cl}\r\n\r\n`, { waitMs: 4000 });
    assert.deepEqual(statuses(r.text), [413], `Content-Length ${cl}: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.ok(r.closed, `Content-Length ${cl}: closed after the answer`);
    assert.ok(Date.now() - started < 2000, `Content-Length ${cl}: answered at once (${Date.now() - started} ms)`);
    assert.match(r.text, /"error":"too_large"/);
  }
  for (const cl of ['-1', 'abc', '1x', '+5', '5, 5', '0x10', '17 17']) {
    const started = Date.now();
    const r = await raw(`${head}Content-Length: ${cl}\r\n\r\n{"status":"away"}`, { waitMs: 4000 });
    assert.deepEqual(statuses(r.text), [400], `Content-Length '${cl}': ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.ok(r.closed, `Content-Length '${cl}': closed after the answer`);
    assert.ok(Date.now() - started < 2000, `Content-Length '${cl}': answered at once`);
  }
  // Two Content-Length headers are refused too.
  const two = await raw(`${head}Content-Length: 17\r\nContent-Length: 2\r\n\r\n{"status":"away"}`, { waitMs: 4000 });
  assert.ok(statuses(two.text)[0] === 400 || (statuses(two.text).length === 0 && two.closed), two.text.slice(0, 300));
  await healthzQuick('after bad lengths');
});

test('after every attack: no crash, and SIGTERM stops the gateway promptly', async () => {
  assert.deepEqual(c.problems(), []);
  await chatWorks('at the end');
  // One more hanging attempt right before the stop.
  const sock = net.connect(c.gatewayPorts[0], '127.0.0.1');
  await new Promise((resolve) => sock.on('connect', resolve));
  sock.write(put(BODY) + put(BODY));
  sock.on('error', () => {});
  await waitFor(() => true);
  const gw = c.proc('gateway-0');
  const started = Date.now();
  await gw.stop(8000);
  sock.destroy();
  assert.equal(gw.exitSignal, null, 'the gateway exited by itself on SIGTERM, not killed');
  assert.ok(Date.now() - started < 8000, `stopped in ${Date.now() - started} ms`);
});
