// What a running PostgreSQL says about itself in `postmaster.pid`, the file it
// keeps in its data directory while it runs: its pid, the port and address it
// listens on, and whether it is ready. A process that finds a server already
// running on DATA_DIR (`npm run ledger:audit` or `npm run migrate` beside
// `npm start`) connects where the server really listens, which is not always
// the EMBEDDED_PG_PORT this process was configured with.
import fs from 'node:fs';
import path from 'node:path';

export interface PostmasterPid {
  pid: number;
  /** The data directory as the server was started with it. */
  dataDir: string;
  /** Undefined if the file does not name one (yet). */
  port: number | undefined;
  /** The first of `listen_addresses` ('' when it listens on no TCP address). */
  listenAddress: string;
  /** `starting`, `ready`, `standby` or `stopping`; undefined in the first moments of a start. */
  status: string | undefined;
}

/** Lines of postmaster.pid (PostgreSQL's `LOCK_FILE_LINE_*`, counted from 1). */
const LINE = { pid: 1, dataDir: 2, port: 4, listenAddress: 6, status: 8 } as const;

/** The file's contents, or undefined when there is none or it names no pid. */
export function readPostmasterPid(dataDir: string): PostmasterPid | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const line = (n: number) => (lines[n - 1] ?? '').trim();
  const pid = Number(line(LINE.pid));
  const port = Number(line(LINE.port));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    pid,
    dataDir: line(LINE.dataDir),
    port: Number.isInteger(port) && port > 0 && port <= 65_535 ? port : undefined,
    listenAddress: line(LINE.listenAddress),
    status: line(LINE.status) || undefined,
  };
}

/** The host to reach a server through, from the address it listens on. */
export function connectHost(listenAddress: string): string {
  const first = listenAddress.split(',')[0]!.trim();
  if (first === '' || first === '*' || first === '0.0.0.0' || first === 'localhost') return '127.0.0.1';
  if (first === '::') return '::1';
  return first;
}
