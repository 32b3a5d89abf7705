// The local mail catcher `npm start` runs when no SMTP server is configured:
// MailDev, an SMTP server that keeps every message and a web inbox to read
// them, both on loopback, with the messages kept under DATA_DIR. Email is
// then really sent (over SMTP, as in production) and readable, never only logged.
import fs from 'node:fs';
import path from 'node:path';
import MailDev from 'maildev';

export interface MailCatcher {
  smtpUrl: string;
  inboxUrl: string;
  close(): Promise<void>;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function startMailCatcher(options: {
  smtpPort: number;
  webPort: number;
  dataDir: string;
}): Promise<MailCatcher> {
  const mailDirectory = path.join(options.dataDir, 'mail');
  fs.mkdirSync(mailDirectory, { recursive: true });
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const maildev = new MailDev({
    smtp: options.smtpPort,
    web: options.webPort,
    ip: '127.0.0.1',
    mailDirectory,
    silent: true,
  });
  // MailDev exits the process on these signals; the service's own shutdown handles them.
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  await maildev.listen();
  return {
    smtpUrl: `smtp://127.0.0.1:${options.smtpPort}`,
    inboxUrl: `http://127.0.0.1:${options.webPort}`,
    close: () => new Promise<void>((resolve) => maildev.close(() => resolve())),
  };
}
