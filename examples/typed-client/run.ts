// `node run.ts ENDPOINT TOKEN PEER`: sendThenReadAll as one user, printed as JSON. Node (≥ 23.6)
// runs TypeScript by erasing its types, so no build step: run `npm run codegen` first.
import { inboxql, sendThenReadAll } from "./client.ts";

// Node's own types are not a dependency of this example: only argv is used.
declare const process: { argv: string[] };

const [endpoint, token, peer] = process.argv.slice(2);
if (!endpoint || !token || !peer) {
  throw new Error("usage: node run.ts ENDPOINT TOKEN PEER");
}
console.log(JSON.stringify(await sendThenReadAll(inboxql(endpoint, token), peer)));
