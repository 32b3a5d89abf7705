// A process that starts an embedded PostgreSQL and then idles, for tests that
// kill it with SIGKILL and look at what it left behind. Prints READY <url>.
import { startEmbeddedPostgres } from '../../../db/embedded-postgres';

const [dataDir, port] = process.argv.slice(2);
startEmbeddedPostgres({ dataDir: dataDir!, port: Number(port) }).then(
  (server) => {
    console.log(`READY ${server.url}`);
    setInterval(() => undefined, 60_000);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
