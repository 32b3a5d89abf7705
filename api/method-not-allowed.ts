// A known path asked with a method it does not serve is 405 with `Allow`
// (and OPTIONS answers `Allow`, as Express's router does), not 404: read from the routes Express
// holds, so every route is covered the day it is mounted, wherever it is.
import type { Express, RequestHandler } from 'express';
import { MethodNotAllowedError } from './errors';

/** What this needs of Express 5's router (router@2) layers. */
interface Layer {
  match(path: string): false | { path: string };
  route?: { _methods(): string[] };
  handle?: { stack?: Layer[] };
}

function allowedMethods(stack: Layer[], path: string, allowed = new Set<string>()): Set<string> {
  for (const layer of stack) {
    const matched = layer.match(path);
    if (matched === false) continue;
    if (layer.route !== undefined) {
      for (const method of layer.route._methods()) allowed.add(method);
    } else if (Array.isArray(layer.handle?.stack)) {
      // A mounted router: what is left of the path is matched against its own routes.
      const rest = path.slice(matched.path.length);
      allowedMethods(layer.handle.stack, rest.startsWith('/') ? rest : `/${rest}`, allowed);
    }
  }
  return allowed;
}

/** Mounted after every route and before the 404: only requests no route answered reach it. */
export function methodNotAllowed(app: Express): RequestHandler {
  const stack = () => (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return (req, res, next) => {
    const allowed = allowedMethods(stack(), req.path);
    if (allowed.size === 0) {
      next();
      return;
    }
    const allow = [...allowed].join(', ');
    if (req.method === 'OPTIONS') {
      // As Express's router answers OPTIONS for the paths it holds.
      res.setHeader('Allow', allow);
      res.status(200).type('text/plain').send(allow);
      return;
    }
    next(new MethodNotAllowedError(req.method, allow));
  };
}
