// In-app notifications: newest first, unread marked, each one readable once,
// told in the person's terms with a link to where it can be acted on.
import { Fragment, useState, type ReactNode } from 'react';
import { Link } from 'wouter';
import { request } from '../api';
import { dateTime, sentence, words } from '../format';
import { useAction, usePagedList, useResource } from '../hooks';
import { useAuth, useSession } from '../session';
import type { Notification, Role } from '../types';
import { ErrorNotice, Loaded, Money, MoreButton, Notice } from '../ui';

export function NotificationsPage() {
  const { token, user } = useAuth();
  const { refreshUnread, socketConnected } = useSession();
  const list = usePagedList<Notification>('/notifications?limit=50', { live: true });
  const markRead = useAction(async (id: string) => {
    await request('POST', `/notifications/${id}/read`, { token, body: {} });
    list.reload();
    refreshUnread();
  });
  return (
    <section>
      <h1>Notifications</h1>
      <p>
        <small>
          {socketConnected
            ? 'New notifications appear here as they happen.'
            : 'Live updates are reconnecting…'}
        </small>
      </p>
      <ErrorNotice error={markRead.error} />
      <Loaded resource={list.resource} what="notifications">
        {() =>
          list.items.length === 0 ? (
            <p>Nothing yet.</p>
          ) : (
            <ul className="notifications">
              {list.items.map((n) => (
                <li key={n.id} className={n.read ? 'read' : 'unread'}>
                  <strong>{HEADLINES[n.type] ?? sentence(n.type)}</strong>{' '}
                  <small>{dateTime(n.createdAt)}</small>
                  <Details notification={n} role={user.role} />
                  {!n.read && (
                    <button
                      type="button"
                      className="secondary outline small"
                      disabled={markRead.pending}
                      onClick={() => void markRead.run(n.id)}
                    >
                      Mark read
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <MoreButton more={list.more} what="notifications" />
      <EmailPreferences />
    </section>
  );
}

interface Preferences {
  email: { bookings: boolean; money: boolean; reviews: boolean };
}

const CATEGORIES: { key: keyof Preferences['email']; label: string }[] = [
  { key: 'bookings', label: 'Bookings: confirmed, class opening' },
  { key: 'money', label: 'Money: cancellations, refunds, payments, withdrawals' },
  { key: 'reviews', label: 'Reviews: required, reminders, resolved' },
];

/** Email on or off per category (the emails' last line points here); in the app, everything is always shown. */
function EmailPreferences() {
  const { token } = useAuth();
  const stored = useResource<Preferences>('/me/notification-preferences');
  // What the switches show: the choice as made, until the server's answer replaces it.
  const [shown, setShown] = useState<Preferences['email'] | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction(async (email: Preferences['email']) => {
    setSaved(false);
    setShown(email);
    try {
      const answer = await request<Preferences>('PUT', '/me/notification-preferences', {
        token,
        body: { email },
      });
      setShown(answer.email);
      setSaved(true);
    } catch (error) {
      setShown(null); // back to what is stored
      throw error;
    }
  });
  return (
    <section aria-labelledby="email-preferences">
      <h2 id="email-preferences">Email</h2>
      <Loaded resource={stored} what="your email preferences">
        {(p) => {
          const email = shown ?? p.email;
          return (
            <fieldset>
              <legend>Send me an email for</legend>
              {CATEGORIES.map(({ key, label }) => (
                <label key={key}>
                  <input
                    type="checkbox"
                    role="switch"
                    checked={email[key]}
                    disabled={save.pending}
                    onChange={(e) => void save.run({ ...email, [key]: e.target.checked })}
                  />
                  {label}
                </label>
              ))}
            </fieldset>
          );
        }}
      </Loaded>
      <ErrorNotice error={save.error} />
      {saved && <Notice>Saved. These notifications still appear here either way.</Notice>}
    </section>
  );
}

const HEADLINES: Record<string, string> = {
  booking_confirmed: 'Booking confirmed',
  class_opening: 'The class is open',
  booking_cancelled: 'Booking cancelled',
  booking_refunded: 'Refund',
  payment_released: 'Payment released',
  review_required: 'Review required',
  review_reminder: 'Review still waiting',
  review_resolved: 'Review resolved',
  withdrawal_requested: 'Withdrawal to approve',
  withdrawal_reminder: 'Withdrawal still waiting',
  withdrawal_processing: 'Withdrawal approved',
  withdrawal_completed: 'Withdrawal paid',
  withdrawal_rejected: 'Withdrawal rejected',
  withdrawal_failed: 'Withdrawal failed',
};

/** A notification's facts in the person's terms (amounts in money, times as dates), and where to act on it. */
function Details({ notification, role }: { notification: Notification; role: Role }) {
  const p = notification.payload;
  const text = (key: string) => (typeof p[key] === 'string' ? p[key] : null);
  const amount = (key: string) => (typeof p[key] === 'number' ? p[key] : null);
  const facts: ReactNode[] = [];
  const title = text('title');
  if (title !== null) facts.push(<span key="title">“{title}”</span>);
  const startsAt = text('startsAt');
  if (startsAt !== null) facts.push(<span key="when">starts {dateTime(startsAt)}</span>);
  for (const [key, label] of [
    ['price', 'price'],
    ['amount', 'amount'],
    ['refunded', 'refunded'],
    ['teacherEarned', 'earned'],
  ] as const) {
    const value = amount(key);
    if (value !== null) {
      facts.push(
        <span key={key}>
          {label} <Money amount={value} />
        </span>,
      );
    }
  }
  const outcome = text('outcome');
  if (outcome !== null) facts.push(<span key="outcome">{words(outcome)}</span>);
  for (const key of ['reason', 'reference']) {
    const value = text(key);
    if (value !== null) facts.push(<span key={key}>{`${key}: ${value}`}</span>);
  }
  const link = actionOf(notification, role);
  return (
    <div>
      {facts.map((fact, i) => (
        <Fragment key={i}>
          {i > 0 && ' · '}
          {fact}
        </Fragment>
      ))}
      {link !== null && (
        <>
          {' '}
          <Link href={link.href}>{link.label}</Link>
        </>
      )}
    </div>
  );
}

/** The console page to act on a notification, if there is one for this person. */
function actionOf(notification: Notification, role: Role): { href: string; label: string } | null {
  const { type, payload } = notification;
  const bookingId = typeof payload.bookingId === 'string' ? payload.bookingId : null;
  if (type === 'class_opening') {
    // The teacher's is one per class, without a booking: its link is the class's page, which has the way in.
    const joinPath =
      typeof payload.joinUrl === 'string'
        ? /(\/bookings\/[\w-]+\/class|\/meetings\/[\w-]+)$/.exec(
            new URL(payload.joinUrl, location.origin).pathname,
          )
        : null;
    if (joinPath !== null) return { href: joinPath[1]!, label: 'Join the class' };
  }
  if (type.startsWith('review_') && role === 'admin') {
    return bookingId === null
      ? { href: '/reviews', label: 'Open the review queue' }
      : { href: `/reviews?booking=${bookingId}`, label: 'Open the review' };
  }
  if (type.startsWith('withdrawal_')) {
    return role === 'admin'
      ? { href: '/admin/withdrawals', label: 'Open the withdrawals' }
      : { href: '/withdrawals', label: 'See your withdrawals' };
  }
  return bookingId === null ? null : { href: `/bookings/${bookingId}`, label: 'See the booking' };
}
