// Stripe top-ups end to end: the real `stripe` SDK against a local stand-in
// for the Stripe API (test/support/stripe.ts), webhooks signed with the SDK's
// own test header, the credit checked in the ledger and the statement.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createTopupActivities } from '../../activities/topups';
import { topupTransferIdOf } from '../../payments/topups';
import { register, startTestApi, testApi, type Session, type TestApi } from '../support/api';
import { startFakeStripe, type FakeStripe } from '../support/stripe';
import { STRIPE_CHECKOUT_MAX_MINOR } from '../../api/routes/topups';

const PUBLIC_URL = 'https://marketplace.test';

interface LogLine {
  level: number;
  msg: string;
  sessionId?: string;
  problems?: string[];
}

describe('Stripe top-ups', () => {
  let stripe: FakeStripe;
  let api: TestApi;
  const logs: LogLine[] = [];

  before(async () => {
    stripe = await startFakeStripe();
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
    );
    api = await startTestApi({ ...stripe.env, PUBLIC_URL }, { logger });
  });

  async function student(): Promise<Session> {
    return register(api, 'student');
  }

  async function topUp(session: Session, amount: number, key?: string) {
    return api.request('POST', '/api/v1/wallet/topups', {
      token: session.token,
      body: { amount },
      headers: { 'Idempotency-Key': key },
    });
  }

  /** A top-up asked for through the API: its id and its session's id. */
  async function openTopup(session: Session, amount: number): Promise<{ id: string; sessionId: string }> {
    const response = await topUp(session, amount, randomUUID());
    assert.equal(response.status, 201, response.text);
    return response.body;
  }

  function deliver(type: string, object: object, options: { secret?: string } = {}) {
    const { payload, header } = stripe.signedEvent(type, object, options);
    return api.request('POST', '/api/v1/webhooks/stripe', {
      rawBody: payload,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header },
    });
  }

  async function available(session: Session): Promise<number> {
    return (await api.request('GET', '/api/v1/wallet', { token: session.token })).body.available;
  }

  async function topupStatus(session: Session, id: string): Promise<string> {
    const response = await api.request('GET', `/api/v1/wallet/topups/${id}`, { token: session.token });
    assert.equal(response.status, 200, response.text);
    return response.body.status;
  }

  /** The reconciliation activity over this API's database and Stripe. */
  const topupActivities = () =>
    createTopupActivities({
      db: api.db,
      logger: api.platform.logger,
      stripe: api.platform.stripe,
      currency: api.settings.CURRENCY,
    });

  async function creditsOf(sessionId: string): Promise<number> {
    const rows = await api.db('ledger_transfers').where({ id: topupTransferIdOf(sessionId) });
    return rows.length;
  }

  it('when a student asks for a top-up, then 201 {id, url} and a Checkout Session for that amount, with the user and amount in its metadata and return URLs from PUBLIC_URL', async () => {
    const ada = await student();
    const response = await topUp(ada, 2_500, randomUUID());

    assert.equal(response.status, 201, response.text);
    const { id, sessionId, url, amount, currency, status } = response.body;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(sessionId, /^cs_test_/);
    assert.equal(url, `${stripe.url}/pay/${sessionId}`);
    assert.deepEqual([amount, currency, status], [2_500, 'usd', 'open']);

    const created = stripe.session(sessionId);
    assert.equal(created.amount_total, 2_500);
    assert.equal(created.currency, 'usd');
    assert.deepEqual(created.metadata, { userId: ada.user.id, amount: '2500' });
    assert.equal(created.client_reference_id, ada.user.id);
    assert.equal(
      created.success_url,
      `${PUBLIC_URL}/console/wallet/topups/success?session_id={CHECKOUT_SESSION_ID}`,
    );
    assert.equal(created.cancel_url, `${PUBLIC_URL}/console/wallet/topups/cancelled`);
    const call = stripe.requests.find((r) => r.method === 'POST' && r.status === 200 && r.params.metadata);
    assert.ok(call?.idempotencyKey?.startsWith('topup-'), JSON.stringify(call));
    assert.equal(await available(ada), 0, 'nothing is credited before Stripe says it is paid');
    assert.equal(await topupStatus(ada, id), 'open');
  });

  it('when the same Idempotency-Key is sent again, then the same session comes back; with another amount, then 422 and no other session', async () => {
    const ada = await student();
    const key = randomUUID();
    const first = await topUp(ada, 1_000, key);
    const sessionsBefore = stripe.sessions.size;
    const again = await topUp(ada, 1_000, key);
    const other = await topUp(ada, 2_000, key);

    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.body.sessionId, first.body.sessionId);
    assert.equal(again.body.id, first.body.id);
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    assert.equal(stripe.sessions.size, sessionsBefore);
  });

  it('when the first request with a key died after Stripe answered, then its retry gets the same session (the key reaches Stripe)', async () => {
    const ada = await student();
    const key = randomUUID();
    const first = await topUp(ada, 1_200, key);
    // As if the answer had been lost: the stored answer is gone, Stripe still has the session.
    await api.db('idempotency_keys').where({ user_id: ada.user.id, key }).delete();
    const retry = await topUp(ada, 1_200, key);
    // Lost again, and retried with another amount: Stripe itself refuses the key.
    await api.db('idempotency_keys').where({ user_id: ada.user.id, key }).delete();
    const otherAmount = await topUp(ada, 1_300, key);

    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.body.sessionId, first.body.sessionId);
    assert.equal(otherAmount.status, 422, otherAmount.text);
    assert.equal(otherAmount.body.error.code, 'idempotency_key_reused');
    const calls = stripe.requests.filter((r) => (r.params.metadata as any)?.userId === ada.user.id);
    assert.deepEqual(
      calls.map((r) => r.status),
      [200, 200, 400],
    );
    assert.equal(new Set(calls.map((r) => r.idempotencyKey)).size, 1, 'one key at Stripe for one client key');
  });

  it('when a teacher asks for a top-up, or the amount is below the minimum, above the maximum (the API’s, or what one Stripe Checkout Session may charge) or fractional, then 403/400 and no session is created', async () => {
    const teacher = await register(api, 'teacher');
    const ada = await student();
    const before = stripe.sessions.size;

    const refused = await topUp(teacher, 1_000);
    assert.equal(refused.status, 403, refused.text);
    const overStripe = STRIPE_CHECKOUT_MAX_MINOR + 1;
    for (const amount of [99, 0, -100, 10.5, api.settings.MAX_AMOUNT_MINOR + 1, overStripe, '1000']) {
      const response = await api.request('POST', '/api/v1/wallet/topups', {
        token: ada.token,
        body: { amount },
      });
      assert.equal(response.status, 400, `${String(amount)}: ${response.text}`);
      assert.equal(response.body.error.details[0].path, 'body.amount');
    }
    assert.equal(stripe.sessions.size, before);
  });

  it('when Stripe refuses to create the session, then 503 payment_provider_unavailable, nothing is recorded, and the same key works once Stripe does', async () => {
    const ada = await student();
    const key = randomUUID();
    stripe.failNext(1, 'invalid_request', { method: 'POST', path: /checkout/ });
    const refused = await topUp(ada, 1_000, key);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error.code, 'payment_provider_unavailable');
    assert.equal((await api.db('topups').where({ user_id: ada.user.id })).length, 0);

    const retried = await topUp(ada, 1_000, key);
    assert.equal(retried.status, 201, retried.text);
  });

  it('when checkout.session.completed arrives paid, then the wallet is credited with a deposit line referencing the top-up, and the top-up reads paid', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 2_500);

    const response = await deliver('checkout.session.completed', stripe.markPaid(topup.sessionId));

    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { received: true, result: 'credited' });
    assert.equal(await available(ada), 2_500);
    const lines = (await api.request('GET', '/api/v1/wallet/transactions', { token: ada.token })).body.data;
    assert.equal(lines.length, 1);
    assert.equal(lines[0].type, 'deposit');
    assert.equal(lines[0].amount, 2_500);
    assert.equal(lines[0].status, 'completed');
    assert.deepEqual(lines[0].reference, { type: 'payment', id: topup.id });
    assert.equal(lines[0].id, topupTransferIdOf(topup.sessionId));
    const [transfer] = await api.db('ledger_transfers').where({ id: topupTransferIdOf(topup.sessionId) });
    assert.equal(transfer.code, 'topup');
    assert.equal(await topupStatus(ada, topup.id), 'paid');
  });

  it('when the same webhook is delivered twice, or twice at once, then the wallet is credited once', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 1_500);
    const paid = stripe.markPaid(topup.sessionId);
    const { payload, header } = stripe.signedEvent('checkout.session.completed', paid);
    const send = () =>
      api.request('POST', '/api/v1/webhooks/stripe', {
        rawBody: payload,
        headers: { 'Content-Type': 'application/json', 'Stripe-Signature': header },
      });

    const together = await Promise.all([send(), send()]);
    const later = await send();

    assert.deepEqual(together.map((r) => r.body.result).sort(), ['already_credited', 'credited']);
    assert.equal(later.body.result, 'already_credited');
    assert.equal(await available(ada), 1_500);
    assert.equal(await creditsOf(topup.sessionId), 1);
  });

  it('when completed and async_payment_succeeded both arrive for one paid session, then the wallet is credited once', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 1_000);
    const paid = stripe.markPaid(topup.sessionId);

    const completed = await deliver('checkout.session.completed', paid);
    const succeeded = await deliver('checkout.session.async_payment_succeeded', paid);

    assert.equal(completed.body.result, 'credited');
    assert.equal(succeeded.body.result, 'already_credited');
    assert.equal(await available(ada), 1_000);
    assert.equal(await creditsOf(topup.sessionId), 1);
  });

  it('when completed arrives unpaid (a payment still settling), then nothing is credited until async_payment_succeeded', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 3_000);

    const completed = await deliver(
      'checkout.session.completed',
      stripe.markCompletedUnpaid(topup.sessionId),
    );
    assert.equal(completed.status, 200);
    assert.equal(completed.body.result, 'awaiting_payment');
    assert.equal(await available(ada), 0);
    assert.equal(await topupStatus(ada, topup.id), 'open');

    const succeeded = await deliver(
      'checkout.session.async_payment_succeeded',
      stripe.markPaid(topup.sessionId),
    );
    assert.equal(succeeded.body.result, 'credited');
    assert.equal(await available(ada), 3_000);
  });

  it('when a webhook has no signature, a forged one, or a body changed after signing, then 400 invalid_signature and nothing is credited', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 1_000);
    const paid = stripe.markPaid(topup.sessionId);
    const { payload, header } = stripe.signedEvent('checkout.session.completed', paid);
    const forged = stripe.signedEvent('checkout.session.completed', paid, { secret: 'whsec_not_the_secret' });
    const tampered = payload.replace('"amount_total":1000', '"amount_total":1000000');
    assert.notEqual(tampered, payload);

    for (const [body, signature] of [
      [payload, undefined],
      [payload, ''],
      [payload, 'garbage'],
      [forged.payload, forged.header],
      [tampered, header],
      ['', header],
    ] as const) {
      const response = await api.request('POST', '/api/v1/webhooks/stripe', {
        rawBody: body,
        headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
      });
      assert.equal(response.status, 400, `${String(signature)}: ${response.text}`);
      assert.equal(response.body.error.code, 'invalid_signature');
      assert.equal(typeof response.body.error.message, 'string');
    }
    assert.equal(await available(ada), 0);
    assert.equal(await creditsOf(topup.sessionId), 0);
    assert.equal(await topupStatus(ada, topup.id), 'open');
  });

  it('when the paid amount or currency does not match the top-up, then it is not credited, the top-up reads mismatched and an error is logged', async () => {
    const ada = await student();
    const cheap = await openTopup(ada, 5_000);
    const foreign = await openTopup(ada, 5_000);

    const lessPaid = await deliver('checkout.session.completed', {
      ...stripe.markPaid(cheap.sessionId),
      amount_total: 50,
    });
    const otherCurrency = await deliver('checkout.session.completed', {
      ...stripe.markPaid(foreign.sessionId),
      currency: 'eur',
    });
    // A correct delivery afterwards changes nothing: a person looks at it first.
    const again = await deliver('checkout.session.completed', stripe.session(cheap.sessionId));

    for (const response of [lessPaid, otherCurrency, again]) {
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.result, 'mismatched');
    }
    assert.equal(await available(ada), 0);
    assert.equal(await creditsOf(cheap.sessionId), 0);
    assert.equal(await creditsOf(foreign.sessionId), 0);
    assert.equal(await topupStatus(ada, cheap.id), 'mismatched');
    assert.equal(await topupStatus(ada, foreign.id), 'mismatched');
    const errors = logs.filter((l) => l.level >= 50 && /NOT credited/.test(l.msg));
    const bySession = (id: string) => errors.find((l) => l.sessionId === id);
    assert.match(bySession(cheap.sessionId)?.problems?.join() ?? '', /amount_total 50, asked 5000/);
    assert.match(bySession(foreign.sessionId)?.problems?.join() ?? '', /currency eur, asked usd/);
  });

  it('when another event arrives (a payment intent, a session expired), then 200; an expired session reads expired and is not credited', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 1_000);

    const other = await deliver('payment_intent.succeeded', { id: 'pi_123', object: 'payment_intent' });
    const expired = await deliver('checkout.session.expired', stripe.expire(topup.sessionId));

    assert.deepEqual(other.body, { received: true, result: 'ignored' });
    assert.deepEqual(expired.body, { received: true, result: 'expired' });
    assert.equal(await topupStatus(ada, topup.id), 'expired');
    assert.equal(await available(ada), 0);
  });

  it("when a paid session's webhook never came, then reconciliation credits it once, leaves an unpaid one open and marks an expired one", async () => {
    const ada = await student();
    const paid = await openTopup(ada, 4_000);
    const unpaid = await openTopup(ada, 700);
    const gone = await openTopup(ada, 800);
    stripe.markPaid(paid.sessionId);
    stripe.expire(gone.sessionId);
    const activities = topupActivities();

    const first = await activities.reconcileTopups({ olderThanMinutes: 0, limit: 1_000 });
    const second = await activities.reconcileTopups({ olderThanMinutes: 0, limit: 1_000 });
    const lateWebhook = await deliver('checkout.session.completed', stripe.session(paid.sessionId));

    assert.ok(first.credited >= 1, JSON.stringify(first));
    assert.equal(second.credited, 0, JSON.stringify(second));
    assert.equal(lateWebhook.body.result, 'already_credited');
    assert.equal(await available(ada), 4_000);
    assert.equal(await creditsOf(paid.sessionId), 1);
    assert.equal(await topupStatus(ada, paid.id), 'paid');
    assert.equal(await topupStatus(ada, unpaid.id), 'open');
    assert.equal(await topupStatus(ada, gone.id), 'expired');
  });

  it('when top-ups are younger than the reconciliation delay, then reconciliation leaves them to their webhook', async () => {
    const ada = await student();
    const topup = await openTopup(ada, 900);
    stripe.markPaid(topup.sessionId);
    const activities = topupActivities();

    await activities.reconcileTopups({});

    assert.equal(await available(ada), 0);
    assert.equal(await topupStatus(ada, topup.id), 'open');
  });

  it("when one student asks for another's top-up, then 404", async () => {
    const ada = await student();
    const bob = await student();
    const topup = await openTopup(ada, 1_000);
    const response = await api.request('GET', `/api/v1/wallet/topups/${topup.id}`, { token: bob.token });
    assert.equal(response.status, 404, response.text);
  });
});

