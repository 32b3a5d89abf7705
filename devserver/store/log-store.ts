// The durable store behind --db-filename: an append-only log of JSON lines. The file
// starts with a header line; after it come batches, one per commit: one line per changed
// namespace, per changed run ({state, new history events as base64 protobuf}), per
// deleted run and for the custom search attributes when they changed, then a commit line
// giving the batch's record count, byte length and CRC-32.
//
// Commits are grouped: every RPC that changed something awaits the next flush, and one
// flush writes all pending changes with a single write + fdatasync, so durability costs
// one disk sync per batch rather than per call. Nothing counts as persisted (history
// positions, the log size compaction works from) until fdatasync has returned.
//
// At start the log is replayed one whole batch at a time: a batch is applied only once
// its commit line is read and checks out, so a batch torn by kill -9 or a power loss
// (some of its records on disk, others not, or garbage) is never half-applied; it is cut
// off (its RPCs never got an answer). A bad batch followed by good ones is corruption,
// not a torn tail, and the server refuses to start rather than silently lose data.
//
// Once the log has grown well past the live data it is compacted: a snapshot taken in
// one synchronous step is written to a new file, synced, renamed over the log, and the
// directory synced. Runs deleted by retention are not in the snapshot, so the log does
// not grow forever. A log of the first format (lines without batches) is replayed line by
// line and immediately rewritten in the current one.
import * as buffer from 'node:buffer';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { dict, type Engine, type NamespaceRecord, type Store } from '../core/engine';
import { Execution, execKey } from '../core/execution';
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
/** A run deleted (retention): [namespace, workflowId, runId]. */
interface DeleteRecord {
  t: 'd';
  r: [string, string, string];
}
/** The custom search attributes registered at run time: name -> IndexedValueType. */
interface SearchAttributesRecord {
  t: 'sa';
  a: Record<string, number>;
}
/** Ends a batch: n records, len bytes (the record lines, newlines included), their CRC-32. */
interface CommitRecord {
  t: 'c';
  n: number;
  len: number;
  crc: number;
}
type LogRecord = ExecRecord | NsRecord | DeleteRecord | SearchAttributesRecord;

/** The first line of a log in the batched format. */
export const LOG_HEADER = '{"t":"devserver-log","v":2}\n';
const COMMIT_PREFIX = Buffer.from('{"t":"c",');
const NEWLINE = 0x0a;

const MIN_COMPACT_BYTES = 64 * 1024 * 1024;

function encodeEvent(e: IHistoryEvent): string {
  return Buffer.from(encode(T.HistoryEvent, e)).toString('base64');
}

function decodeEvent(s: string): IHistoryEvent {
  return decode<IHistoryEvent>(T.HistoryEvent, Buffer.from(s, 'base64'));
}

/** Record lines are gathered into pieces of about this size for writing. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

/** A batch ready to write: its bytes in pieces (never one huge string or buffer), and its length. */
export interface EncodedBatch {
  chunks: Buffer[];
  length: number;
}

/**
 * The record lines of one batch followed by its commit line. Encoded line by line, with
 * the CRC carried from piece to piece: a snapshot of a large store would not fit in one
 * JavaScript string (about 512 MiB at most).
 */
export function encodeBatch(lines: Iterable<string>): EncodedBatch {
  const chunks: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let n = 0;
  let len = 0;
  let crc = 0;
  const cut = (): void => {
    if (pendingBytes === 0) return;
    chunks.push(Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  for (const line of lines) {
    const b = Buffer.from(line + '\n');
    crc = crc32(b, crc);
    len += b.length;
    n++;
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= WRITE_CHUNK_BYTES) cut();
  }
  const commit: CommitRecord = { t: 'c', n, len, crc };
  const commitLine = Buffer.from(JSON.stringify(commit) + '\n');
  pending.push(commitLine);
  pendingBytes += commitLine.length;
  cut();
  return { chunks, length: len + commitLine.length };
}

async function writeAll(fd: fsp.FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let at = position;
  for (const buf of chunks) {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fd.write(buf, done, buf.length - done, at + done);
      done += bytesWritten;
    }
    at += buf.length;
  }
}

