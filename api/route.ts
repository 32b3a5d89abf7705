// Routes are declared once, with their schemas, who may call them and what
// they answer; from that one declaration come the Express handler (validation,
// authentication, role check, Idempotency-Key) and the OpenAPI document.
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { NextFunction, Request, Response, Router } from 'express';
import type { ZodType } from 'zod';
import { ForbiddenError, ValidationError, type FieldProblem } from './errors';
import { ErrorResponse, NoBody, NoQuery, type Role } from './schemas';
import { z } from './zod';
import type { UserModel } from '../users/user-model';

export const API_PREFIX = '/api/v1';

export interface Reply {
  status: number;
  body?: unknown;
  /** Defaults to JSON; a string body with another type is sent as is (CSV). */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Context<B, Q, P> {
  user: UserModel;
  body: B;
  query: Q;
  params: P;
  req: Request;
}

export type PublicContext<B, Q, P> = Omit<Context<B, Q, P>, 'user'>;

interface RouteBase<B, Q, P> {
  method: 'get' | 'post' | 'put';
  /** Express syntax (`/bookings/:id`), relative to /api/v1. */
  path: string;
  summary: string;
  tags: string[];
  body?: ZodType<B>;
  query?: ZodType<Q>;
  params?: ZodType<P>;
  /** The success answer, for the document. */
  success: { status: number; description: string; schema?: ZodType; contentTypes?: string[] };
  /** Error statuses this route can answer, for the document (400/401/403 are added as they apply). */
  errors?: number[];
  /** What an error status means on this route, where the generic wording does not fit. */
  errorText?: Partial<Record<number, string>>;
  /** Honours Idempotency-Key (money-moving POSTs); see idempotency.ts. */
  idempotent?: boolean;
}

export interface PublicRoute<B, Q, P> extends RouteBase<B, Q, P> {
  access: 'public';
  handler: (ctx: PublicContext<B, Q, P>) => Promise<Reply>;
}

export interface ProtectedRoute<B, Q, P> extends RouteBase<B, Q, P> {
  /** Roles allowed to call it. */
  access: readonly Role[];
  handler: (ctx: Context<B, Q, P>) => Promise<Reply>;
}

export type RouteDefinition<B = unknown, Q = unknown, P = unknown> =
  PublicRoute<B, Q, P> | ProtectedRoute<B, Q, P>;

export interface RouteServices {
  /** The caller named by the bearer token; throws 401 when there is none or it is not valid. */
  authenticate(req: Request): Promise<UserModel>;
  /**
   * Runs `execute` at most once per (user, Idempotency-Key); see
   * idempotency.ts. `request` names what is asked (route, parameters, body),
   * independently of how the URL was spelt.
   */
  idempotent(req: Request, user: UserModel, request: unknown, execute: () => Promise<Reply>): Promise<Reply>;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input (validation_error)',
  401: 'Missing or invalid token (unauthorized)',
  402: 'Not enough money (insufficient_funds)',
  403: 'Not allowed for this user (forbidden)',
  404: 'Not found (not_found)',
  409: 'Conflicts with the current state',
  413: 'Body too large (payload_too_large)',
  422: 'Idempotency-Key reused with another request (idempotency_key_reused)',
  429: 'Too many requests (rate_limited)',
  503: 'The booking’s workflow did not answer in time (unavailable); it may still act: look before retrying',
};

export class ApiRoutes {
  private readonly routes: RouteDefinition[] = [];

  /** A route for signed-in users of the given roles. */
  add<B, Q, P>(route: ProtectedRoute<B, Q, P>): void {
    this.routes.push(route as unknown as RouteDefinition);
  }

  /** A route anyone may call (registration, login). */
  addPublic<B, Q, P>(route: PublicRoute<B, Q, P>): void {
    this.routes.push(route as unknown as RouteDefinition);
  }

  /** Registers every route on an Express router mounted at API_PREFIX. */
  mount(router: Router, services: RouteServices): void {
    for (const route of this.routes) {
      router[route.method](route.path, (req: Request, res: Response, next: NextFunction) => {
        res.locals.routePattern = API_PREFIX + route.path; // for metrics, even when the handler throws
        handle(route, services, req, res).catch(next);
      });
    }
  }