describe('Stripe top-ups without Stripe configured', () => {
  it('when STRIPE_SECRET_KEY is unset, then a top-up is 503 topups_unavailable and a signed webhook is 400 without crediting', async () => {
    const api = await testApi();
    const stripe = await startFakeStripe();
    const ada = await register(api, 'student');

    const topup = await api.request('POST', '/api/v1/wallet/topups', {
      token: ada.token,
      body: { amount: 1_000 },
    });
    const { payload, header } = stripe.signedEvent('checkout.session.completed', {
      id: 'cs_test_unconfigured',
      object: 'checkout.session',
      payment_status: 'paid',
      amount_total: 1_000,
      currency: 'usd',
      metadata: { userId: ada.user.id, amount: '1000' },
    });
    const webhook = await api.request('POST', '/api/v1/webhooks/stripe', {
      rawBody: payload,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': header },
    });

    assert.equal(topup.status, 503, topup.text);
    assert.equal(topup.body.error.code, 'topups_unavailable');
    assert.equal(webhook.status, 400, webhook.text);
    assert.equal(webhook.body.error.code, 'stripe_not_configured');
    assert.equal((await api.request('GET', '/api/v1/wallet', { token: ada.token })).body.available, 0);
    assert.equal(stripe.requests.length, 0);
  });

  it('when the secret key is set but not the webhook secret, then a webhook is 400 without crediting', async () => {
    const stripe = await startFakeStripe();
    const api = await startTestApi({ STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_URL: stripe.url });
    const ada = await register(api, 'student');
    const created = await api.request('POST', '/api/v1/wallet/topups', {
      token: ada.token,
      body: { amount: 1_000 },
    });
    assert.equal(created.status, 201, created.text);
    const { payload, header } = stripe.signedEvent(
      'checkout.session.completed',
      stripe.markPaid(created.body.sessionId),
    );

    const webhook = await api.request('POST', '/api/v1/webhooks/stripe', {
      rawBody: payload,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': header },
    });

    assert.equal(webhook.status, 400, webhook.text);
    assert.equal(webhook.body.error.code, 'stripe_not_configured');
    assert.equal((await api.request('GET', '/api/v1/wallet', { token: ada.token })).body.available, 0);
  });
});
