// The process's logger. pino writes JSON lines, which log collectors read; a
// person at a terminal (`npm start`) reads them better as
// `15:04:05 INFO  POST /api/v1/bookings 201 12.3ms userId=…`, so LOG_FORMAT
// `auto` (the default) prints that form when stdout is a terminal and JSON
// otherwise (docker-compose, CI, a pipe).
import pino, { type Logger } from 'pino';
import type { Settings } from '../config/settings';

/** `out`: where the lines go (tests); by default stdout, through pino's own fast writer for JSON. */
export function appLogger(
  settings: Pick<Settings, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  out?: { isTTY?: boolean; write(text: string): unknown },
): Logger {
  const stdout = out ?? process.stdout;
  const pretty =
    settings.LOG_FORMAT === 'pretty' || (settings.LOG_FORMAT === 'auto' && stdout.isTTY === true);
  if (!pretty)
    return out === undefined ? pino({ level: settings.LOG_LEVEL }) : pino({ level: settings.LOG_LEVEL }, out);
  // pino hands a destination whole lines, one write each.
  return pino(
    { level: settings.LOG_LEVEL },
    { write: (line: string) => stdout.write(`${readableLogLine(line.trimEnd())}\n`) },
  );
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Shown in the line's head, or noise at a terminal. */
const IN_HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);
/** A request line's message (api/request-log.ts) says these already. */
const IN_REQUEST_MESSAGE = new Set(['method', 'path', 'status', 'durationMs']);

/** One JSON log line as a person reads it; anything that is not a JSON object passes as it is. */
export function readableLogLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return line;
  const fields = entry as Record<string, unknown>;
  const time =
    typeof fields.time === 'number' ? new Date(fields.time).toISOString().slice(11, 19) : '--:--:--';
  const level = typeof fields.level === 'number' ? (LEVELS[fields.level] ?? String(fields.level)) : '?';
  const parts = [time, level.padEnd(5)];
  const message = typeof fields.msg === 'string' ? fields.msg : '';
  if (message !== '') parts.push(message);
  const isRequest = typeof fields.method === 'string' && message.startsWith(`${fields.method} `);
  for (const [key, value] of Object.entries(fields)) {
    if (IN_HEAD.has(key) || (isRequest && IN_REQUEST_MESSAGE.has(key))) continue;
    if (value === null || value === undefined) continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  const head = parts.join(' ');
  const err = fields.err as { stack?: unknown; message?: unknown } | undefined;
  if (typeof err !== 'object' || err === null) return head;
  const detail =
    typeof err.stack === 'string'
      ? err.stack
      : typeof err.message === 'string'
        ? err.message
        : JSON.stringify(err);
  return `${head}\n    ${detail.replaceAll('\n', '\n    ')}`;
}
