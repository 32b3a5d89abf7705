// Sending one email through nodemailer, with the answer sorted the way
// delivery needs it: taken, refused for good (a 5xx reply: that recipient or
// message will never be accepted), or failed for now (server down, a 4xx
// reply, a timeout: worth trying again later).
import nodemailer from 'nodemailer';
import type { OutgoingEmail } from './email';

export type SendResult =
  | { status: 'sent'; response: string }
  | { status: 'refused'; reason: string }
  | { status: 'failed'; reason: string };

export interface Mailer {
  send(email: OutgoingEmail): Promise<SendResult>;
  close(): void;
}

/** Bounds on one SMTP conversation, well inside the delivery activity's own timeout. */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

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

function classify(error: unknown): SendResult {
  const responseCode =
    typeof error === 'object' && error !== null && 'responseCode' in error ? error.responseCode : undefined;
  const reason = error instanceof Error ? error.message : String(error);
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600) {
    return { status: 'refused', reason };
  }
  return { status: 'failed', reason };
}

/** Where no SMTP server is configured (a worker started alone without SMTP_URL): every email fails visibly. */
export const unconfiguredMailer: Mailer = {
  send: () => Promise.resolve({ status: 'refused', reason: 'SMTP_URL is not set: email is off' }),
  close: () => undefined,
};
