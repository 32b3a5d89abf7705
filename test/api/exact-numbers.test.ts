import assert from 'node:assert/strict';
import fc from 'fast-check';
import { roundedNumberIn } from '../../api/exact-numbers';

describe('numbers read exactly (api/exact-numbers)', () => {
  it('when a literal has a fraction but reads as a whole number, then it is named; whole or plainly fractional ones are not', () => {
    const cases: [string, string | undefined][] = [
      ['{"a":99.99999999999999999}', '99.99999999999999999'],
      ['{"a":[1,2.0000000000000000001]}', '2.0000000000000000001'],
      ['{"a":-7.00000000000000000001}', '-7.00000000000000000001'],
      ['{"a":0.5e-400}', '0.5e-400'],
      ['{"a":12345678901234567.5}', '12345678901234567.5'],
      ['{"a":100.0}', undefined],
      ['{"a":1e2,"b":1.25e2,"c":150e-1,"d":-0.0}', undefined],
      ['{"a":1.5,"b":-0.0000000000000000001}', undefined],
      ['{"a":"99.99999999999999999"}', undefined],
      ['{"a":"x\\\\","b":"\\"99.99999999999999999"}', undefined],
    ];
    for (const [text, expected] of cases) {
      JSON.parse(text); // each case is valid JSON, as the parser has checked before
      assert.equal(roundedNumberIn(text), expected, text);
    }
  });

  it('when any decimal literal is read, then it is named exactly when its value has a fraction and the double it reads as has none', () => {
    const literal = fc
      .tuple(
        fc.boolean(),
        fc.stringMatching(/^(0|[1-9]\d{0,20})$/),
        fc.stringMatching(/^\d{1,25}$/),
        fc.option(fc.integer({ min: -30, max: 30 })),
      )
      .map(([negative, whole, fraction, exponent]) => ({
        text: `${negative ? '-' : ''}${whole}.${fraction}${exponent === null ? '' : `e${exponent}`}`,
        exponent: exponent ?? 0,
        whole,
        fraction,
      }));
    fc.assert(
      fc.property(literal, ({ text, exponent, whole, fraction }) => {
        // Exact: the digits as a big integer, scaled by a power of ten.
        const scale = exponent - fraction.length;
        const digits = BigInt(whole + fraction);
        const hasFraction = scale < 0 && digits % 10n ** BigInt(-scale) !== 0n;
        const expected = hasFraction && Number.isInteger(Number(text)) ? text : undefined;
        assert.equal(roundedNumberIn(`{"n":${text}}`), expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
