// A tiny leveled logger. The SDK launches the server with --log-level (warn by default),
// and tests keep it quiet; nothing here writes unless the level allows it.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50, silent: 100 };

export interface Logger {
  debug(msg: string, ...rest: unknown[]): void;
  info(msg: string, ...rest: unknown[]): void;
  warn(msg: string, ...rest: unknown[]): void;
  error(msg: string, ...rest: unknown[]): void;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  const v = (value ?? '').toLowerCase();
  if (v === 'warning') return 'warn';
  if (v === 'never' || v === 'off' || v === 'none') return 'silent';
  return v in order ? (v as LogLevel) : fallback;
}

export function createLogger(level: LogLevel, format: 'pretty' | 'json' = 'pretty'): Logger {
  const write = (lvl: LogLevel, msg: string, rest: unknown[]): void => {
    if (order[lvl] < order[level]) return;
    const extra = rest
      .map((r) => (r instanceof Error ? (r.stack ?? r.message) : JSON.stringify(r)))
      .join(' ');
    const line =
      format === 'json'
        ? JSON.stringify({ level: lvl, ts: new Date().toISOString(), msg, extra: extra || undefined })
        : `${new Date().toISOString()} ${lvl.toUpperCase()} ${msg}${extra ? ' ' + extra : ''}`;
    process.stderr.write(line + '\n');
  };
  return {
    debug: (m, ...r) => write('debug', m, r),
    info: (m, ...r) => write('info', m, r),
    warn: (m, ...r) => write('warn', m, r),
    error: (m, ...r) => write('error', m, r),
  };
}
