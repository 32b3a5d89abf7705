// The part of MailDev 2's API the mail catcher uses (the package ships no types).
declare module 'maildev' {
  interface MailDevOptions {
    smtp?: number;
    web?: number;
    ip?: string;
    mailDirectory?: string;
    silent?: boolean;
    disableWeb?: boolean;
  }
  interface MailDevServer {
    listen(): Promise<void>;
    close(callback: () => void): void;
  }
  const MailDev: new (options: MailDevOptions) => MailDevServer;
  export default MailDev;
}
