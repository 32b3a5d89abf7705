// One `npm start` per DATA_DIR: two would share the embedded PostgreSQL and
// both write the dev server's temporal.db, which has one writer by design (two
// writers corrupt it). The first start writes its pid into DATA_DIR; another
// start refuses while that process lives, and takes over a lock left by one
// that died.
import fs from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `DATA_DIR ${dataDir} is in use by another npm start (process ${pid}): stop it, or give this one a DATA_DIR of its own`,
    );
    this.name = 'DataDirInUseError';
  }
}

const LOCK_FILE = 'npm-start.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes DATA_DIR for this process; answers the release. */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new DataDirInUseError(dataDir, holder);
    }
    // Left by a process that is gone: take it over.
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not lock DATA_DIR ${dataDir}`);
}
