// The store's routing steps are compare-and-sets in PostgreSQL (migration
// 0012; docs/STORE.md "Routing"), so that several routers cannot both win a
// race: here they are driven straight through SQL sessions, several at once,
// against a real migrated database. One accept of a ringing chat wins however
// many arrive together; a step computed from an old stage is refused; the
// deadline sweep hands each due chat to one claimer for its lease.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startCluster, waitFor } from '../lib/cluster.mjs';

let c, site, ops;
before(async () => {
  // The routers' own deadline poll (router/due.c) would claim the due rows
  // these SQL sessions race for: here it runs once at start, then not again
  // for a minute.
  c = await startCluster({ gateways: 1, routers: 1, env: { BESEDA_DUE_POLL_MS: '60000' } });
  site = c.site.id;
  ops = [c.operator.id];
  for (const name of ['Boris', 'Vera', 'Gleb']) {
    ops.push((await c.createOperator(site, { name, email: `${name.toLowerCase()}-${randomUUID()}@x.example` })).id);
  }
});
after(async () => { if (c) await c.stop(); });

/** A psql session of its own; query() resolves with the rows of what it ran. */
function session() {
  const p = spawn('psql', ['-h', '127.0.0.1', '-p', String(c.pgPort), '-U', 'beseda', '-d', 'beseda',
    '-qAt', '-F', '\t', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  const waiters = [];
  p.stdout.on('data', (d) => { out += d; for (const w of waiters.splice(0)) w(); });
  p.stderr.on('data', (d) => { err += d; });
  const closed = new Promise((resolve) => p.on('close', resolve));
  return {
    /** Sends sql and waits until it printed `lines` more lines. */
    async query(sql, lines = 1) {
      const start = out.split('\n').length - 1;
      p.stdin.write(sql + '\n');
      await waitFor(() => {
        if (err) throw new Error(err);
        return out.split('\n').length - 1 >= start + lines;
      }, { what: `psql: ${sql}` });
      return out.split('\n').slice(start, start + lines).map((l) => l.split('\t'));
    },
    send(sql) { p.stdin.write(sql + '\n'); },
    async end() { p.stdin.end(); await closed; },
  };
}

/** A visitor and their conversation, created as a visitor's first message creates it. */
function newConversation({ name = '', answer = '' } = {}) {
  const visitor = randomUUID(), conv = randomUUID();
  c.sql(`INSERT INTO visitors (id, site_id, name, survey_answer) VALUES ('${visitor}', '${site}', '${name}', '${answer}')`);
  c.sql(`INSERT INTO visits (visitor_id, site_id, url, referrer, language, country, city)
         VALUES ('${visitor}', '${site}', 'https://shop.example/p?utm_source=ads', 'https://ref.example/',
                 'ru-RU', 'RU', 'Moscow')`);
  const [[status, created]] = c.sql(`SELECT status, created FROM beseda_append('${site}', '${conv}', 'visitor',
    '${visitor}', '', '${randomUUID()}', 'hello', 1)`);
  assert.deepEqual([status, created], ['ok', 't']);
  return conv;
}

const step = (conv, stage, action, operators = [], { deadlineMs = 0, from = null, limitS = 0 } = {}) =>
  c.sql(`SELECT applied, array_to_string(ended, ',') FROM beseda_route_step('${site}', '${conv}', ${stage},
    '${action}', '{${operators.join(',')}}', ${deadlineMs}, ${from ? `'${from}'` : 'NULL'}, 'Rule', ${limitS})`)[0];
const row = (conv) => {
  const [r] = c.sql(`SELECT state, coalesce(operator_id::text, ''), route_stage, array_to_string(ringing, ','),
    array_to_string(tried, ','), deadline_at IS NOT NULL, missed, route_rule FROM conversations WHERE id = '${conv}'`);
  return { state: r[0], operator: r[1], stage: Number(r[2]), ringing: r[3] ? r[3].split(',') : [],
    tried: r[4] ? r[4].split(',') : [], deadline: r[5] === 't', missed: r[6] === 't', rule: r[7] };
};
const openChats = (op) => Number(c.sql(`SELECT open_chats FROM operators WHERE id = '${op}'`)[0][0]);

test('a conversation a visitor starts carries their survey answers and the page they came from', () => {
  const conv = newConversation({ name: 'Ivan', answer: 'Buy' });
  const [r] = c.sql(`SELECT visitor_name, survey_answer, first_url, first_referrer, first_language, country, city
                       FROM conversations WHERE id = '${conv}'`);
  assert.deepEqual(r, ['Ivan', 'Buy', 'https://shop.example/p?utm_source=ads', 'https://ref.example/', 'ru-RU', 'RU', 'Moscow']);
});

test('a step from an old stage is refused; each applied step moves the stage on once', () => {
  const conv = newConversation();
  assert.deepEqual(step(conv, 0, 'ring', [ops[0], ops[1]], { deadlineMs: 60000, limitS: 30 }), ['t', '']);
  let r = row(conv);
  assert.equal(r.state, 'ringing');
  assert.deepEqual([...r.ringing].sort(), [ops[0], ops[1]].sort());
  assert.equal(r.stage, 1);
  assert.equal(r.deadline, true);
  assert.equal(r.rule, 'Rule');
  // A second router that read stage 0 escalates too late: refused, nothing changes.
  assert.deepEqual(step(conv, 0, 'ring', [ops[2]], { deadlineMs: 60000 }), ['f', '']);
  assert.deepEqual(row(conv), r);
  // Escalation from the stage it read: the next ring, and who stops ringing.
  const [applied, ended] = step(conv, 1, 'ring', [ops[2]], { deadlineMs: 60000 });
  assert.equal(applied, 't');
  assert.deepEqual(ended.split(',').sort(), [ops[0], ops[1]].sort());
  r = row(conv);
  assert.deepEqual(r.ringing, [ops[2]]);
  assert.deepEqual(r.tried.sort(), [ops[0], ops[1], ops[2]].sort());
  assert.equal(r.stage, 2);
  // An operator of another site is refused (the tenant wall).
  const other = c.sql(`INSERT INTO sites (name) VALUES ('other') RETURNING id`)[0][0];
  const stranger = c.sql(`INSERT INTO operators (site_id, email, name, password_hash)
    VALUES ('${other}', '${randomUUID()}@x.example', 'S', 'x') RETURNING id`)[0][0];
  assert.deepEqual(step(conv, 2, 'assign', [stranger]), ['f', '']);
  // Nobody accepted: missed, closed, no deadline, nobody ringing.
  assert.deepEqual(step(conv, 2, 'miss'), ['t', ops[2]]);
  r = row(conv);
  assert.equal(r.state, 'closed');
  assert.equal(r.missed, true);
  assert.equal(r.deadline, false);
  assert.deepEqual(r.ringing, []);
  assert.deepEqual(step(conv, 3, 'assign', [ops[0]]), ['f', ''], 'a closed conversation takes no step');
});

test('assign and queue steps keep open_chats exact; the assigned operator\'s reply ends the response limit', () => {
  const conv = newConversation();
  const before = openChats(ops[3]);
  assert.deepEqual(step(conv, 0, 'assign', [ops[3]], { deadlineMs: 60000 }), ['t', '']);
  assert.equal(openChats(ops[3]), before + 1);
  assert.equal(row(conv).deadline, true);
  assert.deepEqual(step(conv, 1, 'assign', [ops[2]], { from: ops[0] }), ['f', ''], 'from someone who has it not');
  // The operator answers within the limit: no deadline, and the stage moves on,
  // so an escalation computed before the answer is refused.
  const [[status]] = c.sql(`SELECT status FROM beseda_append('${site}', '${conv}', 'operator', '${ops[3]}', 'Gleb',
    '${randomUUID()}', 'hi!', 1)`);
  assert.equal(status, 'ok');
  const r = row(conv);
  assert.equal(r.deadline, false);
  assert.equal(r.stage, 2);
  assert.equal(c.sql(`SELECT first_response_at IS NOT NULL FROM conversations WHERE id = '${conv}'`)[0][0], 't');
  assert.deepEqual(step(conv, 1, 'assign', [ops[2]], { from: ops[3] }), ['f', '']);
  assert.deepEqual(step(conv, 2, 'queue', [], { from: ops[3] }), ['t', '']);
  assert.equal(openChats(ops[3]), before);
  assert.equal(row(conv).state, 'queued');
});

test('a chat an operator holds is never missed: miss is refused, hold keeps it theirs without a deadline', () => {
  const conv = newConversation();
  assert.deepEqual(step(conv, 0, 'assign', [ops[1]], { deadlineMs: 60000, limitS: 45 }), ['t', '']);
  assert.deepEqual(step(conv, 1, 'miss', [], { from: ops[1] }), ['f', ''], 'missed under its operator');
  assert.deepEqual([row(conv).state, row(conv).missed], ['assigned', false]);
  assert.deepEqual(step(conv, 1, 'hold', [], { from: ops[2] }), ['f', ''], 'held for someone who has it not');
  assert.deepEqual(step(conv, 1, 'hold', [ops[2]], { from: ops[1] }), ['f', ''], 'a hold names nobody new');
  assert.deepEqual(step(conv, 1, 'hold', [], { from: ops[1] }), ['t', '']);
  const r = row(conv);
  assert.deepEqual([r.state, r.operator, r.deadline, r.missed, r.stage], ['assigned', ops[1], false, false, 2]);
  assert.equal(c.sql(`SELECT response_limit_s FROM conversations WHERE id = '${conv}'`)[0][0], '45', 'the limit is kept');
  assert.deepEqual(step(conv, 1, 'hold', [], { from: ops[1] }), ['f', ''], 'once');
  // An escalation rings another; nobody takes it: hold gives it back to who had it.
  assert.deepEqual(step(conv, 2, 'ring', [ops[2]], { from: ops[1], deadlineMs: 60000 }), ['t', '']);
  assert.deepEqual([row(conv).state, row(conv).operator], ['ringing', '']);
  assert.deepEqual(step(conv, 3, 'hold', []), ['t', ops[2]]);
  assert.deepEqual([row(conv).state, row(conv).operator, row(conv).ringing, row(conv).missed], ['assigned', ops[1], [], false]);
  // Once someone else takes it (here an accept), the one it was taken from has no claim on it.
  assert.deepEqual(step(conv, 4, 'ring', [ops[2]], { from: ops[1], deadlineMs: 60000 }), ['t', '']);
  assert.equal(c.sql(`SELECT held_by FROM conversations WHERE id = '${conv}'`)[0][0], ops[1]);
  assert.equal(c.sql(`SELECT won FROM beseda_accept('${site}', '${conv}', '${ops[2]}', 1)`)[0][0], 't');
  assert.equal(c.sql(`SELECT held_by IS NULL FROM conversations WHERE id = '${conv}'`)[0][0], 't');
  // A chat nobody ever held has nobody to give it back to: missed as before.
  const fresh = newConversation();
  assert.deepEqual(step(fresh, 0, 'queue', [], { deadlineMs: 60000 }), ['t', '']);
  assert.deepEqual(step(fresh, 1, 'hold', []), ['f', ''], 'nobody to hold it');
  assert.deepEqual(step(fresh, 1, 'miss'), ['t', '']);
  assert.deepEqual([row(fresh).state, row(fresh).missed], ['closed', true]);
});

test('of many accepts of one ringing chat sent at once, exactly one wins', async () => {
  for (let round = 0; round < 3; round++) {
    const conv = newConversation();
    assert.deepEqual(step(conv, 0, 'ring', ops, { deadlineMs: 60000, limitS: 45 }), ['t', '']);
    const loads = ops.map(openChats);
    const sessions = ops.map(() => session());
    const results = await Promise.all(sessions.map((s, i) =>
      s.query(`SELECT won, array_to_string(ended, ',') FROM beseda_accept('${site}', '${conv}', '${ops[i]}', 1);`)));
    await Promise.all(sessions.map((s) => s.end()));
    const winners = results.map(([[won]], i) => (won === 't' ? i : -1)).filter((i) => i >= 0);
    assert.equal(winners.length, 1, JSON.stringify(results));
    const w = winners[0];
    assert.deepEqual(results[w][0][1].split(',').sort(), ops.filter((_, i) => i !== w).sort());
    const r = row(conv);
    assert.equal(r.state, 'assigned');
    assert.equal(r.operator, ops[w]);
    assert.deepEqual(r.ringing, []);
    assert.equal(r.deadline, true, 'the rule\'s response limit starts at the accept');
    assert.deepEqual(ops.map(openChats), loads.map((n, i) => (i === w ? n + 1 : n)));
  }
});

test('an accept that waits on another one\'s row lock loses once that one commits', async () => {
  const conv = newConversation();
  assert.deepEqual(step(conv, 0, 'ring', [ops[0], ops[1]], { deadlineMs: 60000 }), ['t', '']);
  const first = session(), second = session();
  await first.query('BEGIN;', 0);
  const [[won1]] = await first.query(`SELECT won FROM beseda_accept('${site}', '${conv}', '${ops[0]}', 1);`);
  assert.equal(won1, 't');
  const pending = second.query(`SELECT won FROM beseda_accept('${site}', '${conv}', '${ops[1]}', 1);`);
  await waitFor(() => Number(c.sql(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)[0][0]) > 0,
    { what: 'the second accept waits for the row lock' });
  first.send('COMMIT;');
  const [[won2]] = await pending;
  assert.equal(won2, 'f');
  await Promise.all([first.end(), second.end()]);
  assert.equal(row(conv).operator, ops[0]);
  // Not ringing for this operator any more / never was: no win either.
  assert.equal(c.sql(`SELECT won FROM beseda_accept('${site}', '${conv}', '${ops[2]}', 1)`)[0][0], 'f');
});

// The statement store/route.c runs for StoreDue.
const DUE_SQL = (limit, leaseMs) => `UPDATE conversations c SET deadline_at = now() + ${leaseMs} * interval '1 millisecond'
  WHERE c.id IN (SELECT d.id FROM conversations d WHERE d.deadline_at <= now() AND d.state <> 'closed'
                  ORDER BY d.deadline_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
  RETURNING c.id;`;

test('due conversations are claimed once each, for the length of the lease', async () => {
  const convs = [newConversation(), newConversation(), newConversation(), newConversation()];
  for (const conv of convs) assert.deepEqual(step(conv, 0, 'ring', [ops[0]], { deadlineMs: 60000 }), ['t', '']);
  c.sql(`UPDATE conversations SET deadline_at = now() - interval '1 second' WHERE id IN ('${convs.join("','")}')`);
  // Two sweeps at once, each in a transaction held open: what one claims the other skips.
  const a = session(), b = session();
  await a.query('BEGIN;', 0);
  await b.query('BEGIN;', 0);
  const countDue = (s) => s.query(`SELECT count(*) FROM (SELECT 1 FROM conversations d WHERE d.deadline_at <= now()
    AND d.state <> 'closed' AND d.id IN ('${convs.join("','")}') FOR UPDATE SKIP LOCKED) x;`);
  const [[na]] = await a.query(`WITH claimed AS (${DUE_SQL(2, 30000).replace(/;$/, '')}) SELECT count(*) FROM claimed;`);
  const [[nb]] = await countDue(b);
  assert.equal(Number(na), 2);
  assert.equal(Number(nb), 2, 'the second sweep sees only the rows the first did not lock');
  a.send('COMMIT;');
  b.send('ROLLBACK;');
  await Promise.all([a.end(), b.end()]);
  // The claimed ones are leased (deadline in the future); the others still due.
  const due = c.sql(`SELECT count(*) FROM conversations WHERE deadline_at <= now() AND id IN ('${convs.join("','")}')`)[0][0];
  assert.equal(Number(due), 2);
  const leased = c.sql(`SELECT count(*) FROM conversations WHERE deadline_at > now() + interval '20 seconds'
    AND id IN ('${convs.join("','")}')`)[0][0];
  assert.equal(Number(leased), 2);
});

test('local time: a fixed offset is east of UTC, a name follows its zone', () => {
  const [[utc, plus3, minus530, moscow]] = c.sql(`SELECT beseda_local_minute('UTC'), beseda_local_minute('UTC+03:00'),
    beseda_local_minute('UTC-05:30'), beseda_local_minute('Europe/Moscow')`);
  const week = 7 * 1440;
  assert.equal((Number(plus3) - Number(utc) + week) % week, 180);
  assert.equal((Number(utc) - Number(minus530) + week) % week, 330);
  assert.equal(moscow, plus3, 'Moscow is UTC+3 all year');
  assert.equal(c.sql(`SELECT beseda_local_minute('No/Such_Zone') = beseda_local_minute('UTC')`)[0][0], 't');
});
