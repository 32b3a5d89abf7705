import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { ApiRoutes } from './route';

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
  routes.document(registry);
  documentMore(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Class marketplace API',
      version: '1.0.0',
      description:
        'Amounts are integers in minor units of one currency. Errors have the shape {"error": {"code", "message", "details"?}}.',
    },
    servers: [{ url: '/' }],
  });
}
