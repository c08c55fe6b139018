// The HTTP API of PROTOCOL.md section 3, with the console's session token.
// Resolves {status, json}; never throws for an HTTP error status.
import { t } from './i18n.js';

export async function api(session, method, path, body) {
  const headers = { Authorization: `Bearer ${session}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      cache: 'no-store', credentials: 'omit',
    });
    let json = null;
    try { json = await res.json(); } catch (_) { /* not JSON */ }
    return { status: res.status, json };
  } catch (_) {
    return { status: 0, json: { error: 'unavailable', message: t('unreachable') } };
  }
}
