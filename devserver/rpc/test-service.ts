// temporal.api.testservice.v1.TestService, served in test-server mode only: the lock
// counter and sleeps of time skipping, and the virtual clock's current time.
import type { Handlers } from './grpc-server';
import type { TimeSkipper } from '../core/time-skipper';
import type { Clock } from '../core/clock';
import { durationToMs, timestampToMs, msToTimestamp, type IDuration, type ITimestamp } from '../proto';
import { invalidArgument } from './errors';

export function testServiceHandlers(skipper: TimeSkipper, clock: Clock): Handlers {
  const sleepMs = (d: IDuration | null | undefined): number => {
    const ms = durationToMs(d);
    if (ms < 0) throw invalidArgument('duration must not be negative');
    return ms;
  };
  const h = {
    async LockTimeSkipping() {
      skipper.lock();
      return {};
    },
    async UnlockTimeSkipping() {
      skipper.unlock();
      return {};
    },
    async Sleep(r: { duration?: IDuration | null }) {
      await skipper.sleep(sleepMs(r.duration), false);
      return {};
    },
    async SleepUntil(r: { timestamp?: ITimestamp | null }) {
      await skipper.sleep(Math.max(0, timestampToMs(r.timestamp) - clock.now()), false);
      return {};
    },
    async UnlockTimeSkippingWithSleep(r: { duration?: IDuration | null }) {
      await skipper.sleep(sleepMs(r.duration), true);
      return {};
    },
    async GetCurrentTime() {
      return { time: msToTimestamp(clock.now()) };
    },
  };
  return h;
}
