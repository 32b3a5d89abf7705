// Webhooks from other services. Their signatures cover the raw body, so they
// are mounted before the JSON parser and read the body as it was sent.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type RequestHandler, type Router } from 'express';
import { receiveLiveKitWebhook, type PresenceDeps } from '../../bookings/presence';
import { UnauthorizedError, ValidationError } from '../errors';
import { API_PREFIX, send } from '../route';
import { ErrorResponse } from '../schemas';
import { z } from '../zod';

const LIVEKIT_CONTENT_TYPES = ['application/webhook+json', 'application/json'];

const Receipt = z
  .object({
    result: z.enum(['routed', 'ignored']),
    duplicate: z.boolean().openapi({ description: 'This event id was received before' }),
    bookings: z.number().int().openapi({ description: 'Booking workflows signalled' }),
  })
  .openapi('WebhookReceipt');

export function mountWebhooks(
  router: Router,
  deps: { presence: PresenceDeps; bodyLimitBytes: number },
): void {
  router.post(
    '/webhooks/livekit',
    (_req, res, next) => {
      res.locals.routePattern = `${API_PREFIX}/webhooks/livekit`;
      next();
    },
    express.raw({ type: LIVEKIT_CONTENT_TYPES, limit: deps.bodyLimitBytes }),
    livekitWebhook(deps.presence),
  );
}

function livekitWebhook(deps: PresenceDeps): RequestHandler {
  return (req, res, next) => {
    // Unsigned is refused first, whatever it carries.
    if (req.get('Authorization') === undefined) {
      next(new UnauthorizedError('a LiveKit webhook must be signed (Authorization)'));
      return;
    }
    if (!Buffer.isBuffer(req.body)) {
      next(new ValidationError('Content-Type must be application/webhook+json'));
      return;
    }
    receiveLiveKitWebhook(deps, req.body.toString('utf8'), req.get('Authorization'))
      .then((receipt) => send(res, { status: 200, body: receipt }))
      .catch(next);
  };
}

export function documentWebhooks(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: `${API_PREFIX}/webhooks/livekit`,
    summary: 'LiveKit webhook (participant_joined, participant_left, room_finished; others are ignored)',
    tags: ['webhooks'],
    description:
      'Signed by LiveKit: `Authorization` carries a JWT (LIVEKIT_API_KEY/LIVEKIT_API_SECRET) whose sha256 claim is the hash of the raw body. Each event is stored once by its id and signalled to the booking workflows of its room.',
    request: {
      body: {
        content: {
          'application/webhook+json': { schema: z.object({}).passthrough().openapi('LiveKitWebhookEvent') },
        },
      },
    },
    responses: {
      200: { description: 'Received', content: { 'application/json': { schema: Receipt } } },
      400: { description: 'Not a webhook body', content: { 'application/json': { schema: ErrorResponse } } },
      401: {
        description: 'Missing, forged or tampered signature: nothing recorded',
        content: { 'application/json': { schema: ErrorResponse } },
      },
      413: { description: 'Body too large', content: { 'application/json': { schema: ErrorResponse } } },
    },
  });
}
