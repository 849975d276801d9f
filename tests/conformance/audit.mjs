// Runs graphql-http's GraphQL-over-HTTP server audits against a running hub.
//   node audit.mjs <graphql url> <bearer token>
// Prints one line per audit and a summary; writes the summary as JSON on the last line (for runner.py).
// Exit status: 0 when there are no errors (failed MUSTs) and no warnings (failed SHOULDs), else 1.
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <graphql url> <bearer token>');
  process.exit(2);
}

// The hub authenticates every data request: the audits' requests carry the token, nothing else changes.
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = [];
for (const { fn } of serverAudits({ url, fetchFn })) {
  results.push(await fn());
}
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] += 1;
  const mark = { ok: 'ok    ', notice: 'NOTICE', warn: 'WARN  ', error: 'ERROR ' }[r.status];
  let line = `${mark} ${r.id} ${r.name}`;
  if (r.status !== 'ok') {
    let body = '';
    try { body = await r.response.text(); } catch { /* already read */ }
    line += `\n         ${r.reason} (HTTP ${r.response.status}) ${body.slice(0, 200)}`;
  }
  console.log(line);
}
console.log(`\n${results.length} audits: ${counts.ok} ok, ${counts.notice} notices, ${counts.warn} warnings, ${counts.error} errors`);
console.log(JSON.stringify({ total: results.length, ...counts, failed: results.filter((r) => r.status !== 'ok').map((r) => r.id) }));
process.exit(counts.error || counts.warn ? 1 : 0);
