// Programmatic entry point: start({ port, dbFile, timeSkipping, ... }) runs a
// Temporal-compatible server in this process and returns a handle to close it.
// `npm start` embeds this; tests and the executable in bin/ use it too.
import * as grpc from '@grpc/grpc-js';
import { Engine } from './core/engine';
import { RealClock, VirtualClock } from './core/clock';
import { TimeSkipper } from './core/time-skipper';
import { addService, declineGzipOnProbe } from './rpc/grpc-server';
import { workflowServiceHandlers } from './rpc/workflow-service';
import { testServiceHandlers } from './rpc/test-service';
import { operatorServiceHandlers } from './rpc/operator-service';
import { createLogger, type LogLevel, type Logger } from './logger';
import { LogStore } from './store/log-store';
import { startInspector } from './inspector/http';
import { ReadModel } from './inspector/read-model';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. Default 7233. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  ip?: string;
  /** Namespaces to create at start (default ['default']). */
  namespaces?: string[];
  /** Durable store file; without it everything is in memory. */
  dbFile?: string;
  /** Test-server mode: virtual clock with time skipping, and the TestService. */
  timeSkipping?: boolean;
  /** Port of the web inspector; omitted = no inspector, 0 = a free port. */
  uiPort?: number;
  logLevel?: LogLevel;
  logFormat?: 'pretty' | 'json';
  /** Events per history page (poll responses and GetWorkflowExecutionHistory). */
  historyPageSize?: number;
  /** The log is compacted once it grows past this and twice the live data (default 64 MiB). */
  dbCompactBytes?: number;
  /** Search attribute types registered up front (name -> Keyword, Text, Int, Double, Bool, Datetime, KeywordList). */
  searchAttributes?: Record<string, string>;
}

export interface DevServerHandle {
  /** host:port for the SDK's `address` option. */
  address: string;
  port: number;
  uiUrl?: string;
  /** How many times the durable store compacted its log (0 in memory). */
  compactions(): number;
  close(): Promise<void>;
}

export async function start(options: DevServerOptions = {}): Promise<DevServerHandle> {
  const log = createLogger(options.logLevel ?? 'warn', options.logFormat ?? 'pretty');
  return startWithLogger(options, log);
}

async function startWithLogger(options: DevServerOptions, log: Logger): Promise<DevServerHandle> {
  const ip = options.ip ?? '127.0.0.1';
  const clock = options.timeSkipping ? new VirtualClock() : new RealClock();
  const engine = new Engine({
    clock,
    log,
    historyPageSize: options.historyPageSize,
    searchAttributeTypes: options.searchAttributes,
    applyRetention: !options.timeSkipping,
  });
  let store: LogStore | undefined;
  if (options.dbFile) {
    store = await LogStore.open(options.dbFile, engine, log, options.dbCompactBytes);
    engine.store = store;
  }
  for (const ns of options.namespaces?.length ? options.namespaces : ['default'])
    engine.registerNamespace(ns);
  // Closed runs whose retention ran out while the server was down go before anyone sees them.
  engine.sweepRetention();
  await engine.commit();

  let skipper: TimeSkipper | undefined;
  if (clock instanceof VirtualClock) {
    skipper = new TimeSkipper(clock, engine.scheduler, () => ({
      workflowTasks: engine.busyWorkflowTasks.size,
      activityTasks: engine.activityLocks,
      queries: engine.pendingQueryCount(),
    }));
    const ts = skipper;
    engine.onRunChanged = () => ts.kick();
  }

  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
    interceptors: [declineGzipOnProbe],
  });
  addService(server, 'temporal.api.workflowservice.v1.WorkflowService', workflowServiceHandlers(engine), log);
  addService(server, 'temporal.api.operatorservice.v1.OperatorService', operatorServiceHandlers(engine), log);
  if (skipper)
    addService(server, 'temporal.api.testservice.v1.TestService', testServiceHandlers(skipper, clock), log);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${ip}:${options.port ?? 7233}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  // Re-arm whatever the store brought back (timers, timeouts), now that RPCs can be served.
  engine.scheduler.fireDue();

  let inspector: { url: string; close(): Promise<void> } | undefined;
  if (options.uiPort !== undefined) {
    inspector = await startInspector(new ReadModel(engine), engine, ip, options.uiPort, log);
  }
  log.info(`dev server listening on ${ip}:${port}${inspector ? `, inspector at ${inspector.url}` : ''}`);

  let closed: Promise<void> | undefined;
  return {
    address: `${ip}:${port}`,
    port,
    uiUrl: inspector?.url,
    compactions: () => store?.compactions ?? 0,
    close() {
      closed ??= (async () => {
        skipper?.close();
        engine.close();
        await inspector?.close();
        await new Promise<void>((resolve) => {
          server.tryShutdown(() => resolve());
          // Long polls may hold calls open; do not wait for them.
          setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 200).unref();
        });
        await store?.close();
      })();
      return closed;
    },
  };
}
