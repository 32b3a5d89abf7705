import assert from 'node:assert/strict';
import type { Db } from '../../db/knex';
import { verifyPassword } from '../../users/passwords';
import { bootstrapAdmin } from '../../users/service';
import { isolatedDb, TEST_CURRENCY } from '../support/db';
import { insertUser } from '../support/fixtures';

const ADMIN = { email: 'Root@Example.com', password: 'a long admin password' };

describe('admin bootstrap', () => {
  let db: Db;
  beforeEach(async () => {
    db = await isolatedDb();
  });

  it('when no admin exists, then it creates one with the given email and password and a wallet', async () => {
    assert.equal(await bootstrapAdmin({ db, currency: TEST_CURRENCY }, ADMIN), true);
    const admin = await db('users').where({ role: 'admin' }).first();
    assert.equal(admin.email, 'root@example.com');
    assert.ok(await verifyPassword(admin.password_hash, ADMIN.password));
    assert.ok(await db('ledger_accounts').where({ user_id: admin.id, code: 'wallet' }).first());
  });

  it('when an admin exists, then it creates nothing, however often the processes start', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() => bootstrapAdmin({ db, currency: TEST_CURRENCY }, ADMIN)),
    );
    assert.deepEqual(results.sort(), [false, false, true]);
    assert.equal((await db('users').where({ role: 'admin' })).length, 1);
    assert.equal(
      await bootstrapAdmin(
        { db, currency: TEST_CURRENCY },
        { email: 'other@example.com', password: 'another long one' },
      ),
      false,
    );
  });

  it('when the email belongs to a student, then it refuses instead of promoting them', async () => {
    const studentId = await insertUser(db, 'student');
    const { email } = await db('users').where({ id: studentId }).first();
    await assert.rejects(
      bootstrapAdmin({ db, currency: TEST_CURRENCY }, { email, password: 'a long admin password' }),
      /belongs to an existing non-admin/,
    );
    assert.equal((await db('users').where({ role: 'admin' })).length, 0);
  });

  it('when no admin is configured, then nothing happens', async () => {
    assert.equal(await bootstrapAdmin({ db, currency: TEST_CURRENCY }, undefined), false);
  });
});
