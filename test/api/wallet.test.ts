import assert from 'node:assert/strict';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import { MAX_CSV_LINES } from '../../api/routes/wallet';
import { systemAccountId } from '../../ledger/accounts';
import { applyChains } from '../../ledger/transfers';
import type { NewTransfer } from '../../ledger/types';
import { walletAccountId } from '../../wallet/wallet-account';
import { dataKeyId } from '../../withdrawals/bank-details';
import {
  appOn,
  createAdmin,
  depositTo,
  register,
  startTestApi,
  TEST_DATA_KEY,
  TEST_JWT_SECRET,
  testApi,
  type TestApi,
} from '../support/api';
import { isolatedDb } from '../support/db';

describe('wallet API', () => {
  let api: TestApi;
  before(async () => {
    api = await testApi();
  });

  it('when a new student looks at their wallet, then it is empty in the configured currency', async () => {
    const student = await register(api, 'student');
    const wallet = await api.request('GET', '/api/v1/wallet', { token: student.token });
    assert.equal(wallet.status, 200);
    assert.deepEqual(wallet.body, { currency: 'usd', available: 0, held: 0, total: 0 });
  });

  it('when a student deposits, then the wallet and the statement show it with balances before and after', async () => {
    const student = await register(api, 'student');
    const first = await api.request('POST', '/api/v1/wallet/deposit', {
      token: student.token,
      body: { amount: 1500 },
    });
    assert.equal(first.status, 201);
    assert.deepEqual(first.body.wallet, { currency: 'usd', available: 1500, held: 0, total: 1500 });
    assert.equal(first.body.transaction.type, 'deposit');
    assert.equal(first.body.transaction.status, 'completed');
    await depositTo(api, student, 250);

    const statement = await api.request('GET', '/api/v1/wallet/transactions', { token: student.token });
    assert.equal(statement.status, 200);
    assert.deepEqual(
      statement.body.data.map((l: any) => [l.type, l.amount, l.balanceBefore, l.balanceAfter, l.status]),
      [
        ['deposit', 250, 1500, 1750, 'completed'],
        ['deposit', 1500, 0, 1500, 'completed'],
      ],
    );
    assert.equal(statement.body.nextCursor, null);
    assert.equal(statement.body.data[0].reference, null);
    assert.ok(!Number.isNaN(Date.parse(statement.body.data[0].createdAt)));
  });

  it('when the statement is longer than a page, then the cursor walks it newest first without repeats', async () => {
    const student = await register(api, 'student');
    for (let i = 1; i <= 7; i++) await depositTo(api, student, i);

    const seen: number[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${cursor}`;
      const page = await api.request('GET', `/api/v1/wallet/transactions${query}`, { token: student.token });
      assert.equal(page.status, 200);
      seen.push(...page.body.data.map((l: any) => l.amount));
      cursor = page.body.nextCursor;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, [7, 6, 5, 4, 3, 2, 1]);
  });

  it('when the statement is filtered by type, status and period, then only matching lines come back', async () => {
    const student = await register(api, 'student');
    await depositTo(api, student, 10);
    const later = new Date(Date.now() + 60_000).toISOString();

    const byType = await api.request('GET', '/api/v1/wallet/transactions?type=purchase', {
      token: student.token,
    });
    assert.deepEqual(byType.body.data, []);
    const byStatus = await api.request('GET', '/api/v1/wallet/transactions?status=completed', {
      token: student.token,
    });
    assert.equal(byStatus.body.data.length, 1);
    const future = await api.request('GET', `/api/v1/wallet/transactions?from=${encodeURIComponent(later)}`, {
      token: student.token,
    });
    assert.deepEqual(future.body.data, []);
  });

  it('when a period’s bounds are given to the microsecond, then a line one microsecond inside them is in it and one at its end is not', async () => {
    const student = await register(api, 'student');
    await depositTo(api, student, 10);
    const statement = await api.request('GET', '/api/v1/wallet/transactions', { token: student.token });
    const [line] = await api
      .db('transactions')
      .where({ id: statement.body.data[0].id })
      .select(
        api.db.raw(`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at`),
        api.db.raw(
          `to_char((created_at + interval '1 microsecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as just_after`,
        ),
      );
    const amounts = async (from: string, to: string) => {
      const response = await api.request(
        'GET',
        `/api/v1/wallet/transactions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
        { token: student.token },
      );
      assert.equal(response.status, 200, response.text);
      return response.body.data.map((l: { amount: number }) => l.amount);
    };
    assert.deepEqual(await amounts(line.at, line.just_after), [10]);
    assert.deepEqual(await amounts('2000-01-01T00:00:00Z', line.at), []);
    // Between two microseconds: from a tenth after the line leaves it out, to a tenth after takes it in.
    const tenthAfter = line.at.replace('Z', '1Z');
    assert.deepEqual(await amounts(tenthAfter, '9999-01-01T00:00:00Z'), []);
    assert.deepEqual(await amounts('2000-01-01T00:00:00Z', tenthAfter), [10]);
    // Any time the schema takes is a time PostgreSQL is asked about: the year 0, an offset of almost a day.
    assert.deepEqual(await amounts('0000-01-01T00:00:00Z', line.just_after), [10]);
    assert.deepEqual(await amounts('2000-01-01T00:00:00+23:59', '9999-12-31T23:59:59.999999-23:59'), [10]);
  });

  it('when a listing is asked for a period whose from is not before its to, then 400 names from, and a real period answers 200', async () => {
    const student = await register(api, 'student');
    const teacher = await register(api, 'teacher');
    const earlier = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 120_000).toISOString();
    const listings: Array<[string, typeof student]> = [
      ['/api/v1/wallet/transactions', student],
      ['/api/v1/wallet/transactions?format=csv&', student],
      [`/api/v1/teachers/${teacher.user.id}/slots`, student],
      ['/api/v1/teachers/me/meetings', teacher],
    ];
    for (const [path, who] of listings) {
      const base = path.includes('?') ? path : `${path}?`;
      for (const [from, to] of [
        [later, earlier],
        [earlier, earlier],
      ]) {
        const refused = await api.request(
          'GET',
          `${base}from=${encodeURIComponent(from!)}&to=${encodeURIComponent(to!)}`,
          { token: who.token },
        );
        assert.equal(refused.status, 400, `${path}: ${refused.text}`);
        assert.equal(refused.body.error.code, 'validation_error');
        assert.deepEqual(refused.body.error.details, [{ path: 'query.from', message: 'must be before to' }]);
      }
      const period = await api.request(
        'GET',
        `${base}from=${encodeURIComponent(earlier)}&to=${encodeURIComponent(later)}`,
        { token: who.token },
      );
      assert.equal(period.status, 200, `${path}: ${period.text}`);
    }
    // PostgreSQL keeps microseconds: one apart is a period, though a Date would call them equal.
    const tight = await api.request(
      'GET',
      '/api/v1/wallet/transactions?from=2026-12-07T15:00:00.123456Z&to=2026-12-07T15:00:00.123457Z',
      { token: student.token },
    );
    assert.equal(tight.status, 200, tight.text);
  });

  it('when limit is out of range or not a whole number, then 400 says the same thing every time', async () => {
    const student = await register(api, 'student');
    for (const limit of ['0', '101', '1000', 'abc', '-1', '1.5']) {
      const response = await api.request('GET', `/api/v1/wallet/transactions?limit=${limit}`, {
        token: student.token,
      });
      assert.equal(response.status, 400, `${limit}: ${response.text}`);
      assert.deepEqual(response.body.error.details, [
        { path: 'query.limit', message: 'a whole number from 1 to 100' },
      ]);
    }
  });

  it('when the statement is asked for as CSV, then every line downloads as a CSV attachment', async () => {
    const student = await register(api, 'student');
    await depositTo(api, student, 42);
    await depositTo(api, student, 8);

    for (const options of [
      { path: '?format=csv', headers: {} },
      { path: '', headers: { Accept: 'text/csv' } },
    ]) {
      const csv = await api.request('GET', `/api/v1/wallet/transactions${options.path}`, {
        token: student.token,
        headers: options.headers,
      });
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(csv.headers.get('content-disposition') ?? '', /attachment/);
      const rows = csv.text.trim().split('\r\n');
      assert.equal(
        rows[0],
        'id,type,amount,balanceBefore,balanceAfter,status,referenceType,referenceId,description,createdAt',
      );
      assert.deepEqual(
        rows.slice(1).map((r) => r.split(',').slice(1, 6)),
        [
          ['deposit', '8', '42', '50', 'completed'],
          ['deposit', '42', '0', '42', 'completed'],
        ],
      );
    }
  });

  it('when more lines match than one CSV download holds, then 400 names the limit and how to narrow it; at the limit every line downloads', async () => {
    // Its own database: 50,000 transfers would slow every later audit of the shared one.
    const own = await appOn(await isolatedDb(), api);
    const student = await register(own, 'student');
    const account = walletAccountId({ id: student.user.id, role: 'student' });
    const credit = async (count: number) => {
      const transfers: NewTransfer[] = Array.from({ length: count }, () => ({
        id: randomUUID(),
        kind: 'posted',
        debitAccountId: systemAccountId('external', own.settings.CURRENCY),
        creditAccountId: account,
        amount: 1,
        code: 'deposit',
      }));
      // Chains of 64 (the most a chain holds), 16 to a transaction (each id takes an advisory lock).
      for (let at = 0; at < count; at += 16 * 64) {
        const chains: NewTransfer[][] = [];
        for (let c = at; c < Math.min(count, at + 16 * 64); c += 64) {
          chains.push(transfers.slice(c, Math.min(count, c + 64)));
        }
        const results = await applyChains(own.db, chains);
        assert.ok(results.every((r) => r.status === 'created'));
      }
    };
    const csv = () => own.request('GET', '/api/v1/wallet/transactions?format=csv', { token: student.token });

    await credit(MAX_CSV_LINES);
    const all = await csv();
    assert.equal(all.status, 200);
    const rows = all.text.trim().split('\r\n');
    assert.equal(rows.length, 1 + MAX_CSV_LINES);
    assert.equal(rows[rows.length - 1]!.split(',')[3], '0', 'the oldest line is there');

    await credit(1);
    const refused = await csv();
    assert.equal(refused.status, 400, refused.text.slice(0, 200));
    assert.equal(refused.body.error.code, 'validation_error');
    assert.match(refused.body.error.message, new RegExp(`more than ${MAX_CSV_LINES} lines.*from and to`));
    // A narrower period fits again.
    const later = new Date(Date.now() + 60_000).toISOString();
    const narrowed = await own.request('GET', `/api/v1/wallet/transactions?format=csv&from=${later}`, {
      token: student.token,
    });
    assert.equal(narrowed.status, 200);
    await own.close();
  });

  it('when an admin deposits into a teacher’s wallet, then the teacher’s earnings show it', async () => {
    const admin = await createAdmin(api);
    const teacher = await register(api, 'teacher');
    const response = await api.request('POST', '/api/v1/wallet/deposit', {
      token: admin.token,
      body: { amount: 700, userId: teacher.user.id },
    });
    assert.equal(response.status, 201);
    const wallet = await api.request('GET', '/api/v1/wallet', { token: teacher.token });
    assert.equal(wallet.body.available, 700);
  });

  it('when a student deposits into someone else’s wallet, then 403 and nothing moves; into an unknown user, then 404', async () => {
    const student = await register(api, 'student');
    const other = await register(api, 'student');
    const forbidden = await api.request('POST', '/api/v1/wallet/deposit', {
      token: student.token,
      body: { amount: 5, userId: other.user.id },
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error.code, 'forbidden');
    assert.equal((await api.request('GET', '/api/v1/wallet', { token: other.token })).body.available, 0);

    const admin = await createAdmin(api);
    const missing = await api.request('POST', '/api/v1/wallet/deposit', {
      token: admin.token,
      body: { amount: 5, userId: randomUUID() },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });

  it('when test deposits are disabled, then the deposit route answers 404', async () => {
    const production = await startTestApi({ ENABLE_TEST_DEPOSITS: 'false' });
    const student = await register(production, 'student');
    const response = await production.request('POST', '/api/v1/wallet/deposit', {
      token: student.token,
      body: { amount: 5 },
    });
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'not_found');
    await production.close();
  });

  describe('Idempotency-Key', () => {
    it('when a deposit is repeated with the same key and body, then the first answer comes back and money moves once', async () => {
      const student = await register(api, 'student');
      const send = () =>
        api.request('POST', '/api/v1/wallet/deposit', {
          token: student.token,
          body: { amount: 300 },
          headers: { 'Idempotency-Key': 'deposit-1' },
        });
      const first = await send();
      const second = await send();
      assert.equal(first.status, 201);
      assert.equal(second.status, 201);
      assert.deepEqual(second.body, first.body);
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.equal(
        (await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available,
        300,
      );
    });

    it('when a deposit is replayed, then the answer is byte for byte the first one, keys in their order', async () => {
      const student = await register(api, 'student');
      const send = () =>
        api.request('POST', '/api/v1/wallet/deposit', {
          token: student.token,
          body: { amount: 250 },
          headers: { 'Idempotency-Key': 'bytes-1' },
        });
      const first = await send();
      const replay = await send();
      assert.equal(first.status, 201);
      assert.equal(replay.status, 201);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      // The first answer lists `transaction` before `wallet` (jsonb would put the shorter key first).
      assert.deepEqual(Object.keys(first.body), ['transaction', 'wallet']);
      assert.equal(replay.text, first.text);
      assert.equal(replay.headers.get('content-type'), first.headers.get('content-type'));
      assert.equal(replay.headers.get('content-length'), first.headers.get('content-length'));
    });

    it('when the same key comes with another body, then 422 and nothing moves', async () => {
      const student = await register(api, 'student');
      const headers = { 'Idempotency-Key': 'k-422' };
      await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 1 },
        headers,
      });
      const reused = await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 2 },
        headers,
      });
      assert.equal(reused.status, 422);
      assert.equal(reused.body.error.code, 'idempotency_key_reused');
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available, 1);
    });

    it('when two users use the same key, then each gets their own deposit', async () => {
      const a = await register(api, 'student');
      const b = await register(api, 'student');
      for (const s of [a, b]) {
        const response = await api.request('POST', '/api/v1/wallet/deposit', {
          token: s.token,
          body: { amount: 9 },
          headers: { 'Idempotency-Key': 'shared-key' },
        });
        assert.equal(response.status, 201);
      }
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: b.token })).body.available, 9);
    });

    it('when a refused request used a key, then the key is free for a corrected request', async () => {
      const student = await register(api, 'student');
      const other = await register(api, 'student');
      const headers = { 'Idempotency-Key': 'fix-and-retry' };
      const refused = await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 5, userId: other.user.id },
        headers,
      });
      assert.equal(refused.status, 403);
      const corrected = await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 5 },
        headers,
      });
      assert.equal(corrected.status, 201);
    });

    it('when the request holding a key died and its lease lapsed, then a retry takes the key over and money still moves once', async () => {
      const student = await register(api, 'student');
      const headers = { 'Idempotency-Key': 'died-midway' };
      const send = () =>
        api.request('POST', '/api/v1/wallet/deposit', {
          token: student.token,
          body: { amount: 60 },
          headers,
        });
      assert.equal((await send()).status, 201);
      // Make it look as if that request had died after moving the money, before keeping its answer.
      await api
        .db('idempotency_keys')
        .where({ user_id: student.user.id, key: 'died-midway' })
        .update({
          state: 'in_progress',
          status_code: null,
          response_body: null,
          lease_until: api.db.raw("now() - interval '1 second'"),
        });

      const retried = await send();
      assert.equal(retried.status, 201);
      assert.equal(retried.headers.get('idempotent-replayed'), null);
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available, 60);
      assert.equal((await send()).headers.get('idempotent-replayed'), 'true');
    });

    it('when a key moved money but lost its record, and comes back with another amount, then 422 and nothing more moves', async () => {
      const student = await register(api, 'student');
      const headers = { 'Idempotency-Key': 'lost-record' };
      await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 11 },
        headers,
      });
      await api.db('idempotency_keys').where({ user_id: student.user.id, key: 'lost-record' }).delete();

      const other = await api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 12 },
        headers,
      });
      assert.equal(other.status, 422);
      assert.equal(other.body.error.code, 'idempotency_key_reused');
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available, 11);
    });

    it('when the same request comes to another spelling of the path, then it is the same request and replays', async () => {
      const student = await register(api, 'student');
      const send = (path: string) =>
        api.request('POST', path, {
          token: student.token,
          body: { amount: 7 },
          headers: { 'Idempotency-Key': 'spelling' },
        });
      const first = await send('/api/v1/wallet/deposit');
      for (const path of ['/api/v1/wallet/deposit/', '/API/V1/WALLET/DEPOSIT']) {
        const again = await send(path);
        assert.equal(again.status, 201, path);
        assert.deepEqual(again.body, first.body);
      }
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available, 7);
    });

    it('when 20 identical requests race with one key, then money moves once and every success is the same answer', async () => {
      const student = await register(api, 'student');
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          api.request('POST', '/api/v1/wallet/deposit', {
            token: student.token,
            body: { amount: 40 },
            headers: { 'Idempotency-Key': 'race' },
          }),
        ),
      );
      const successes = responses.filter((r) => r.status === 201);
      const inProgress = responses.filter((r) => r.status === 409);
      assert.equal(successes.length + inProgress.length, 20);
      assert.ok(successes.length >= 1);
      for (const r of successes) assert.deepEqual(r.body, successes[0]!.body);
      for (const r of inProgress) assert.equal(r.body.error.code, 'request_in_progress');
      assert.equal((await api.request('GET', '/api/v1/wallet', { token: student.token })).body.available, 40);
      const report = await auditLedger(api.db);
      assert.ok(report.ok, formatAuditReport(report));
    });

    describe('across a rotation of the secrets', () => {
      const body = { amount: 35 };
      const deposit = (on: TestApi, token: string, key: string) =>
        on.request('POST', '/api/v1/wallet/deposit', { token, body, headers: { 'Idempotency-Key': key } });
      /** The same student, logged in on another API (its tokens are signed with its own JWT_SECRET). */
      const logIn = async (on: TestApi, email: string): Promise<string> => {
        const response = await on.request<{ token: string }>('POST', '/api/v1/auth/login', {
          body: { email, password: 'correct horse battery' },
        });
        assert.equal(response.status, 200, response.text);
        return response.body.token;
      };
      const available = async (token: string) =>
        (await api.request('GET', '/api/v1/wallet', { token })).body.available;

      it('when JWT_SECRET is rotated between a deposit and its retry, then the retry gets the first answer and money moves once', async () => {
        const student = await register(api, 'student');
        const key = `rotate-jwt-${randomUUID()}`;
        const first = await deposit(api, student.token, key);
        assert.equal(first.status, 201, first.text);

        const rotated = await startTestApi({ JWT_SECRET: 'another-secret-after-the-rotation-0123456789' });
        const retry = await deposit(rotated, await logIn(rotated, student.user.email), key);
        await rotated.close();
        assert.equal(retry.status, 201, retry.text);
        assert.equal(retry.headers.get('idempotent-replayed'), 'true');
        assert.equal(retry.text, first.text);
        assert.equal(await available(student.token), 35);
      });

      it('when the data key is rotated with the old one kept, then a retry gets the first answer; with the old one dropped, it is 422 and nothing moves', async () => {
        const student = await register(api, 'student');
        const key = `rotate-data-key-${randomUUID()}`;
        const first = await deposit(api, student.token, key);
        assert.equal(first.status, 201, first.text);
        const newKey = Buffer.alloc(32, 9).toString('base64');

        const rotated = await startTestApi({ DATA_ENCRYPTION_KEY: `${newKey},${TEST_DATA_KEY}` });
        const retry = await deposit(rotated, student.token, key);
        const otherBody = await rotated.request('POST', '/api/v1/wallet/deposit', {
          token: student.token,
          body: { amount: 36 },
          headers: { 'Idempotency-Key': key },
        });
        const newKeyed = `rotate-data-key-new-${randomUUID()}`;
        assert.equal((await deposit(rotated, student.token, newKeyed)).status, 201);
        await rotated.close();
        assert.equal(retry.status, 201, retry.text);
        assert.equal(retry.headers.get('idempotent-replayed'), 'true');
        assert.equal(retry.text, first.text);
        assert.equal(otherBody.status, 422, otherBody.text);
        // A key taken after the rotation is remembered under the new data key.
        const remembered = await api
          .db('idempotency_keys')
          .where({ user_id: student.user.id, key: newKeyed })
          .first();
        assert.ok(
          remembered.request_hash.startsWith(`hmac:${dataKeyId(Buffer.from(newKey, 'base64'))}:`),
          remembered.request_hash,
        );

        const dropped = await startTestApi({ DATA_ENCRYPTION_KEY: newKey });
        const unrecognised = await deposit(dropped, student.token, key);
        await dropped.close();
        assert.equal(unrecognised.status, 422, unrecognised.text);
        assert.equal(unrecognised.body.error.code, 'idempotency_key_reused');
        assert.equal(await available(student.token), 70);
      });

      // The canonical request as the earlier versions hashed it.
      const request = `{"body":{"amount":35},"params":{},"route":"POST /api/v1/wallet/deposit"}`;
      const formerMacKey = createHmac('sha256', TEST_JWT_SECRET).update('idempotency request hash').digest();
      const formerHashes = {
        'keyed hashes with JWT_SECRET': `hmac:${createHmac('sha256', formerMacKey).update(request).digest('hex')}`,
        'stored plain hashes': createHash('sha256').update(request).digest('hex'),
      };
      for (const [version, formerHash] of Object.entries(formerHashes)) {
        it(`when a key was remembered by the version that ${version}, then its retry is still recognised, and another body is 422`, async () => {
          const student = await register(api, 'student');
          const key = `former-hash-${randomUUID()}`;
          const first = await deposit(api, student.token, key);
          assert.equal(first.status, 201, first.text);
          await api
            .db('idempotency_keys')
            .where({ user_id: student.user.id, key })
            .update({ request_hash: formerHash });

          const retry = await deposit(api, student.token, key);
          assert.equal(retry.status, 201, retry.text);
          assert.equal(retry.headers.get('idempotent-replayed'), 'true');
          const other = await api.request('POST', '/api/v1/wallet/deposit', {
            token: student.token,
            body: { amount: 36 },
            headers: { 'Idempotency-Key': key },
          });
          assert.equal(other.status, 422, other.text);
          assert.equal(await available(student.token), 35);
        });
      }
    });
  });
});
