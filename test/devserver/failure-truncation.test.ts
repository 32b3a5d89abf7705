import { strict as assert } from 'node:assert';
import { truncateFailure, truncateUtf8, FAILURE_TRUNCATION_DEPTH } from '../../devserver/core/limits';
import { T, type IFailure } from '../../devserver/proto';

function encodedSize(f: IFailure): number {
  return T.Failure.encode(f).len;
}

function depth(f: IFailure | null | undefined): number {
  let n = 0;
  for (let c = f; c; c = c.cause) n++;
  return n;
}

describe('dev server: failure truncation (the real server failure.Truncate)', function () {
  it('when a string is cut inside a multi-byte character, then the whole character goes and the result stays within the byte limit', function () {
    // '€' is 3 bytes of UTF-8: 10 bytes hold 3 of them, and the fourth must not be cut in half.
    assert.equal(truncateUtf8('€€€€€', 10), '€€€');
    assert.equal(truncateUtf8('a€', 2), 'a');
    assert.equal(truncateUtf8('€', 0), '');
    assert.equal(truncateUtf8('short', 100), 'short');
  });

  it('when a failure message of multi-byte characters is over the limit, then it is cut on a character boundary and the failure fits', function () {
    const message = '€'.repeat(300_000); // 900,000 bytes
    const limit = 512 * 1024;
    const cut = truncateFailure({ message, applicationFailureInfo: { type: 'Big' } }, limit);
    assert.ok(!cut.message!.includes('\uFFFD'), 'no character was cut in half');
    assert.ok(message.startsWith(cut.message!));
    assert.ok(cut.message!.length > 0);
    assert.ok(encodedSize(cut) <= limit, `encoded size ${encodedSize(cut)}`);
    assert.equal(cut.applicationFailureInfo?.type, 'Big');
  });

  it('when a failure has causes, then they are kept, truncated with the room left, to a depth of 20', function () {
    let chain: IFailure | undefined;
    for (let i = 30; i >= 1; i--) {
      chain = {
        message: `level ${i}`,
        stackTrace: 'at x',
        applicationFailureInfo: { type: `T${i}` },
        cause: chain,
      };
    }
    const cut = truncateFailure(chain!, 512 * 1024);
    assert.equal(depth(cut), FAILURE_TRUNCATION_DEPTH + 1, 'the failure and 20 causes');
    assert.equal(cut.cause?.message, 'level 2');
    assert.equal(cut.cause?.applicationFailureInfo?.type, 'T2');
    assert.equal(cut.cause?.stackTrace, 'at x');
  });

  it('when the first failure takes the room, then its causes are dropped and the result still fits', function () {
    const limit = 1024;
    const cut = truncateFailure(
      {
        message: 'x'.repeat(600),
        stackTrace: 'y'.repeat(600),
        serverFailureInfo: { nonRetryable: true },
        cause: { message: 'z'.repeat(600) },
      },
      limit,
    );
    assert.equal(cut.serverFailureInfo?.nonRetryable, true);
    assert.equal(cut.message, 'x'.repeat(600));
    assert.ok(cut.stackTrace!.length < 600 && cut.stackTrace!.length > 0);
    assert.equal(cut.cause, undefined);
    // As in the real algorithm, a field's 4 bytes of overhead are counted after it is cut:
    // the field that takes the last of the room may overshoot by them.
    assert.ok(encodedSize(cut) <= limit + 4, `encoded size ${encodedSize(cut)}`);
  });

  it('when a cause is partly over the room left, then it is cut too and the whole still fits', function () {
    const limit = 2048;
    const cut = truncateFailure({ message: 'top', cause: { message: 'é'.repeat(5000) } }, limit);
    assert.equal(cut.message, 'top');
    assert.ok(cut.cause?.message && cut.cause.message.length > 0);
    assert.ok(!cut.cause.message.includes('\uFFFD'));
    assert.ok(encodedSize(cut) <= limit, `encoded size ${encodedSize(cut)}`);
  });
});
