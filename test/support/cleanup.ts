// A process-wide list of shutdown steps for shared test resources, run once by
// the root afterAll hook in reverse order of registration.
type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];

export function registerCleanup(cleanup: Cleanup): void {
  cleanups.push(cleanup);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    await cleanup();
  }
}
