// The Temporal SDK's runtime and worker logs, through the app's pino logger.
import { Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from 'pino';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** What the SDK says of a worker registered without workflows. */
const NO_WORKFLOWS_WARNING = 'No workflows registered';

let installed = false;

/** Installs the SDK runtime once per process, logging through `logger`. */
export function installTemporalRuntime(logger: Logger): void {
  if (installed) return;
  installed = true;
  // The SDK narrates its routine (the workflow bundle's webpack output, worker
  // state changes) at INFO; keep that for LOG_LEVEL=debug.
  const quieter = logger.level === 'info' ? 'warn' : logger.level;
  const child = logger.child({ component: 'temporal' }, { level: quieter });
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    // The email worker serves activities only, by design: that is no warning.
    const expected = level === 'WARN' && message.startsWith(NO_WORKFLOWS_WARNING);
    child[expected ? 'debug' : LEVELS[level]](meta ?? {}, message);
  };
  const adapter: TemporalLogger = {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
  // The process decides when workers stop (after the API has drained), not the SDK's own signal handlers.
  Runtime.install({ logger: adapter, shutdownSignals: [] });
}
