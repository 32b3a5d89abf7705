// Email preferences per category (in-app notifications are always on): one
// row per user who changed them; a user without one gets every email.
import type { Conn } from '../db/knex';
import type { EmailPreferences } from './types';

const ALL_ON: EmailPreferences = { bookings: true, money: true, reviews: true };

export async function emailPreferences(conn: Conn, userId: string): Promise<EmailPreferences> {
  const row: { bookings_email: boolean; money_email: boolean; reviews_email: boolean } | undefined =
    await conn('notification_preferences')
      .where({ user_id: userId })
      .first('bookings_email', 'money_email', 'reviews_email');
  if (row === undefined) return ALL_ON;
  return { bookings: row.bookings_email, money: row.money_email, reviews: row.reviews_email };
}

/** Replaces the user's email preferences; answers them as stored. */
export async function setEmailPreferences(
  conn: Conn,
  userId: string,
  preferences: EmailPreferences,
): Promise<EmailPreferences> {
  const values = {
    bookings_email: preferences.bookings,
    money_email: preferences.money,
    reviews_email: preferences.reviews,
  };
  await conn('notification_preferences')
    .insert({ user_id: userId, ...values })
    .onConflict('user_id')
    .merge({ ...values, updated_at: conn.fn.now() });
  return emailPreferences(conn, userId);
}
