// Webhooks from other services. Their signatures cover the raw body, so they
// are mounted before the JSON parser and read the body as it was sent.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type RequestHandler, type Router } from 'express';
import { receiveLiveKitWebhook, type PresenceDeps } from '../../bookings/presence';
import { StripeNotConfiguredError, StripeWebhookSignatureError } from '../../payments/stripe';
import { receiveStripeEvent, type TopupDeps } from '../../payments/topups';
import { HttpError, UnauthorizedError, ValidationError } from '../errors';
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

const StripeReceipt = z
  .object({
    received: z.literal(true),
    result: z.enum([
      'credited',
      'already_credited',
      'awaiting_payment',
      'mismatched',
      'unknown_session',
      'expired',
      'failed',
      'ignored',
    ]),
  })
  .openapi('StripeWebhookReceipt');

export function mountWebhooks(
  router: Router,
  deps: { presence: PresenceDeps; topups: TopupDeps; bodyLimitBytes: number },
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
  router.post(
    '/webhooks/stripe',
    (_req, res, next) => {
      res.locals.routePattern = `${API_PREFIX}/webhooks/stripe`;
      next();
    },
    // Whatever the content type says: the signature covers the bytes as sent.
    express.raw({ type: () => true, limit: deps.bodyLimitBytes }),
    stripeWebhook(deps.topups),
  );
}

/** A Stripe webhook that cannot be verified: 400, and nothing is recorded. */
class StripeWebhookRefusedError extends HttpError {
  constructor(code: 'invalid_signature' | 'stripe_not_configured', message: string) {
    super(400, code, message);
  }
}

function stripeWebhook(deps: TopupDeps): RequestHandler {
  return (req, res, next) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let event;
    try {
      event = deps.stripe.verifyWebhook(body, req.get('Stripe-Signature'));
    } catch (error) {
      if (error instanceof StripeWebhookSignatureError) {
        next(new StripeWebhookRefusedError('invalid_signature', error.message));
      } else if (error instanceof StripeNotConfiguredError) {
        next(new StripeWebhookRefusedError('stripe_not_configured', `${error.message}: nothing credited`));
      } else {
        next(error);
      }
      return;
    }
    receiveStripeEvent(deps, event)
      .then((result) => send(res, { status: 200, body: { received: true, result } }))
      .catch(next);
  };
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
  registry.registerPath({
    method: 'post',
    path: `${API_PREFIX}/webhooks/stripe`,
    summary:
      'Stripe webhook (checkout.session.completed, checkout.session.async_payment_succeeded, .async_payment_failed, .expired; others are ignored)',
    tags: ['webhooks'],
    description:
      "Signed by Stripe: `Stripe-Signature` over the raw body with the endpoint's signing secret (STRIPE_WEBHOOK_SECRET). A session whose `payment_status` is `paid` credits the student's wallet exactly once (the ledger transfer's id is derived from the session id), after its amount, currency and metadata are checked against the top-up that was asked for: a mismatch is not credited, is logged as an error and answered 200 (`mismatched`) so Stripe stops sending it.",
    request: {
      headers: z.object({ 'Stripe-Signature': z.string().openapi({ example: 't=1700000000,v1=5257a8...' }) }),
      body: {
        content: { 'application/json': { schema: z.object({}).passthrough().openapi('StripeWebhookEvent') } },
      },
    },
    responses: {
      200: {
        description: 'Received (and acted on, or ignored)',
        content: { 'application/json': { schema: StripeReceipt } },
      },
      400: {
        description:
          'Missing, forged, stale or tampered signature (`invalid_signature`), or Stripe not configured here (`stripe_not_configured`): nothing recorded, nothing credited',
        content: { 'application/json': { schema: ErrorResponse } },
      },
      413: { description: 'Body too large', content: { 'application/json': { schema: ErrorResponse } } },
    },
  });
}
