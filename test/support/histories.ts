// Recorded workflow histories, for replay tests that guard determinism when
// workflow code changes: a history recorded by an earlier version must still
// replay on the current code (or the change must go behind patched()).
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

const { History } = temporal.api.history.v1;

export const HISTORIES_DIR = path.resolve(__dirname, '../workflows/histories');

export function historyToFile(history: History, file: string): void {
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  fs.writeFileSync(file, `${JSON.stringify(object, null, 1)}\n`);
}

/** Every recorded history, with the workflow id it is replayed under (the file name). */
export function recordedHistories(): { workflowId: string; history: History }[] {
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({
      workflowId: name.replace(/\.json$/, ''),
      history: History.fromObject(
        JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, name), 'utf8')) as object,
      ),
    }));
}
