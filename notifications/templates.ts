// What each notification says by email: a subject, a plain-text body and an
// HTML body, as Handlebars templates. The HTML templates escape every value by
// default ({{value}}); the subject and the plain text are not HTML, so they are
// compiled without escaping and carry values as written.
import Handlebars from 'handlebars';
import type { NotificationType } from './types';

/** The values a template may use (see `messageContext` in email.ts). */
export interface MessageContext {
  name: string;
  isStudent: boolean;
  isTeacher: boolean;
  title: string;
  bookingId: string | null;
  startsAt: string | null;
  startsAtReadable: string | null;
  endsAt: string | null;
  endsAtReadable: string | null;
  price: string | null;
  refunded: string | null;
  teacherEarned: string | null;
  hasRefund: boolean;
  hasEarnings: boolean;
  outcome: string | null;
  joinUrl: string | null;
  reviewsUrl: string;
  bookingUrl: string | null;
  reminder: number | null;
  attendedPercent: string | null;
  /** A withdrawal's amount, its id, why it was rejected or failed, the payout's reference. */
  amount: string | null;
  withdrawalId: string | null;
  reason: string | null;
  reference: string | null;
  /** What a withdrawal waits for, in words (reminders). */
  waitingFor: string | null;
  withdrawalsUrl: string;
  adminWithdrawalsUrl: string;
  /** Where email is turned off per category (the console's notifications page). */
  preferencesUrl: string;
}

interface Source {
  subject: string;
  /** Paragraphs, shared by both bodies: one Handlebars template each. */
  paragraphs: string[];
  /** A button under the text: its label and the context key holding its URL. */
  action?: { label: string; url: keyof MessageContext };
}

const WHEN = 'Starts {{startsAtReadable}} ({{startsAt}}), ends {{endsAtReadable}} ({{endsAt}}).';

const SOURCES: Record<NotificationType, Source> = {
  booking_confirmed: {
    subject: '{{#if isStudent}}Booking confirmed{{else}}New booking{{/if}}: {{title}}',
    paragraphs: [
      '{{#if isStudent}}Your booking for “{{title}}” is confirmed. {{price}} is held from your credits until the class is over.{{else}}A student booked “{{title}}” ({{price}}).{{/if}}',
      WHEN,
    ],
    action: { label: 'See the booking', url: 'bookingUrl' },
  },
  class_opening: {
    subject: '“{{title}}” is open: join now',
    paragraphs: ['“{{title}}” is open. Join with the link below.', WHEN],
    action: { label: 'Join the class', url: 'joinUrl' },
  },
  booking_cancelled: {
    subject: 'Booking cancelled: {{title}}',
    paragraphs: [
      'The booking for “{{title}}” was cancelled.',
      WHEN,
      '{{#if isStudent}}{{#if hasRefund}}{{refunded}} is back in your credits.{{else}}Under the cancellation policy nothing is refunded.{{/if}}{{else}}{{#if hasEarnings}}You receive {{teacherEarned}} under the cancellation policy.{{else}}The student’s payment was refunded.{{/if}}{{/if}}',
    ],
    action: { label: 'See the booking', url: 'bookingUrl' },
  },
  booking_refunded: {
    subject: 'Refund: {{refunded}} for {{title}}',
    paragraphs: [
      '{{refunded}} of the {{price}} you paid for “{{title}}” is back in your credits ({{outcome}}).',
      WHEN,
    ],
    action: { label: 'See the booking', url: 'bookingUrl' },
  },
  payment_released: {
    subject: 'Payment released: {{teacherEarned}} for {{title}}',
    paragraphs: [
      '{{teacherEarned}} for “{{title}}” is now in your earnings ({{outcome}}).',
      '{{#if hasRefund}}The student was refunded {{refunded}}.{{/if}}',
      WHEN,
    ],
    action: { label: 'See the booking', url: 'bookingUrl' },
  },
  review_required: {
    subject: 'Review required: {{title}} ({{outcome}})',
    paragraphs: [
      'The booking {{bookingId}} for “{{title}}” needs a decision: {{outcome}}. The student attended {{attendedPercent}} of the class. Its {{price}} stays held until an admin resolves the review.',
      WHEN,
    ],
    action: { label: 'Open the review', url: 'reviewsUrl' },
  },
  review_reminder: {
    subject: 'Reminder {{reminder}}: review waiting for {{title}}',
    paragraphs: [
      'The booking {{bookingId}} for “{{title}}” still waits for a review ({{outcome}}); its {{price}} stays held until then.',
    ],
    action: { label: 'Open the review', url: 'reviewsUrl' },
  },
  review_resolved: {
    subject: 'Review resolved: {{title}}',
    paragraphs: [
      'The review of “{{title}}” is resolved: {{outcome}}.',
      '{{#if isStudent}}{{#if hasRefund}}{{refunded}} is back in your credits.{{else}}Nothing is refunded.{{/if}}{{else}}{{#if hasEarnings}}{{teacherEarned}} is now in your earnings.{{else}}Nothing is paid out for this class.{{/if}}{{/if}}',
    ],
    action: { label: 'See the booking', url: 'bookingUrl' },
  },
  withdrawal_requested: {
    subject: 'Withdrawal to approve: {{amount}}',
    paragraphs: [
      'A teacher asked to withdraw {{amount}} (withdrawal {{withdrawalId}}). The amount is held from their earnings until an admin approves or rejects it.',
    ],
    action: { label: 'Open the withdrawals', url: 'adminWithdrawalsUrl' },
  },
  withdrawal_reminder: {
    subject: 'Reminder: withdrawal of {{amount}} waits for {{waitingFor}}',
    paragraphs: ['The withdrawal {{withdrawalId}} of {{amount}} still waits for {{waitingFor}}.'],
    action: { label: 'Open the withdrawals', url: 'adminWithdrawalsUrl' },
  },
  withdrawal_processing: {
    subject: 'Withdrawal approved: {{amount}} is on its way',
    paragraphs: ['Your withdrawal of {{amount}} was approved and is being paid out.'],
    action: { label: 'See your withdrawals', url: 'withdrawalsUrl' },
  },
  withdrawal_completed: {
    subject: 'Withdrawal paid: {{amount}}',
    paragraphs: ['Your withdrawal of {{amount}} was paid out (reference {{reference}}).'],
    action: { label: 'See your withdrawals', url: 'withdrawalsUrl' },
  },
  withdrawal_rejected: {
    subject: 'Withdrawal rejected: {{amount}}',
    paragraphs: [
      'Your withdrawal of {{amount}} was rejected: {{reason}}',
      'The amount is back in your available earnings.',
    ],
    action: { label: 'See your withdrawals', url: 'withdrawalsUrl' },
  },
  withdrawal_failed: {
    subject: 'Withdrawal failed: {{amount}}',
    paragraphs: [
      'The payout of your withdrawal of {{amount}} failed: {{reason}}',
      'The amount is back in your available earnings.',
    ],
    action: { label: 'See your withdrawals', url: 'withdrawalsUrl' },
  },
};

