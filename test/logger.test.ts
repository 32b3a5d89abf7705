// Log lines: JSON for collectors, a readable line for a person at a terminal.
import assert from 'node:assert/strict';
import { appLogger, readableLogLine } from '../platform/logger';

function capture(isTTY: boolean) {
  const lines: string[] = [];
  return { isTTY, lines, write: (text: string) => lines.push(text) };
}

describe('log lines', () => {
  it('when a request line is read, then it shows time, level, the message and the fields it does not already say', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.parse('2026-12-07T15:04:05.123Z'),
      pid: 1,
      hostname: 'h',
      reqId: 'r-1',
      method: 'POST',
      path: '/api/v1/bookings',
      status: 201,
      durationMs: 12.3,
      userId: null,
      msg: 'POST /api/v1/bookings 201 12.3ms',
    });
    assert.equal(readableLogLine(line), '15:04:05 INFO  POST /api/v1/bookings 201 12.3ms reqId=r-1');
  });

  it('when an error is logged, then its stack follows the line, indented; objects print as JSON', () => {
    const line = JSON.stringify({
      level: 50,
      time: Date.parse('2026-12-07T00:00:01Z'),
      meetingId: 'm-1',
      detail: { attempt: 2 },
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at here' },
      msg: 'could not close the room',
    });
    assert.equal(
      readableLogLine(line),
      '00:00:01 ERROR could not close the room meetingId=m-1 detail={"attempt":2}\n    Error: boom\n        at here',
    );
  });

  it('when a line is not a JSON object, then it passes unchanged', () => {
    for (const line of ['plain text', '[1,2]', '42', '{"broken"']) assert.equal(readableLogLine(line), line);
  });

  it('when LOG_FORMAT is auto, then a terminal gets readable lines and a pipe gets JSON; json and pretty force their form', () => {
    for (const [format, isTTY, readable] of [
      ['auto', true, true],
      ['auto', false, false],
      ['json', true, false],
      ['pretty', false, true],
    ] as const) {
      const out = capture(isTTY);
      appLogger({ LOG_LEVEL: 'info', LOG_FORMAT: format }, out).info({ bookingId: 'b-1' }, 'settled');
      const written = out.lines.join('');
      if (readable) assert.match(written, /^\d\d:\d\d:\d\d INFO {2}settled bookingId=b-1\n$/, format);
      else
        assert.deepEqual(
          JSON.parse(written),
          { ...JSON.parse(written), bookingId: 'b-1', msg: 'settled' },
          format,
        );
    }
  });
});
