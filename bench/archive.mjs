// Archive search benchmark (docs/PERFORMANCE.md "Archive search"): one site
// with N generated messages (default 1,000,000: 10 per conversation,
// Russian and English words, a skewed vocabulary so that some words are
// everywhere and some rare), then search p50/p95 through the HTTP API
// (GET /api/v1/conversations) over a fixed set of queries, filters and
// pages. Not a timed test: it reports what it measured.
//
//   node bench/archive.mjs [--messages N] [--rounds R]     (make bench-archive)
import { startCluster } from '../tests/lib/cluster.mjs';
import { operator } from '../tests/lib/client.mjs';
import os from 'node:os';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MESSAGES = arg('messages', 1_000_000);
const ROUNDS = arg('rounds', 10);
const PER_CONV = 10;
const CONVS = Math.ceil(MESSAGES / PER_CONV);
const RATE_GAP_MS = 60;   // the gateway allows 20 API requests a second per address

const RU = ['доставка', 'доставки', 'заказ', 'заказа', 'оплата', 'возврат', 'курьер', 'посылка', 'адрес', 'телефон',
  'скидка', 'промокод', 'размер', 'цвет', 'гарантия', 'ремонт', 'магазин', 'склад', 'наличие', 'отмена',
  'здравствуйте', 'спасибо', 'пожалуйста', 'когда', 'сколько', 'почему', 'можно', 'нужно', 'сегодня', 'завтра',
  'карта', 'счёт', 'чек', 'кредит', 'рассрочка', 'самовывоз', 'пункт', 'выдачи', 'трек', 'номер',
  'холодильник', 'стиральная', 'машина', 'ноутбук', 'смартфон', 'наушники', 'кабель', 'зарядка', 'чехол', 'экран'];
const EN = ['delivery', 'delivered', 'order', 'orders', 'payment', 'refund', 'courier', 'parcel', 'address', 'phone',
  'discount', 'coupon', 'size', 'colour', 'warranty', 'repair', 'store', 'warehouse', 'stock', 'cancel',
  'hello', 'thanks', 'please', 'when', 'how', 'why', 'can', 'need', 'today', 'tomorrow',
  'card', 'invoice', 'receipt', 'credit', 'instalment', 'pickup', 'point', 'tracking', 'number', 'shipping',
  'fridge', 'washing', 'machine', 'laptop', 'smartphone', 'headphones', 'cable', 'charger', 'case', 'screen'];
const sqlArray = (words) => `ARRAY[${words.map((w) => `'${w}'`).join(',')}]`;

const QUERIES = [
  { q: 'доставка' }, { q: 'заказ' }, { q: 'возврат оплаты' }, { q: 'холодильник' }, { q: 'рассрочка' },
  { q: 'экран' }, { q: '"трек номер"' }, { q: 'delivery' }, { q: 'refund' }, { q: 'orders' },
  { q: 'washing machine' }, { q: 'screen' }, { q: 'warranty repair' }, { q: 'nosuchwordanywhere' },
  { q: 'доставка', state: 'missed' }, { q: 'refund', state: 'closed' }, { q: 'доставка', from: '2026-01-01', to: '2026-01-31' },
  { q: 'charger', operator: 'OP' }, { state: 'missed' }, { visitor: 'visitor 12345' }, {}, { from: '2025-06-01', to: '2025-06-02' },
];

