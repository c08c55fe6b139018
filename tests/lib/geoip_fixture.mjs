// The GeoIP test database (tests/lib/mmdb.mjs writes it): a few networks in
// the shape of GeoLite2-City. Used by tests/integration/geoip.test.mjs and,
// as a command, by the C unit test test_router_geoip:
//   node tests/lib/geoip_fixture.mjs OUT.mmdb [RECORD_SIZE]
import { fileURLToPath } from 'node:url';
import { writeMmdb, place } from './mmdb.mjs';

export const GEOIP_NETWORKS = [
  { network: '77.88.0.0/16', data: place('RU', 'Moscow') },
  // no English name: the first one is taken
  { network: '77.88.200.0/24', data: place('RU', { ru: 'Санкт-Петербург', de: 'Sankt Petersburg' }) },
  { network: '8.8.8.0/24', data: place('US', 'Mountain View') },
  { network: '2a02:6b8::/32', data: place('RU', 'Moscow') },
  // a country-only database's record
  { network: '5.6.0.0/16', data: { country: { iso_code: 'de' } } },
  // a name longer than the router keeps, in two-byte characters
  { network: '9.9.9.0/24', data: place('FR', 'é'.repeat(200)) },
  // what the router must refuse: not two letters, a control character
  { network: '6.6.6.0/24', data: place('XYZ', 'Bad\u0001City') },
];

export const writeGeoipFixture = (file, recordSize = 28) => writeMmdb(file, GEOIP_NETWORKS, { recordSize });

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) { console.error('usage: geoip_fixture.mjs OUT.mmdb [24|28|32]'); process.exit(2); }
  writeGeoipFixture(process.argv[2], Number(process.argv[3] || 28));
}
