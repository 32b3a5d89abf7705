// A notification as an email to its user: the facts of its payload formatted
// for people (amounts in the currency, times in ISO-8601 and in words), the
// templates rendered, and a Message-ID derived from (user, event), so a send
// repeated after the server took the first is recognisably the same message.
import { createHash } from 'node:crypto';
import type { NotificationType } from './types';
import { render, type MessageContext } from './templates';

export interface Recipient {
  id: string;
  email: string;
  name: string;
  role: 'student' | 'teacher' | 'admin';
}

export interface EmailSettings {
  /** `MAIL_FROM`, e.g. `Class Marketplace <no-reply@example.com>`. */
  from: string;
  currency: string;
  /** Base URL of the app, for links. */
  publicUrl: string;
}

export interface OutgoingEmail {
  from: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export interface EmailFacts {
  type: NotificationType;
  eventKey: string;
  payload: Record<string, unknown>;
  recipient: Recipient;
  /** The meeting's title, when the notification is about one. */
  title: string | null;
}

/** `<hash@domain>`: the same for the same (user, event), whatever sends it and how often. */
export function messageIdOf(userId: string, eventKey: string, from: string): string {
  const hash = createHash('sha256').update(`${userId}\n${eventKey}`).digest('hex').slice(0, 40);
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${hash}@${domain}>`;
}

export function composeEmail(facts: EmailFacts, settings: EmailSettings): OutgoingEmail {
  const rendered = render(facts.type, messageContext(facts, settings));
  return {
    from: settings.from,
    to: { name: facts.recipient.name, address: facts.recipient.email },
    ...rendered,
    messageId: messageIdOf(facts.recipient.id, facts.eventKey, settings.from),
  };
}

const OUTCOME_WORDS: Record<string, string> = {
  attended: 'the class took place',
  low_attendance: 'attendance was below the threshold',
  student_no_show: 'the student did not attend',
  teacher_no_show: 'the teacher did not attend',
  cancelled_by_teacher: 'cancelled by the teacher',
  cancelled_by_admin: 'cancelled by an admin',
  cancelled_early: 'cancelled in time for a full refund',
  cancelled_late: 'cancelled late',
  admin_release: 'released by an admin',
  admin_refund: 'refunded by an admin',
  admin_partial: 'split by an admin',
  disputed: 'disputed by the student',
};

export function messageContext(facts: EmailFacts, settings: EmailSettings): MessageContext {
  const { payload, recipient } = facts;
  const money = amountFormatter(settings.currency);
  const amount = (key: string): string | null => {
    const value = payload[key];
    return typeof value === 'number' ? money(value) : null;
  };
  const text = (key: string): string | null => {
    const value = payload[key];
    return typeof value === 'string' ? value : null;
  };
  const number = (key: string): number | null => {
    const value = payload[key];
    return typeof value === 'number' ? value : null;
  };
  const bookingId = text('bookingId');
  const attendance = payload['attendance'];
  const attendedPercent =
    typeof attendance === 'object' && attendance !== null && 'percent' in attendance
      ? `${String(attendance.percent)}%`
      : null;
  const outcome = text('outcome');
  return {
    name: recipient.name,
    isStudent: recipient.role === 'student',
    isTeacher: recipient.role === 'teacher',
    title: facts.title ?? 'your class',
    bookingId,
    startsAt: text('startsAt'),
    startsAtReadable: readableTime(text('startsAt')),
    endsAt: text('endsAt'),
    endsAtReadable: readableTime(text('endsAt')),
    price: amount('price'),
    refunded: amount('refunded'),
    teacherEarned: amount('teacherEarned'),
    hasRefund: (number('refunded') ?? 0) > 0,
    hasEarnings: (number('teacherEarned') ?? 0) > 0,
    outcome: outcome === null ? null : (OUTCOME_WORDS[outcome] ?? outcome),
    joinUrl: text('joinUrl'),
    // Links open the web console's pages (which ask the person to log in first).
    // The review itself, where the email names a booking (the queue pages, longest waiting first).
    reviewsUrl: `${settings.publicUrl}/console/reviews${bookingId === null ? '' : `?booking=${bookingId}`}`,
    bookingUrl: bookingId === null ? null : `${settings.publicUrl}/console/bookings/${bookingId}`,
    reminder: number('reminder'),
    attendedPercent,
    amount: amount('amount'),
    withdrawalId: text('withdrawalId'),
    reason: text('reason'),
    reference: text('reference'),
    waitingFor: WAITING_WORDS[text('waitingFor') ?? ''] ?? null,
    withdrawalsUrl: `${settings.publicUrl}/console/withdrawals`,
    preferencesUrl: `${settings.publicUrl}/console/notifications`,
    adminWithdrawalsUrl: `${settings.publicUrl}/console/admin/withdrawals?status=${text('waitingFor') === 'payout_confirmation' ? 'processing' : 'pending'}`,
  };
}

const WAITING_WORDS: Record<string, string> = {
  decision: 'an approval or a rejection',
  payout_confirmation: 'the bank transfer to be confirmed',
};

/** One formatter per currency: building an Intl.NumberFormat costs far more than using one. */
const FORMATTERS = new Map<string, (minor: number) => string>();

/** Minor units to the currency's usual form: 1050 -> "$10.50", 500 (JPY) -> "¥500". */
export function amountFormatter(currency: string): (minor: number) => string {
  let formatter = FORMATTERS.get(currency);
  if (formatter === undefined) {
    formatter = newAmountFormatter(currency);
    FORMATTERS.set(currency, formatter);
  }
  return formatter;
}

function newAmountFormatter(currency: string): (minor: number) => string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return (minor) => format.format(minor / 10 ** digits);
}

const READABLE = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'full',
  timeStyle: 'short',
  timeZone: 'UTC',
});

/** "Tuesday 8 December 2026 at 10:00 UTC" (what people read beside the ISO-8601 form). */
export function readableTime(iso: string | null): string | null {
  if (iso === null) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : `${READABLE.format(date)} UTC`;
}
