// Command line of the executable (bin/temporal-devserver). Accepts what the SDK's
// TestWorkflowEnvironment passes: `server start-dev --port N --ip A --namespace NS ...`
// (Temporal CLI form) and `<port>` (Java test server form, which turns on time skipping).
import { start, type DevServerOptions } from './index';
import { parseLogLevel } from './logger';
import { dict } from './core/engine';

export interface ParsedArgs {
  options: DevServerOptions;
  warnings: string[];
}

const valueFlags = new Set([
  '--port',
  '-p',
  '--ip',
  '--namespace',
  '-n',
  '--db-filename',
  '-f',
  '--ui-port',
  '--ui-ip',
  '--log-level',
  '--log-format',
  '--dynamic-config-value',
  '--search-attribute',
  '--http-port',
  '--metrics-port',
  '--ui-public-path',
  '--ui-asset-path',
  '--ui-codec-endpoint',
  '--sqlite-pragma',
  '--config',
  '--env',
]);

function parsePort(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} needs a port number, got ${v}`);
  return n;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const warnings: string[] = [];
  const options: DevServerOptions = {
    port: 7233,
    namespaces: [],
    // No prototype: attribute names are the user's strings.
    searchAttributes: dict<string>(),
  };
  if (argv[0] !== undefined && /^\d+$/.test(argv[0])) {
    // Java test server form: the port, then extra args the SDK passes through.
    options.port = parsePort(argv[0], 'port');
    options.timeSkipping = true;
    options.logLevel = 'warn';
    parseFlags(argv.slice(1), options, warnings);
    return { options, warnings };
  }
  if (argv[0] !== 'server' || argv[1] !== 'start-dev') {
    throw new Error(
      'usage: temporal-devserver server start-dev [--port N] [--db-filename F] [--ui-port N] ... | temporal-devserver <port>',
    );
  }
  parseFlags(argv.slice(2), options, warnings);
  return { options, warnings };
}

function parseFlags(args: string[], options: DevServerOptions, warnings: string[]): void {
  // Bounded by args.length: each iteration consumes at least one argument.
  for (let i = 0; i < args.length; i++) {
    let flag = args[i]!;
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    } else if (valueFlags.has(flag)) {
      value = args[++i];
    }
    switch (flag) {
      case '--port':
      case '-p':
        options.port = parsePort(value, flag);
        break;
      case '--ip':
        options.ip = value;
        break;
      case '--namespace':
      case '-n':
        if (value) options.namespaces!.push(value);
        break;
      case '--db-filename':
      case '-f':
        options.dbFile = value;
        break;
      case '--ui-port':
        options.uiPort = parsePort(value, flag);
        break;
      case '--headless':
        options.uiPort = undefined;
        break;
      case '--log-level':
        options.logLevel = parseLogLevel(value, 'warn');
        break;
      case '--log-format':
        options.logFormat = value === 'json' ? 'json' : 'pretty';
        break;
      case '--search-attribute': {
        const [name, type] = (value ?? '').split('=');
        if (name && type) options.searchAttributes![name] = type;
        break;
      }
      case '--dynamic-config-value': {
        const m = /^limit\.historyPageSize=(\d+)$/.exec(value ?? '');
        if (m) options.historyPageSize = Number(m[1]);
        break;
      }
      case '--time-skipping':
        options.timeSkipping = true;
        break;
      default:
        if (valueFlags.has(flag)) break; // accepted for compatibility, no effect here
        warnings.push(`ignoring unknown argument ${flag}`);
    }
  }
}

/**
 * Closes the server on SIGINT/SIGTERM; the exit code to leave with. A close that fails
 * (the store could not write its last commit) is reported and exits 1, never silently 0.
 */
export async function stopServer(
  handle: { close(): Promise<void> },
  write: (line: string) => void,
): Promise<number> {
  try {
    await handle.close();
    return 0;
  } catch (err) {
    write(`temporal-devserver: shutdown failed: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  // Lets a developer turn on logging for a server the SDK launched with fixed arguments.
  const envLevel = process.env.DEVSERVER_LOG_LEVEL;
  if (envLevel) parsed.options.logLevel = parseLogLevel(envLevel, parsed.options.logLevel ?? 'warn');
  const handle = await start(parsed.options);
  for (const w of parsed.warnings) if (parsed.options.logLevel !== 'silent') process.stderr.write(`${w}\n`);
  if (parsed.options.logLevel === 'info' || parsed.options.logLevel === 'debug') {
    process.stderr.write(
      `Temporal dev server at ${handle.address}${handle.uiUrl ? `, inspector at ${handle.uiUrl}` : ''}\n`,
    );
  }
  const stop = (): void => {
    void stopServer(handle, (line) => process.stderr.write(line)).then((code) => process.exit(code));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
