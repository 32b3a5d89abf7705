// Where Temporal is: TEMPORAL_ADDRESS when set (a real cluster), otherwise
// the project's dev server, started in this process with its state in
// DATA_DIR/temporal.db (kept across restarts) and its inspector on a port.
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Settings } from '../config/settings';
import { start as startDevServer } from '../devserver';

export interface TemporalEndpoint {
  address: string;
  /** Human-readable origin, for the start-up banner. */
  origin: string;
  /** The dev server's inspector (the stand-in for the Temporal UI), when it runs here. */
  inspectorUrl?: string;
  close: () => Promise<void>;
}

export async function provideTemporal(settings: Settings): Promise<TemporalEndpoint> {
  if (settings.TEMPORAL_ADDRESS !== undefined) {
    return { address: settings.TEMPORAL_ADDRESS, origin: 'TEMPORAL_ADDRESS', close: async () => undefined };
  }
  const dbFile = path.join(settings.DATA_DIR, 'temporal.db');
  const server = await startDevServer({
    port: settings.DEVSERVER_PORT,
    dbFile,
    uiPort: settings.DEVSERVER_UI_PORT,
    namespaces: [settings.TEMPORAL_NAMESPACE],
    logLevel: 'warn',
  });
  return {
    address: server.address,
    origin: `dev server on ${server.address}, state in ${dbFile}`,
    ...(server.uiUrl === undefined ? {} : { inspectorUrl: server.uiUrl }),
    close: () => server.close(),
  };
}

/**
 * The API and the worker run alone (docker-compose) against a real cluster;
 * only `npm start`, one process, may start the dev server (its store has one writer).
 */
export function requireTemporalAddress(settings: Settings, processName: string): string {
  if (settings.TEMPORAL_ADDRESS === undefined) {
    console.error(
      `${processName} alone needs TEMPORAL_ADDRESS; \`npm start\` runs everything with the dev server.`,
    );
    process.exit(78);
  }
  return settings.TEMPORAL_ADDRESS;
}

/** /readyz: Temporal answers on this connection. */
export function temporalReadiness(connection: Connection) {
  return {
    name: 'temporal',
    check: async () => {
      await connection.workflowService.getSystemInfo({});
    },
  };
}