  document(registry: OpenAPIRegistry): void {
    for (const route of this.routes) registry.registerPath(toOpenApi(route));
  }
}

async function handle(
  route: RouteDefinition,
  services: RouteServices,
  req: Request,
  res: Response,
): Promise<void> {
  // Authenticate before validating, so that an anonymous caller learns nothing about the input.
  const user = route.access === 'public' ? undefined : await services.authenticate(req);
  if (user !== undefined && route.access !== 'public' && !route.access.includes(user.role)) {
    throw new ForbiddenError(`this needs the role ${route.access.join(' or ')}`);
  }
  const params = parse(route.params ?? z.object({}).passthrough(), req.params, 'path');
  const query = parse(route.query ?? NoQuery, req.query, 'query');
  const body = parse(route.body ?? NoBody, req.body ?? {}, 'body');

  let reply: Reply;
  try {
    if (route.access === 'public') {
      reply = await route.handler({ body, query, params, req });
    } else {
      const ctx = { user: user!, body, query, params, req };
      reply =
        route.idempotent === true
          ? await services.idempotent(
              req,
              user!,
              { route: `${route.method.toUpperCase()} ${API_PREFIX}${route.path}`, params, body },
              () => route.handler(ctx),
            )
          : await route.handler(ctx);
    }
  } catch (error) {
    throw inBodyTerms(error);
  }
  send(res, reply);
}

export function send(res: Response, reply: Reply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.body === undefined) {
    res.status(reply.status).end();
  } else if (reply.contentType !== undefined && typeof reply.body === 'string') {
    res.status(reply.status).type(reply.contentType).send(reply.body);
  } else {
    res.status(reply.status).json(reply.body);
  }
}

/**
 * A service names the fields of its input (`startsAt`); over HTTP that input
 * is the body, and the schemas say `body.startsAt`: one spelling for clients.
 */
function inBodyTerms(error: unknown): unknown {
  if (!(error instanceof ValidationError) || error.details === undefined) return error;
  const located = /^(body|query|path|header)(\.|$)/;
  if (error.details.every((d) => located.test(d.path))) return error;
  // Worded as the schemas word a problem with the body, too.
  return new ValidationError(
    'invalid body',
    error.details.map((d) => (located.test(d.path) ? d : { ...d, path: `body.${d.path}` })),
  );
}

function parse<T>(schema: ZodType<T>, input: unknown, where: 'path' | 'query' | 'body'): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details: FieldProblem[] = result.error.issues.flatMap((issue) =>
    // One problem per unknown key, named by its path like any other field (zod
    // lists them all in one message, which grows with the input).
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: fieldPath(where, [...issue.path, key]),
          message: where === 'query' ? 'unknown parameter' : 'unknown field',
        }))
      : [{ path: fieldPath(where, issue.path), message: issue.message }],
  );
  throw new ValidationError(`invalid ${where === 'path' ? 'path parameter' : where}`, details);
}

/** Longest field name echoed back in a problem's path; a longer one is cut (it is the client's own input). */
const MAX_PATH_SEGMENT = 64;

function fieldPath(where: string, path: readonly PropertyKey[]): string {
  return [where, ...path.map((segment) => cut(String(segment)))].join('.');
}

function cut(segment: string): string {
  return segment.length > MAX_PATH_SEGMENT ? `${segment.slice(0, MAX_PATH_SEGMENT)}…` : segment;
}

function toOpenApi(route: RouteDefinition): RouteConfig {
  const errorStatuses = new Set(route.errors ?? []);
  if (route.body !== undefined || route.query !== undefined || route.params !== undefined)
    errorStatuses.add(400);
  if (route.access !== 'public') {
    errorStatuses.add(401);
    errorStatuses.add(403);
  }
  if (route.idempotent === true) errorStatuses.add(422);
  const responses: RouteConfig['responses'] = {
    [route.success.status]: {
      description: route.success.description,
      ...(route.success.schema === undefined
        ? {}
        : {
            content: Object.fromEntries(
              (route.success.contentTypes ?? ['application/json']).map((type) => [
                type,
                { schema: type === 'application/json' ? route.success.schema! : z.string() },
              ]),
            ),
          }),
    },
  };
  for (const status of [...errorStatuses].sort()) {
    responses[status] = {
      description: route.errorText?.[status] ?? STATUS_TEXT[status] ?? 'Error',
      content: { 'application/json': { schema: ErrorResponse } },
    };
  }
  return {
    method: route.method,
    path: API_PREFIX + route.path.replace(/:(\w+)/g, '{$1}'),
    summary: route.summary,
    tags: route.tags,
    ...(route.access === 'public'
      ? {}
      : {
          security: [{ bearerAuth: [] }],
          description: `Roles: ${route.access.join(', ')}.`,
        }),
    request: {
      ...(route.params === undefined ? {} : { params: route.params as never }),
      ...(route.query === undefined ? {} : { query: route.query as never }),
      ...(route.body === undefined
        ? {}
        : { body: { content: { 'application/json': { schema: route.body } } } }),
      ...(route.idempotent === true
        ? {
            headers: z.object({
              'Idempotency-Key': z
                .string()
                .regex(/^[\x21-\x7e]{1,255}$/)
                .optional()
                .openapi({
                  description:
                    'Same key and request: the first (successful) answer again; another request: 422; the first still running: 409 request_in_progress.',
                }),
            }) as never,
          }
        : {}),
    },
    responses,
  };
}
