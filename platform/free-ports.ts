// `npm start` checks the ports it is about to listen on before it starts
// anything (initdb takes a while on a first start), and names the setting to
// change for each one that is taken.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Settings } from '../config/settings';

export interface WantedPort {
  /** The setting that chooses it. */
  setting: string;
  host: string;
  port: number;
  what: string;
}

/** The ports `npm start` will listen on with these settings. */
export function portsOfStart(settings: Settings): WantedPort[] {
  const wanted: WantedPort[] = [];
  if (settings.PORT !== 0)
    wanted.push({ setting: 'PORT', host: settings.HOST, port: settings.PORT, what: 'the API' });
  if (settings.METRICS_PORT !== undefined) {
    wanted.push({
      setting: 'METRICS_PORT',
      host: settings.METRICS_HOST,
      port: settings.METRICS_PORT,
      what: 'the metrics listener',
    });
  }
  if (settings.TEMPORAL_ADDRESS === undefined) {
    wanted.push(
      {
        setting: 'DEVSERVER_PORT',
        host: '127.0.0.1',
        port: settings.DEVSERVER_PORT,
        what: 'the Temporal dev server',
      },
      {
        setting: 'DEVSERVER_UI_PORT',
        host: '127.0.0.1',
        port: settings.DEVSERVER_UI_PORT,
        what: 'the dev server inspector',
      },
    );
  }
  if (settings.SMTP_URL === undefined) {
    wanted.push(
      {
        setting: 'MAIL_CATCHER_SMTP_PORT',
        host: '127.0.0.1',
        port: settings.MAIL_CATCHER_SMTP_PORT,
        what: 'the local mail catcher (SMTP)',
      },
      {
        setting: 'MAIL_CATCHER_WEB_PORT',
        host: '127.0.0.1',
        port: settings.MAIL_CATCHER_WEB_PORT,
        what: 'the local mail catcher (inbox)',
      },
    );
  }
  // A postgres left running on this DATA_DIR by a killed start holds the port and is adopted.
  if (settings.DATABASE_URL === undefined && !embeddedPostgresRuns(path.join(settings.DATA_DIR, 'pg'))) {
    wanted.push({
      setting: 'EMBEDDED_PG_PORT',
      host: '127.0.0.1',
      port: settings.EMBEDDED_PG_PORT,
      what: 'the embedded PostgreSQL',
    });
  }
  return wanted;
}

/** One sentence per port that cannot be listened on (empty when all are free). */
export async function takenPorts(wanted: WantedPort[]): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const port of wanted) {
    const twice = seen.get(port.port);
    if (twice !== undefined) {
      problems.push(
        `${port.setting}=${port.port} is also ${twice}'s port: give ${port.what} a port of its own`,
      );
      continue;
    }
    seen.set(port.port, port.setting);
    const error = await tryListen(port.host, port.port);
    if (error === undefined) continue;
    problems.push(
      error.code === 'EADDRINUSE'
        ? `${port.setting}=${port.port}: port ${port.port} on ${port.host} is taken by another program; set ${port.setting} to a free port for ${port.what}`
        : `${port.setting}=${port.port}: ${port.what} cannot listen on ${port.host}:${port.port} (${error.code ?? error.message}); set ${port.setting}${port.setting === 'PORT' ? ' or HOST' : ''}`,
    );
  }
  return problems;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function embeddedPostgresRuns(dataDir: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
