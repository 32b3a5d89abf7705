// The durable store behind --db-filename: an append-only log of JSON lines, one per
// changed run per commit ({state, new history events as base64 protobuf}) or namespace.
// Commits are grouped: every RPC that changed something awaits the next flush, and one
// flush writes all pending changes with a single write + fdatasync, so durability costs
// one disk sync per batch rather than per call. At start the log is replayed (a torn
// last line from a kill -9 is dropped: its RPC never got an answer) and, once it has
// grown well past the live data, it is compacted by writing a fresh log and renaming it
// over the old one.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Engine, NamespaceRecord, Store } from '../core/engine';
import { Execution } from '../core/execution';
import type { ExecState } from '../core/state';
import { T, encode, decode, type IHistoryEvent } from '../proto';
import type { Logger } from '../logger';

interface ExecRecord {
  t: 'x';
  s: ExecState;
  /** index in history of the first event in e */
  h0: number;
  e: string[];
  b: string[];
}
interface NsRecord {
  t: 'ns';
  ns: NamespaceRecord;
}
type LogRecord = ExecRecord | NsRecord;

const MIN_COMPACT_BYTES = 64 * 1024 * 1024;

function encodeEvent(e: IHistoryEvent): string {
  return Buffer.from(encode(T.HistoryEvent, e)).toString('base64');
}

function decodeEvent(s: string): IHistoryEvent {
  return decode<IHistoryEvent>(T.HistoryEvent, Buffer.from(s, 'base64'));
}

export class LogStore implements Store {
  private dirty = new Set<Execution>();
  private dirtyNamespaces: NamespaceRecord[] = [];
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private sizeBytes = 0;
  private compactAtBytes = MIN_COMPACT_BYTES;
  private minCompactBytes = MIN_COMPACT_BYTES;
  /** How many compactions ran (for tests and the log). */
  compactions = 0;
  private closed = false;

  private constructor(
    private readonly file: string,
    private fd: fsp.FileHandle,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  static async open(
    file: string,
    engine: Engine,
    log: Logger,
    minCompactBytes = MIN_COMPACT_BYTES,
  ): Promise<LogStore> {
    const abs = path.resolve(file);
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    const validBytes = fs.existsSync(abs) ? replay(abs, engine, log) : 0;
    const fd = await fsp.open(abs, 'a+');
    const stat = await fd.stat();
    if (stat.size > validBytes) {
      log.warn(`dropping ${stat.size - validBytes} bytes of an unfinished last record in ${abs}`);
      await fd.truncate(validBytes);
      await fd.datasync();
    }
    const store = new LogStore(abs, fd, engine, log);
    store.sizeBytes = validBytes;
    store.minCompactBytes = minCompactBytes;
    store.compactAtBytes = Math.max(minCompactBytes, validBytes * 2);
    return store;
  }

  markDirty(exec: Execution): void {
    this.dirty.add(exec);
  }

  markNamespace(ns: NamespaceRecord): void {
    this.dirtyNamespaces.push(ns);
  }

  /** Resolves once every change made before the call is on disk. */
  commit(): Promise<void> {
    if (this.dirty.size === 0 && this.dirtyNamespaces.length === 0)
      return this.queued ?? this.inFlight ?? Promise.resolve();
    if (!this.queued) {
      // Changes made while the previous flush is writing wait for it, then go together.
      // (.then runs later, so `queued` is set before the callback clears it.)
      const queued = (this.inFlight ?? Promise.resolve())
        .catch(() => undefined)
        .then(async () => {
          this.queued = null;
          const flush = this.flush();
          this.inFlight = flush;
          try {
            await flush;
          } finally {
            if (this.inFlight === flush) this.inFlight = null;
          }
        });
      this.queued = queued;
    }
    return this.queued;
  }

  private async flush(): Promise<void> {
    if (this.closed) return;
    const lines: string[] = [];
    for (const ns of this.dirtyNamespaces.splice(0))
      lines.push(JSON.stringify({ t: 'ns', ns } satisfies NsRecord));
    for (const exec of this.dirty) lines.push(JSON.stringify(execRecord(exec, exec.persistedEvents)));
    for (const exec of this.dirty) exec.persistedEvents = exec.history.length;
    this.dirty.clear();
    if (lines.length === 0) return;
    const buf = Buffer.from(lines.join('\n') + '\n');
    await this.fd.write(buf, 0, buf.length);
    await this.fd.datasync();
    this.sizeBytes += buf.length;
    if (this.sizeBytes > this.compactAtBytes) await this.compact();
  }

  /** Rewrites the log as one record per namespace and run, then swaps it in atomically. */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.compact`;
    const out = await fsp.open(tmp, 'w');
    let size = 0;
    try {
      const write = async (rec: LogRecord): Promise<void> => {
        const buf = Buffer.from(JSON.stringify(rec) + '\n');
        await out.write(buf, 0, buf.length);
        size += buf.length;
      };
      for (const ns of this.engine.namespaces.values()) await write({ t: 'ns', ns });
      for (const exec of this.engine.executions.values()) await write(execRecord(exec, 0));
      await out.datasync();
    } finally {
      await out.close();
    }
    await fsp.rename(tmp, this.file);
    const dir = await fsp.open(path.dirname(this.file), 'r');
    await dir.sync().finally(() => dir.close());
    await this.fd.close();
    this.fd = await fsp.open(this.file, 'a+');
    this.sizeBytes = size;
    this.compactAtBytes = Math.max(this.minCompactBytes, size * 2);
    this.compactions++;
    this.log.info(`compacted ${this.file} to ${size} bytes`);
  }

  async close(): Promise<void> {
    await this.commit().catch(() => undefined);
    this.closed = true;
    await this.fd.close();
  }
}

function execRecord(exec: Execution, fromIndex: number): ExecRecord {
  return {
    t: 'x',
    s: exec.s,
    h0: fromIndex,
    e: exec.history.slice(fromIndex).map(encodeEvent),
    b: exec.buffered.map(encodeEvent),
  };
}

/** Loads the log into the engine; returns how many leading bytes hold whole records. */
function replay(file: string, engine: Engine, log: Logger): number {
  const data = fs.readFileSync(file);
  const runs = new Map<string, Execution>();
  let offset = 0;
  while (offset < data.length) {
    const nl = data.indexOf(0x0a, offset);
    if (nl < 0) break; // a record without its newline was cut short
    let rec: LogRecord;
    try {
      rec = JSON.parse(data.subarray(offset, nl).toString('utf8')) as LogRecord;
    } catch (err) {
      if (data.indexOf(0x0a, nl + 1) < 0) break; // torn last record
      throw new Error(`${file} is corrupt at byte ${offset}: ${(err as Error).message}`, { cause: err });
    }
    if (rec.t === 'ns') {
      engine.namespaces.set(rec.ns.name, rec.ns);
    } else {
      const key = `${rec.s.namespace}\u0000${rec.s.workflowId}\u0000${rec.s.runId}`;
      let exec = runs.get(key);
      if (!exec) {
        exec = new Execution(rec.s);
        runs.set(key, exec);
        // Runs are first written in creation order, so the last one seen per id is current.
        engine.addExecution(exec, true);
      }
      exec.s = rec.s;
      exec.history.length = Math.min(exec.history.length, rec.h0);
      for (const e of rec.e) exec.history.push(decodeEvent(e));
      exec.buffered = rec.b.map(decodeEvent);
    }
    offset = nl + 1;
  }
  for (const exec of runs.values()) {
    exec.persistedEvents = exec.history.length;
    engine.restore(exec);
  }
  log.info(`loaded ${runs.size} runs from ${file}`);
  return offset;
}
