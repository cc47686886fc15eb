// The GraphQL-over-HTTP audit of npm's `graphql-http` (auditServer), every request signed in.
// Usage: node graphql_http_audit.mjs <url> <token>. Prints one JSON line per audit item:
// {id, name, status, reason?}; status is "ok", "notice", "warn" or "error".
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);

function signedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: signedFetch });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    line.reason = result.reason;
    line.httpStatus = result.response.status;
  }
  console.log(JSON.stringify(line));
}
