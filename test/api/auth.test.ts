import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { register, startTestApi, testApi, type ApiResponse, type TestApi } from '../support/api';

function assertOneCreated(responses: ApiResponse[]): void {
  const statuses = responses.map((r) => r.status).sort();
  assert.deepEqual(
    statuses,
    responses.map((_, i) => (i === 0 ? 201 : 409)),
    responses.map((r) => r.text).join('\n'),
  );
  for (const r of responses.filter((r) => r.status === 409)) assert.equal(r.body.error.code, 'email_taken');
}

/** Polls a condition of the database (no fixed sleep): for states that other requests reach. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('auth API', () => {
  let api: TestApi;
  before(async () => {
    api = await testApi();
  });

  it('when a teacher registers, then they get a token and a referral code, and /me shows them', async () => {
    const teacher = await register(api, 'teacher');
    assert.match(teacher.user.referralCode ?? '', /^[A-Z2-9]{8}$/);
    assert.equal(teacher.user.role, 'teacher');

    const me = await api.request('GET', '/api/v1/me', { token: teacher.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, teacher.user.id);
    assert.equal(me.body.passwordHash, undefined);
  });

  it('when a student registers with a teacher’s referral code, then /me names that teacher', async () => {
    const teacher = await register(api, 'teacher');
    const student = await register(api, 'student', {
      referralCode: teacher.user.referralCode!.toLowerCase(),
    });

    const me = await api.request('GET', '/api/v1/me', { token: student.token });
    assert.equal(me.body.referredByTeacherId, teacher.user.id);
    assert.equal(me.body.referralCode, null);
  });

  it('when a referral code is unknown, or given by a teacher, then registration is refused and nothing is created', async () => {
    const email = `nobody-${randomUUID()}@test.example`;
    const unknown = await api.request('POST', '/api/v1/auth/register', {
      body: { email, password: 'long enough pw', name: 'X', role: 'student', referralCode: 'NOSUCHCD' },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'validation_error');
    assert.equal(unknown.body.error.details[0].path, 'body.referralCode');

    const teacher = await register(api, 'teacher');
    const byTeacher = await api.request('POST', '/api/v1/auth/register', {
      body: {
        email,
        password: 'long enough pw',
        name: 'X',
        role: 'teacher',
        referralCode: teacher.user.referralCode,
      },
    });
    assert.equal(byTeacher.status, 400);
    assert.equal(await api.db('users').where({ email }).first(), undefined);
  });

  it('when an email is registered twice (in any case), then the second gets 409 email_taken', async () => {
    const email = `twice-${randomUUID()}@test.example`;
    await register(api, 'student', { email });
    const again = await api.request('POST', '/api/v1/auth/register', {
      body: { email: email.toUpperCase(), password: 'long enough pw', name: 'X', role: 'student' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'email_taken');
  });

  it('when ten registrations of one email race, then exactly one account is created and the others get 409', async () => {
    const email = `race-${randomUUID()}@test.example`;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.request('POST', '/api/v1/auth/register', {
          body: {
            email: i % 2 === 0 ? email : email.toUpperCase(),
            password: 'long enough pw',
            name: 'X',
            role: 'student',
          },
        }),
      ),
    );
    assertOneCreated(responses);
    assert.equal((await api.db('users').where({ email })).length, 1);
  });

  it('when registrations of one email all pass the email check before any commits, then the unique index answers 409 to all but one', async () => {
    // Password hashing spaces racers out, so the check before the insert usually
    // decides; here every racer is held at its insert (a SHARE lock lets them read
    // but not write users) until all have checked, so the unique index must decide.
    const email = `race-${randomUUID()}@test.example`;
    const racers = 6;
    const gate = await api.db.transaction();
    let responses: ApiResponse[];
    try {
      await gate.raw('lock table users in share mode');
      const pending = Promise.all(
        Array.from({ length: racers }, () =>
          api.request('POST', '/api/v1/auth/register', {
            body: { email, password: 'long enough pw', name: 'X', role: 'student' },
          }),
        ),
      );
      await waitUntil(async () => {
        const { rows } = await api.db.raw<{ rows: { n: string }[] }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query ilike 'insert into "users"%'`,
        );
        return Number(rows[0]!.n) === racers;
      });
      await gate.commit();
      responses = await pending;
    } finally {
      if (!gate.isCompleted()) await gate.rollback();
    }
    assertOneCreated(responses);
    assert.equal((await api.db('users').where({ email })).length, 1);
  });

  it('when someone tries to register as an admin, then it is refused', async () => {
    const response = await api.request('POST', '/api/v1/auth/register', {
      body: { email: `a-${randomUUID()}@test.example`, password: 'long enough pw', name: 'X', role: 'admin' },
    });
    assert.equal(response.status, 400);
  });

  it('when the password is right, then login answers a working token; when wrong or the email unknown, then 401', async () => {
    const student = await register(api, 'student');
    const ok = await api.request('POST', '/api/v1/auth/login', {
      body: { email: student.user.email, password: 'correct horse battery' },
    });
    assert.equal(ok.status, 200);
    assert.equal((await api.request('GET', '/api/v1/me', { token: ok.body.token })).status, 200);

    const wrong = await api.request('POST', '/api/v1/auth/login', {
      body: { email: student.user.email, password: 'wrong password' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'unauthorized');
    const unknown = await api.request('POST', '/api/v1/auth/login', {
      body: { email: `x-${randomUUID()}@test.example`, password: 'whatever pw' },
    });
    assert.equal(unknown.status, 401);
  });

  it('when the token is missing, malformed, forged or expired, then 401 in the error shape', async () => {
    const student = await register(api, 'student');
    const key = new TextEncoder().encode(api.settings.JWT_SECRET);
    const expired = await new SignJWT({ role: 'student' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(student.user.id)
      .setIssuer('class-marketplace')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(student.user.id)
      .setIssuer('class-marketplace')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const unknownUser = await api.tokens.sign({ userId: randomUUID(), role: 'student' });

    for (const headers of [
      {},
      { Authorization: 'Basic abc' },
      { Authorization: 'Bearer not-a-jwt' },
      { Authorization: `Bearer ${expired}` },
      { Authorization: `Bearer ${forged}` },
      { Authorization: `Bearer ${unknownUser}` },
    ]) {
      const response = await api.request('GET', '/api/v1/me', { headers });
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(response.body.error.code, 'unauthorized');
      assert.equal(typeof response.body.error.message, 'string');
    }
  });

  it('when a correctly signed token names no UUID or has no expiry, then 401 (never 500)', async () => {
    const student = await register(api, 'student');
    const key = new TextEncoder().encode(api.settings.JWT_SECRET);
    const signed = (sub: string | undefined, expires: boolean) => {
      const jwt = new SignJWT({ role: 'student' }).setProtectedHeader({ alg: 'HS256' });
      if (sub !== undefined) jwt.setSubject(sub);
      jwt.setIssuer('class-marketplace').setIssuedAt();
      if (expires) jwt.setExpirationTime('1h');
      return jwt.sign(key);
    };
    for (const token of [
      await signed('not-a-uuid', true),
      await signed("' or 1=1 --", true),
      await signed(undefined, true),
      await signed(student.user.id, false),
    ]) {
      const response = await api.request('GET', '/api/v1/me', { token });
      assert.equal(response.status, 401, response.text);
      assert.equal(response.body.error.code, 'unauthorized');
    }
    // The same user with an expiry is fine: the refusals above are about the claims.
    assert.equal(
      (await api.request('GET', '/api/v1/me', { token: await signed(student.user.id, true) })).status,
      200,
    );
  });

  it('when the auth scheme is written in another case, then the token still works', async () => {
    const student = await register(api, 'student');
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const response = await api.request('GET', '/api/v1/me', {
        headers: { Authorization: `${scheme} ${student.token}` },
      });
      assert.equal(response.status, 200, `${scheme}: ${response.text}`);
      assert.equal(response.body.id, student.user.id);
    }
  });

  it('when a client hammers the auth endpoints, then it is rate limited with 429', async () => {
    const limited = await startTestApi({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await limited.request('POST', '/api/v1/auth/login', {
        body: { email: 'nobody@test.example', password: 'whatever pw' },
      });
      statuses.push(response.status);
      if (response.status === 429) assert.equal(response.body.error.code, 'rate_limited');
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    await limited.close();
  });
});
