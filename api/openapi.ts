import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { API_PREFIX, type ApiRoutes } from './route';
import { ErrorResponse } from './schemas';
import { z } from './zod';

/**
 * Statuses any API route can answer whatever it declares: the JSON parser and
 * the strict schemas run before every handler (400, 413), the database may
 * be out of reach (503), and anything unforeseen is a 500. The auth routes
 * are rate limited (429).
 */
const EVERY_ROUTE: Record<number, string> = {
  400: 'Invalid input (validation_error): a field, a query parameter, a malformed body',
  413: 'Body too large (payload_too_large)',
  500: 'Unexpected failure (internal); retrying may help, the request itself was fine',
  503: 'The database cannot be reached (unavailable); retry after Retry-After',
};
const RATE_LIMITED: Record<number, string> = { 429: 'Too many requests (rate_limited)' };

const Health = z.object({ status: z.literal('ok') }).openapi('Health');
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.string()).openapi({
      description: 'Per dependency: `ok`, or why it is not',
      example: { database: 'ok', temporal: 'ok' },
    }),
  })
  .openapi('Readiness');

function documentOperations(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'The process is alive',
    tags: ['operations'],
    responses: { 200: { description: 'Alive', content: { 'application/json': { schema: Health } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'The database and Temporal answer',
    tags: ['operations'],
    responses: {
      200: { description: 'Ready', content: { 'application/json': { schema: Readiness } } },
      503: {
        description: 'A dependency does not answer',
        content: { 'application/json': { schema: Readiness } },
      },
    },
  });
}

type Responses = Record<string, unknown>;
type Document = { paths?: Record<string, Record<string, { responses?: Responses }>> };

/** Adds the statuses every route can answer to each API operation that does not list them yet. */
function addCommonStatuses(document: Document): void {
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    if (!path.startsWith(`${API_PREFIX}/`) || path.startsWith(`${API_PREFIX}/webhooks/`)) continue;
    const statuses = { ...EVERY_ROUTE, ...(path.startsWith(`${API_PREFIX}/auth/`) ? RATE_LIMITED : {}) };
    for (const operation of Object.values(operations)) {
      const responses = (operation.responses ??= {});
      for (const [status, description] of Object.entries(statuses)) {
        responses[status] ??= {
          description,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
      // In status order, as the rest of the document.
      operation.responses = Object.fromEntries(
        Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  }
}

export function openApiDocument(
  routes: ApiRoutes,
  documentMore: (registry: OpenAPIRegistry) => void = () => {},
): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  registry.register('Error', ErrorResponse);
  routes.document(registry);
  documentMore(registry);
  documentOperations(registry);
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Class marketplace API',
      version: '1.0.0',
      description:
        'Amounts are integers in minor units of one currency. Errors have the shape {"error": {"code", "message", "details"?}}.',
    },
    servers: [{ url: '/' }],
  });
  addCommonStatuses(document as Document);
  return document;
}
