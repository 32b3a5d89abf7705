// JSON may spell a lone UTF-16 surrogate ("\ud800"), which is no character at
// all: stored, it would silently become U+FFFD. Such text is refused as input
// instead, wherever it sits in the body (values and keys alike).
import type { RequestHandler } from 'express';
import { ValidationError } from './errors';

/** A code point in the surrogate range: with the `u` flag, only an unpaired half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Where the first string holding a lone surrogate is (`body.a.0.b`), or undefined. */
export function illFormedTextAt(value: unknown, root: string): string | undefined {
  // Iterative: a deeply nested body must not exhaust the stack.
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) return path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push([current[i], `${path}.${i}`]);
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (LONE_SURROGATE.test(key)) return `${path}.${key.replace(LONE_SURROGATE, '\ufffd')}`;
        pending.push([child, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/** Paths are echoed in the answer: a deeply nested one is shown by its ends. */
const MAX_PATH_CHARS = 200;

function shown(path: string): string {
  if (path.length <= MAX_PATH_CHARS) return path;
  const half = MAX_PATH_CHARS / 2;
  return `${path.slice(0, half)}…${path.slice(-half)}`;
}

/** After the JSON parser: a body with a lone surrogate anywhere is 400. */
export function wellFormedText(): RequestHandler {
  return (req, _res, next) => {
    const path = illFormedTextAt(req.body, 'body');
    if (path === undefined) {
      next();
      return;
    }
    next(
      new ValidationError('invalid body', [
        {
          path: shown(path),
          message: 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate)',
        },
      ]),
    );
  };
}
