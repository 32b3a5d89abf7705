// The zod instance every schema is written with, extended with `.openapi()`
// so that the OpenAPI document is generated from the schemas that validate.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