const HTML_LAYOUT = Handlebars.compile<{
  name: string;
  subject: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  preferencesUrl: string;
}>(
  `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">
<p>Hello {{name}},</p>
{{#each paragraphs}}<p>{{this}}</p>
{{/each}}{{#if action}}<p><a href="{{action.url}}" style="display: inline-block; padding: 0.5em 1em; background: #1a56db; color: #fff; text-decoration: none; border-radius: 4px">{{action.label}}</a></p>
{{/if}}<p style="color: #666; font-size: 0.9em">You can turn email for this kind of message off in your <a href="{{preferencesUrl}}">notification preferences</a>.</p>
</body>
</html>
`,
);

const TEXT_LAYOUT = Handlebars.compile<{
  name: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  preferencesUrl: string;
}>(
  `Hello {{name}},

{{#each paragraphs}}{{this}}

{{/each}}{{#if action}}{{action.label}}: {{action.url}}

{{/if}}-- 
You can turn email for this kind of message off in your notification preferences: {{preferencesUrl}}
`,
  { noEscape: true },
);

interface Compiled {
  subject: Handlebars.TemplateDelegate<MessageContext>;
  paragraphs: Handlebars.TemplateDelegate<MessageContext>[];
  action?: Source['action'];
}

function compile(source: Source): Compiled {
  return {
    subject: Handlebars.compile(source.subject, { noEscape: true }),
    // Rendered unescaped, then escaped once by the HTML layout (or not at all in the text).
    paragraphs: source.paragraphs.map((p) => Handlebars.compile(p, { noEscape: true })),
    ...(source.action === undefined ? {} : { action: source.action }),
  };
}

const COMPILED = Object.fromEntries(
  Object.entries(SOURCES).map(([type, source]) => [type, compile(source)]),
) as Record<NotificationType, Compiled>;

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

export function render(type: NotificationType, context: MessageContext): RenderedMessage {
  const template = COMPILED[type];
  // A subject is one line: a line break in a value must not start a new one.
  const subject = template.subject(context).replace(/\s+/g, ' ').trim();
  const paragraphs = template.paragraphs.map((p) => p(context).trim()).filter((p) => p.length > 0);
  const actionUrl = template.action === undefined ? null : context[template.action.url];
  const action =
    template.action !== undefined && typeof actionUrl === 'string'
      ? { label: template.action.label, url: actionUrl }
      : undefined;
  return {
    subject,
    text: TEXT_LAYOUT({
      name: context.name,
      paragraphs,
      preferencesUrl: context.preferencesUrl,
      ...(action === undefined ? {} : { action }),
    }),
    html: HTML_LAYOUT({
      name: context.name,
      subject,
      paragraphs,
      preferencesUrl: context.preferencesUrl,
      ...(action === undefined ? {} : { action }),
    }),
  };
}