/** The whole file (readFileSync stops at 2 GiB; a Buffer may be larger). */
function readWhole(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size > buffer.constants.MAX_LENGTH)
      throw new Error(
        `${file} is ${size} bytes, more than this Node.js can load (${buffer.constants.MAX_LENGTH})`,
      );
    const data = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, data, done, Math.min(size - done, 1 << 30), done);
      if (n === 0) break;
      done += n;
    }
    return data.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes content to a new file beside `file` and syncs it, then renames it over `file`.
 * The caller syncs the directory, once it has switched to the new file.
 */
async function replaceFile(file: string, content: Buffer[]): Promise<void> {
  const tmp = `${file}.compact`;
  const out = await fsp.open(tmp, 'w');
  try {
    await writeAll(out, content, 0);
    await out.datasync();
  } finally {
    await out.close();
  }
  await fsp.rename(tmp, file);
}

export class LogStore implements Store {
  private dirty = new Set<Execution>();
  private dirtyNamespaces = new Map<string, NamespaceRecord>();
  private deleted = new Map<string, DeleteRecord>();
  private searchAttributesChanged = false;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** The last write to the log (flush or compaction); the next one starts after it. */
  private tail: Promise<void> = Promise.resolve();
  /** Bytes of the log known durable: whole batches, synced. Writes go at this offset. */
  private sizeBytes = 0;
  private compactAtBytes = MIN_COMPACT_BYTES;
  private minCompactBytes = MIN_COMPACT_BYTES;
  /** How many compactions ran (for tests and the log). */
  compactions = 0;
  private closed = false;
  /** Set when the log could not be restored to a known state after a failed write: every later commit fails. */
  private failed: Error | null = null;

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
    const data = fs.existsSync(abs) ? readWhole(abs) : Buffer.alloc(0);
    const header = Buffer.from(LOG_HEADER);
    let rewrite = false;
    let validBytes: number;
    if (data.subarray(0, header.length).equals(header)) {
      validBytes = replay(abs, data, engine, log);
    } else if (header.subarray(0, data.length).equals(data)) {
      // New, or created but never got its header: start a fresh log.
      rewrite = true;
      validBytes = 0;
    } else {
      validBytes = replayFirstFormat(abs, data, engine, log);
      log.info(`rewriting ${abs} in the batched log format`);
      rewrite = true;
    }
    if (rewrite) {
      await replaceFile(abs, [header, ...snapshot(engine).batch.chunks]);
      await syncDirectory(path.dirname(abs));
      validBytes = (await fsp.stat(abs)).size;
    }
    const fd = await fsp.open(abs, 'r+');
    const stat = await fd.stat();
    if (stat.size > validBytes) {
      log.warn(`dropping ${stat.size - validBytes} bytes of an unfinished last batch in ${abs}`);
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
    this.dirtyNamespaces.set(ns.name, ns);
  }

  markSearchAttributes(): void {
    this.searchAttributesChanged = true;
  }

  markDeleted(exec: Execution): void {
    this.dirty.delete(exec);
    this.deleted.set(exec.key, { t: 'd', r: [exec.s.namespace, exec.s.workflowId, exec.s.runId] });
  }

  private get hasChanges(): boolean {
    return (
      this.dirty.size > 0 ||
      this.dirtyNamespaces.size > 0 ||
      this.deleted.size > 0 ||
      this.searchAttributesChanged
    );
  }