function pct(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const t0 = Date.now();
  const c = await startCluster({ gateways: 1, routers: 1 });
  try {
    const site = await c.createSite('Bench archive');
    const ops = [];
    for (let i = 0; i < 5; i++) ops.push(await c.createOperator(site.id, { name: `Operator ${i}` }));
    const opIds = `ARRAY[${ops.map((o) => `'${o.id}'::uuid`).join(',')}]`;
    const ws = await operator(c.wsUrl(0, 'operator'), ops[0]);
    const token = ws.welcome.session;

    // Generate: visitors, conversations over the last year, then messages; the
    // full-text index is rebuilt after the load (as a restore would).
    const g0 = Date.now();
    c.sql(`INSERT INTO visitors (id, site_id, name, email, created_at)
           SELECT md5('bv' || i)::uuid, '${site.id}', 'Visitor ' || i, 'visitor' || i || '@example.com', now() - interval '1 year'
             FROM generate_series(1, ${Math.ceil(CONVS / 3)}) i`);
    c.sql(`INSERT INTO conversations (id, site_id, visitor_id, operator_id, state, missed, created_at, closed_at, last_seq, visitor_name)
           SELECT md5('bc' || i)::uuid, '${site.id}', md5('bv' || (1 + i % ${Math.ceil(CONVS / 3)}))::uuid,
                  CASE WHEN i % 20 = 0 THEN NULL ELSE (${opIds})[1 + i % 5] END,
                  CASE WHEN i <= 3 THEN 'assigned' ELSE 'closed' END, i % 20 = 0,
                  now() - i * (interval '365 days' / ${CONVS}), now() - i * (interval '365 days' / ${CONVS}) + interval '15 minutes',
                  ${PER_CONV}, 'Visitor ' || (1 + i % ${Math.ceil(CONVS / 3)})
             FROM generate_series(1, ${CONVS}) i`);
    c.sql('DROP INDEX messages_tsv');
    // Each message: 4-12 words, a skewed pick (random()^3) from a language
    // chosen per conversation (a quarter mixed).
    c.sql(`INSERT INTO messages (site_id, conversation_id, seq, client_msg_id, author_kind, author_name, body, created_at)
           SELECT '${site.id}', md5('bc' || i)::uuid, s, 'b' || s, CASE WHEN s % 2 = 1 THEN 'visitor' ELSE 'operator' END, '',
                  (SELECT string_agg(CASE WHEN (i % 4 = 0 AND random() < 0.5) OR (i % 4 <> 0 AND i % 2 = 0)
                                          THEN (${sqlArray(RU)})[1 + floor(${RU.length} * random() ^ 3)::int + 0 * w]
                                          ELSE (${sqlArray(EN)})[1 + floor(${EN.length} * random() ^ 3)::int + 0 * w] END, ' ')
                     FROM generate_series(1, 4 + (s * i) % 9) AS t(w)),
                  now() - i * (interval '365 days' / ${CONVS}) + s * interval '1 minute'
             FROM generate_series(1, ${CONVS}) i, generate_series(1, ${PER_CONV}) s`);
    c.sql('CREATE INDEX messages_tsv ON messages USING gin (tsv)');
    c.sql('VACUUM ANALYZE messages');
    c.sql('VACUUM ANALYZE conversations');
    c.sql('VACUUM ANALYZE visitors');
    const generated = c.sql(`SELECT count(*) FROM messages WHERE site_id = '${site.id}'`)[0][0];
    const genS = (Date.now() - g0) / 1000;
    console.log(`generated ${generated} messages in ${CONVS} conversations in ${genS.toFixed(0)} s`);

    // Measure: every query ROUNDS times (plus its second page), one at a time.
    const all = [];
    const per = [];
    for (const q0 of QUERIES) {
      const q = { ...q0 };
      if (q.operator === 'OP') q.operator = ops[1].id;
      const times = [];
      let found = 0;
      for (let r = 0; r < ROUNDS; r++) {
        for (let pageNo = 0, before = null; pageNo < 2; pageNo++) {
          const params = new URLSearchParams({ ...q, limit: '20', ...(before ? { before } : {}) });
          await sleep(RATE_GAP_MS);
          const t = performance.now();
          let res;
          try {
            res = await fetch(`${c.gatewayUrl(0)}/api/v1/conversations?${params}`, { headers: { Authorization: `Bearer ${token}` } });
          } catch (err) {
            console.error(`${params}: ${err.message} after ${(performance.now() - t).toFixed(0)} ms`);
            console.error(c.logs().split('\n').filter((l) => /gateway|error|warn|archive/i.test(l)).slice(-30).join('\n'));
            throw err;
          }
          const body = await res.json();
          const ms = performance.now() - t;
          if (res.status !== 200) throw new Error(`${params}: ${res.status} ${JSON.stringify(body)}`);
          times.push(ms);
          all.push(ms);
          if (pageNo === 0) found = body.conversations.length;
          before = body.next;
          if (!before) break;
        }
      }
      times.sort((a, b) => a - b);
      per.push({ query: JSON.stringify(q0), found, p50: pct(times, 0.5), p95: pct(times, 0.95) });
    }
    all.sort((a, b) => a - b);
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`\n| query | results on page 1 | p50 ms | p95 ms |\n|---|---|---|---|`);
    for (const r of per) console.log(`| \`${r.query}\` | ${r.found} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
    console.log(`\nall ${all.length} searches: p50 ${pct(all, 0.5).toFixed(1)} ms, p95 ${pct(all, 0.95).toFixed(1)} ms, ` +
      `max ${all[all.length - 1].toFixed(1)} ms (target p95 < 200 ms)`);
    console.log(`machine: ${os.cpus().length} cores, load average at the end ${load}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    ws.close();
  } finally {
    await c.stop();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
