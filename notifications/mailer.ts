// Sending one email through nodemailer, with the answer sorted the way
// delivery needs it:
// - sent: the server took it;
// - refused: a 5xx reply to this recipient or this message (RCPT TO, DATA):
//   it will never be accepted, the other emails are unaffected;
// - deferred: a 4xx reply to this recipient or message (greylisting, a full
//   mailbox): this one later, the others now;
// - failed: the server itself is failing (down, a timeout, a refused login or
//   sender, a 5xx before the recipient): every email waits for the next try.
// A reply lost after the message was sent (a timeout at the end of DATA)
// counts as failed, so the message goes again: the same Message-ID marks it.
import nodemailer from 'nodemailer';
import type { OutgoingEmail } from './email';

export type SendResult =
  | { status: 'sent'; response: string }
  | { status: 'refused'; reason: string }
  | { status: 'deferred'; reason: string }
  | { status: 'failed'; reason: string };

export interface Mailer {
  send(email: OutgoingEmail): Promise<SendResult>;
  close(): void;
}

/** Bounds on one SMTP conversation; the whole send is cut at SEND_TIMEOUT_MS, inside the claim's lease. */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;
export const SEND_TIMEOUT_MS = 40_000;

export function smtpMailer(smtpUrl: string): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  return {
    async send(email) {
      try {
        const info = await transport.sendMail({
          from: email.from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          messageId: email.messageId,
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        if (info.rejected.length > 0) {
          return { status: 'refused', reason: `recipient refused: ${String(info.response)}` };
        }
        return { status: 'sent', response: String(info.response) };
      } catch (error) {
        return classify(error);
      }
    },
    close: () => transport.close(),
  };
}

/** The SMTP commands whose answer concerns this message alone. */
const MESSAGE_COMMANDS = new Set(['RCPT TO', 'DATA']);

export function classify(error: unknown): SendResult {
  const field = (name: string): unknown =>
    typeof error === 'object' && error !== null && name in error
      ? (error as Record<string, unknown>)[name]
      : undefined;
  const responseCode = field('responseCode');
  const command = field('command');
  const reason = error instanceof Error ? error.message : String(error);
  if (typeof responseCode === 'number' && typeof command === 'string' && MESSAGE_COMMANDS.has(command)) {
    if (responseCode >= 500 && responseCode < 600) return { status: 'refused', reason };
    if (responseCode >= 400 && responseCode < 500) return { status: 'deferred', reason };
  }
  return { status: 'failed', reason };
}

/** Where no SMTP server is configured (a worker started alone without SMTP_URL): every email fails visibly. */
export const unconfiguredMailer: Mailer = {
  send: () => Promise.resolve({ status: 'refused', reason: 'SMTP_URL is not set: email is off' }),
  close: () => undefined,
};