  /** Resolves once every change made before the call is on disk; rejects if it could not be written. */
  commit(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.hasChanges) return this.queued ?? this.inFlight ?? Promise.resolve();
    if (!this.queued) {
      // Changes made while the previous flush is writing wait for it, then go together.
      // (The callback runs later, so `queued` is set before it clears it.)
      this.queued = this.exclusive(async () => {
        this.queued = null;
        const flush = this.flush();
        this.inFlight = flush;
        try {
          await flush;
        } finally {
          if (this.inFlight === flush) this.inFlight = null;
        }
      });
    }
    return this.queued;
  }

  /** Compacts the log now (after pending changes are written), whatever its size. */
  async compactNow(): Promise<void> {
    await this.commit();
    await this.exclusive(() => this.compact());
  }

  /** Runs fn once every earlier write to the log is over, so writes never overlap. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error(`${this.file} is closed; changes were not saved`);
    if (!this.hasChanges) return;
    const namespaces = [...this.dirtyNamespaces.values()];
    const execs = [...this.dirty];
    const deleted = [...this.deleted.values()];
    const searchAttributes = this.searchAttributesChanged;
    this.dirtyNamespaces.clear();
    this.dirty.clear();
    this.deleted.clear();
    this.searchAttributesChanged = false;
    // How much history each record holds: it counts as persisted only once synced.
    const upTo = execs.map((exec) => exec.history.length);
    let batch: EncodedBatch;
    try {
      // Encoding can fail too (a record too large for a string): then nothing was written,
      // and the changes must still go into a later batch.
      const lines: string[] = [];
      if (searchAttributes) lines.push(searchAttributesLine(this.engine));
      for (const ns of namespaces) lines.push(JSON.stringify({ t: 'ns', ns } satisfies NsRecord));
      execs.forEach((exec, i) =>
        lines.push(JSON.stringify(execRecord(exec, exec.persistedEvents, upTo[i]!))),
      );
      for (const d of deleted) lines.push(JSON.stringify(d));
      batch = encodeBatch(lines);
    } catch (err) {
      this.putBack(namespaces, execs, deleted, searchAttributes);
      throw err;
    }
    try {
      await writeAll(this.fd, batch.chunks, this.sizeBytes);
      await this.fd.datasync();
    } catch (err) {
      this.putBack(namespaces, execs, deleted, searchAttributes);
      await this.cutOffFailedWrite();
      throw err;
    }
    this.sizeBytes += batch.length;
    execs.forEach((exec, i) => {
      exec.persistedEvents = upTo[i]!;
    });
    if (this.sizeBytes > this.compactAtBytes) {
      try {
        await this.compact();
      } catch (err) {
        // The batch is durable in the current log; compaction is only an optimisation.
        this.log.error(`compaction of ${this.file} failed; keeping the current log`, err);
        this.compactAtBytes = this.sizeBytes * 2;
      }
    }
  }

  /**
   * A batch that did not become durable: its changes go back for the next flush, ahead of
   * those marked since (runs are written in the order they were created, and replay takes
   * the last run written per workflow id as its current one).
   */
  private putBack(
    namespaces: NamespaceRecord[],
    execs: Execution[],
    deleted: DeleteRecord[],
    searchAttributes: boolean,
  ): void {
    for (const ns of namespaces)
      if (!this.dirtyNamespaces.has(ns.name)) this.dirtyNamespaces.set(ns.name, ns);
    const registered = execs.filter((exec) => this.engine.executions.get(exec.key) === exec);
    this.dirty = new Set([...registered, ...this.dirty]);
    for (const d of deleted) if (!this.deleted.has(execKey(...d.r))) this.deleted.set(execKey(...d.r), d);
    if (searchAttributes) this.searchAttributesChanged = true;
  }

  /**
   * A write or sync failed: whatever part of the batch reached the file is cut off so the
   * next batch follows the last good one. If even that fails the log's state is unknown
   * and the store stops.
   */
  private async cutOffFailedWrite(): Promise<void> {
    try {
      await this.fd.truncate(this.sizeBytes);
      await this.fd.datasync();
    } catch (err) {
      this.failed = new Error(`${this.file} could not be restored after a failed write; restart the server`, {
        cause: err,
      });
      this.log.error(this.failed.message, err);
    }
  }

  /** Rewrites the log as one batch holding every namespace and run, then swaps it in atomically. */
  private async compact(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error(`${this.file} is closed`);
    // Taken synchronously: a consistent state of every run, not a mix of moments.
    const snap = snapshot(this.engine);
    const header = Buffer.from(LOG_HEADER);
    const length = header.length + snap.batch.length;
    await replaceFile(this.file, [header, ...snap.batch.chunks]);
    // From the rename on, the compacted file is the log: every later batch must go there,
    // whatever happens next (an old handle would write into an unlinked file).
    const old = this.fd;
    try {
      this.fd = await fsp.open(this.file, 'r+');
      this.sizeBytes = length;
      for (const [exec, n] of snap.upTo) exec.persistedEvents = n;
      // Until the directory is synced the rename itself may not survive a crash.
      await syncDirectory(path.dirname(this.file));
    } catch (err) {
      this.failed = new Error(`${this.file} could not be made durable after compaction; restart the server`, {
        cause: err,
      });
      throw this.failed;
    } finally {
      await old.close().catch(() => undefined);
    }
    this.compactAtBytes = Math.max(this.minCompactBytes, length * 2);
    this.compactions++;
    this.log.info(`compacted ${this.file} to ${length} bytes`);
  }

  /**
   * Writes what is still pending, then closes the log. If that last commit fails, the
   * error is logged and close() rejects (the server exits non-zero): those changes are
   * lost, while everything a caller was told about was already durable before its
   * answer, and a write that failed half-way has been cut off the log.
   */
  async close(): Promise<void> {
    let failure: unknown;
    let unsaved = 0;
    try {
      await this.commit();
    } catch (err) {
      failure = err ?? new Error('commit failed');
      // A failed batch's changes went back to be written with the next commit: there is none.
      unsaved = this.dirty.size + this.dirtyNamespaces.size + this.deleted.size;
    }
    await this.tail;
    this.closed = true;
    await this.fd.close();
    if (failure === undefined) return;
    const err = new Error(
      `${this.file}: the last commit failed on close; ${unsaved} changed record(s) not yet ` +
        `saved are lost (everything acknowledged before is in the log): ${(failure as Error).message}`,
      { cause: failure },
    );
    this.log.error(err.message);
    throw err;
  }
}

