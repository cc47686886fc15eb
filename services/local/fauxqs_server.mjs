// Serves the fauxqs SQS emulator on 127.0.0.1 only (its own CLI binds every interface).
// argv: the folder fauxqs is installed in (holding node_modules/), and the port.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [installDir, port] = process.argv.slice(2);
const entry = join(installDir, "node_modules", "fauxqs", "dist", "app.js");
const { buildApp } = await import(pathToFileURL(entry).href);

const app = buildApp({ logger: false });
await app.listen({ port: Number(port), host: "127.0.0.1" });
console.log(`fauxqs listening on 127.0.0.1:${port}`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => app.close().then(() => process.exit(0)));
}
