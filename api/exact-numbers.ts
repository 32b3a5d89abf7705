// JSON numbers are read as doubles, so `99.99999999999999999` arrives as 100
// and would pass an integer schema as a whole number nobody typed. Every
// number this API takes is a bounded whole number, so a literal whose own
// value has a fraction but which reads as a whole number is refused instead.
import type { Request, RequestHandler } from 'express';
import { ValidationError } from './errors';

const rawBodies = new WeakMap<Request, { body: Buffer; charset: string }>();

/** For express.json's `verify`: keeps the body's bytes and charset for `exactNumbers`. */
export function keepRawBody(req: Request, _res: unknown, body: Buffer, charset: string): void {
  rawBodies.set(req, { body, charset });
}

const NUMBER = /-?\d+(?:\.(\d+))?(?:[eE]([+-]?\d+))?/y;
/** Whether a literal's fraction could round away: a number with a point or an exponent. */
const MAY_ROUND = /[.eE]/;

/** The first number in valid JSON text that has a fraction yet reads as a whole number. */
export function roundedNumberIn(text: string): string | undefined {
  if (!MAY_ROUND.test(text)) return undefined;
  // Bounded by the text: each step moves past one character, string or number.
  for (let i = 0; i < text.length;) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text)!;
      i = NUMBER.lastIndex;
      if (match[1] !== undefined || match[2] !== undefined) {
        const value = Number(match[0]);
        if (Number.isInteger(value) && hasFraction(match[0])) return match[0];
      }
    } else {
      i++;
    }
  }
  return undefined;
}

/** Whether a decimal literal's exact value has a fractional part. */
function hasFraction(literal: string): boolean {
  const [mantissa = '', exponent = '0'] = literal.replace(/^-/, '').split(/[eE]/);
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = (whole + fraction).replace(/0+$/, '');
  if (/^0*$/.test(digits)) return false;
  const trailingZeros = whole.length + fraction.length - digits.length;
  // The value is digits × 10^scale: whole exactly when scale is not negative.
  const scale = Number(exponent) - fraction.length + trailingZeros;
  return scale < 0;
}

/** After the JSON parser: a number that would be read as another, whole one is 400. */
export function exactNumbers(): RequestHandler {
  return (req, _res, next) => {
    const raw = rawBodies.get(req);
    // Read as UTF-8 below: another charset (body-parser takes any utf-*) would hide its numbers.
    if (raw !== undefined && raw.charset.toLowerCase() !== 'utf-8') {
      next(
        new ValidationError('invalid body', [
          { path: 'body', message: `JSON must be UTF-8 (RFC 8259), not ${raw.charset}` },
        ]),
      );
      return;
    }
    const rounded = raw === undefined ? undefined : roundedNumberIn(raw.body.toString('utf8'));
    if (rounded === undefined) {
      next();
      return;
    }
    const shown = rounded.length > 40 ? `${rounded.slice(0, 40)}…` : rounded;
    next(
      new ValidationError('invalid body', [
        {
          path: 'body',
          message: `${shown} is not a whole number, though it would be read as ${Number(rounded)}`,
        },
      ]),
    );
  };
}