function execRecord(exec: Execution, fromIndex: number, toIndex: number): ExecRecord {
  return {
    t: 'x',
    s: exec.s,
    h0: fromIndex,
    e: exec.history.slice(fromIndex, toIndex).map(encodeEvent),
    b: exec.buffered.map(encodeEvent),
  };
}

function searchAttributesLine(engine: Engine): string {
  const a = Object.fromEntries(engine.searchAttributes.customAttributes());
  return JSON.stringify({ t: 'sa', a } satisfies SearchAttributesRecord);
}

/** Every namespace and run as one batch, and how much history of each it holds. */
function snapshot(engine: Engine): { batch: EncodedBatch; upTo: Map<Execution, number> } {
  const upTo = new Map<Execution, number>();
  // Encoded as the records are made (synchronously: one consistent moment), so only one
  // record's text is alive at a time.
  function* lines(): Generator<string> {
    yield searchAttributesLine(engine);
    for (const ns of engine.namespaces.values()) yield JSON.stringify({ t: 'ns', ns } satisfies NsRecord);
    // In creation order, so the last run seen per workflow id on replay is its current one.
    for (const exec of engine.executions.values()) {
      upTo.set(exec, exec.history.length);
      yield JSON.stringify(execRecord(exec, 0, exec.history.length));
    }
  }
  return { batch: encodeBatch(lines()), upTo };
}

/** State maps keyed by ids from clients get no prototype, as in memory (engine.newState). */
function withDictionaries(s: ExecState): ExecState {
  s.activities = dict(s.activities);
  s.timers = dict(s.timers);
  s.children = dict(s.children);
  s.updates = dict(s.updates);
  return s;
}

class Replayer {
  readonly runs = new Map<string, Execution>();
  constructor(private readonly engine: Engine) {}

  apply(rec: LogRecord): void {
    if (rec.t === 'ns') {
      this.engine.namespaces.set(rec.ns.name, rec.ns);
    } else if (rec.t === 'sa') {
      this.engine.searchAttributes.restore(Object.entries(rec.a), (m) => this.engine.log.warn(m));
    } else if (rec.t === 'd') {
      const key = execKey(...rec.r);
      this.runs.delete(key);
      this.engine.removeExecution(key);
    } else if (rec.t === 'x') {
      const s = withDictionaries(rec.s);
      const key = execKey(s.namespace, s.workflowId, s.runId);
      let exec = this.runs.get(key);
      if (!exec) {
        exec = new Execution(s);
        this.runs.set(key, exec);
        // Runs are first written in creation order, so the last one seen per id is current.
        this.engine.addExecution(exec, true);
      }
      exec.s = s;
      exec.history.length = Math.min(exec.history.length, rec.h0);
      for (const e of rec.e) exec.history.push(decodeEvent(e));
      exec.buffered = rec.b.map(decodeEvent);
    }
  }

