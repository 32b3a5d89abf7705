// A real SMTP server in the test process (smtp-server), keeping what it
// accepted parsed (mailparser). It can answer "try later" (4xx) for a number
// of messages, or refuse a recipient for good (5xx), as real servers do.
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { registerCleanup } from './cleanup';

export interface SmtpCatcher {
  url: string;
  /** Every message accepted, in order. */
  messages: ParsedMail[];
  /** Tries answered "later" (at DATA, or a deferred recipient). */
  refusedCount: number;
  /** Answers the next `count` messages with `451 try again later`. */
  deferNext(count: number): void;
  /** Refuses this recipient for good (550 at RCPT TO). */
  refuseRecipient(address: string): void;
  /** Answers this recipient `450 try later` at RCPT TO, `count` times. */
  deferRecipient(address: string, count: number): void;
  /** The accepted messages to `address`. */
  to(address: string): ParsedMail[];
  /** Resolves when `count` messages have been accepted in all (bounded by the test's timeout). */
  untilAccepted(count: number): Promise<void>;
  close(): Promise<void>;
}

interface SmtpError extends Error {
  responseCode: number;
}

function smtpError(code: number, message: string): SmtpError {
  const error = new Error(message) as SmtpError;
  error.responseCode = code;
  return error;
}

export async function startSmtpCatcher(): Promise<SmtpCatcher> {
  const messages: ParsedMail[] = [];
  const accepted = new EventEmitter();
  const refusedRecipients = new Set<string>();
  const deferredRecipients = new Map<string, number>();
  let deferred = 0;
  let refusedCount = 0;

  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: nodemailer would otherwise try STARTTLS with no certificate to trust.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const recipient = address.address.toLowerCase();
      if (refusedRecipients.has(recipient)) {
        callback(smtpError(550, 'mailbox unavailable'));
        return;
      }
      const deferrals = deferredRecipients.get(recipient) ?? 0;
      if (deferrals > 0) {
        deferredRecipients.set(recipient, deferrals - 1);
        refusedCount++;
        callback(smtpError(450, 'mailbox busy, try later'));
        return;
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          if (deferred > 0) {
            deferred--;
            refusedCount++;
            callback(smtpError(451, 'try again later'));
            return;
          }
          messages.push(mail);
          callback();
          accepted.emit('message');
        },
        (error: Error) => callback(error),
      );
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  registerCleanup(close);

  const addressesOf = (mail: ParsedMail): string[] => {
    const to = mail.to === undefined ? [] : Array.isArray(mail.to) ? mail.to : [mail.to];
    return to.flatMap((t) => t.value.map((v) => (v.address ?? '').toLowerCase()));
  };

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get refusedCount() {
      return refusedCount;
    },
    deferNext(count) {
      deferred = count;
    },
    refuseRecipient(address) {
      refusedRecipients.add(address.toLowerCase());
    },
    deferRecipient(address, count) {
      deferredRecipients.set(address.toLowerCase(), count);
    },
    to(address) {
      return messages.filter((mail) => addressesOf(mail).includes(address.toLowerCase()));
    },
    async untilAccepted(count) {
      while (messages.length < count) await once(accepted, 'message');
    },
    close,
  };
}