  finish(file: string, log: Logger): void {
    for (const exec of this.runs.values()) {
      exec.persistedEvents = exec.history.length;
      this.engine.restore(exec);
    }
    log.info(`loaded ${this.runs.size} runs from ${file}`);
  }
}

function parseCommit(line: Buffer): CommitRecord | undefined {
  try {
    const c = JSON.parse(line.toString('utf8')) as Partial<CommitRecord>;
    if (c.t === 'c' && typeof c.n === 'number' && typeof c.len === 'number' && typeof c.crc === 'number')
      return c as CommitRecord;
  } catch {
    // not a commit line
  }
  return undefined;
}

function isCommitLine(data: Buffer, offset: number): boolean {
  return data.subarray(offset, offset + COMMIT_PREFIX.length).equals(COMMIT_PREFIX);
}

/**
 * Loads a batched log into the engine, whole batches only; returns how many leading bytes
 * hold whole, verified batches (the rest is a torn tail to cut off).
 */
function replay(file: string, data: Buffer, engine: Engine, log: Logger): number {
  const replayer = new Replayer(engine);
  let valid = LOG_HEADER.length;
  let lines: Array<[number, number]> = [];
  let offset = valid;
  let damaged = false;
  while (offset < data.length) {
    const nl = data.indexOf(NEWLINE, offset);
    if (nl < 0) break; // the last batch was cut short
    if (!isCommitLine(data, offset)) {
      lines.push([offset, nl]);
      offset = nl + 1;
      continue;
    }
    const commit = parseCommit(data.subarray(offset, nl));
    const body = data.subarray(valid, offset);
    if (!commit || commit.n !== lines.length || commit.len !== body.length || commit.crc !== crc32(body)) {
      damaged = true;
      break;
    }
    for (const [from, to] of lines) {
      let rec: LogRecord;
      try {
        rec = JSON.parse(data.subarray(from, to).toString('utf8')) as LogRecord;
      } catch (err) {
        throw new Error(`${file} is corrupt at byte ${from}: ${(err as Error).message}`, { cause: err });
      }
      replayer.apply(rec);
    }
    lines = [];
    valid = nl + 1;
    offset = nl + 1;
  }
  // Only the batch being written when the server stopped can be torn: a whole batch
  // after a damaged one means the log was damaged where it had been durable.
  if (damaged && wholeBatchAfter(data, valid))
    throw new Error(`${file} is corrupt: the batch at byte ${valid} is damaged but whole batches follow it`);
  replayer.finish(file, log);
  return valid;
}

/** Whether some commit line after `from` ends a batch that checks out on its own. */
function wholeBatchAfter(data: Buffer, from: number): boolean {
  for (let at = from; at < data.length;) {
    const nl = data.indexOf(NEWLINE, at);
    if (nl < 0) return false;
    const commit = isCommitLine(data, at) ? parseCommit(data.subarray(at, nl)) : undefined;
    if (commit && commit.len > 0 && commit.len <= at - from) {
      const start = at - commit.len;
      const aligned = start === from || data[start - 1] === NEWLINE;
      if (aligned && crc32(data.subarray(start, at)) === commit.crc) return true;
    }
    at = nl + 1;
  }
  return false;
}

/** Loads a log of the first format (one record per line, no batches); returns the bytes of whole lines. */
function replayFirstFormat(file: string, data: Buffer, engine: Engine, log: Logger): number {
  const replayer = new Replayer(engine);
  let offset = 0;
  while (offset < data.length) {
    const nl = data.indexOf(NEWLINE, offset);
    if (nl < 0) break; // a record without its newline was cut short
    let rec: LogRecord;
    try {
      rec = JSON.parse(data.subarray(offset, nl).toString('utf8')) as LogRecord;
    } catch (err) {
      if (data.indexOf(NEWLINE, nl + 1) < 0) break; // torn last record
      throw new Error(`${file} is corrupt at byte ${offset}: ${(err as Error).message}`, { cause: err });
    }
    replayer.apply(rec);
    offset = nl + 1;
  }
  replayer.finish(file, log);
  return offset;
}
