// Every setting the service reads, in one place, validated once at start-up.
// A bad value stops the process with a message naming the key and what it
// allows; nothing else in the code reads process.env.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseKeyring } from '../withdrawals/bank-details';

// Values arrive as strings; an empty one means unset (see loadSettings).
const integer = (min: number, max: number) => {
  const allowed = `a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, allowed)
    .transform(Number)
    .pipe(z.number().min(min, allowed).max(max, allowed));
};
const percent = () => integer(0, 100);
const flag = () => z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'] });
const optionalUrl = (protocols = /^https?$/) =>
  z.url({ protocol: protocols, error: `a URL (${protocols.source.replace(/[\^$]/g, '')})` }).optional();
const optionalString = () => z.string().optional();
/** An address to listen on: an IP literal or a host name. */
const listenHost = () =>
  z
    .string()
    .refine(
      (value) =>
        isIP(value) !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(value),
      'an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0',
    );
const hostPort = () =>
  z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, 'host:port, e.g. temporal:7233')
    .optional();

/** The documented settings: the key, its schema, and a sentence for the README and .env.example. */
export const settingsSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe(
      '`development`, `test` or `production`; production requires `JWT_SECRET` and `DATA_ENCRYPTION_KEY` and disables test deposits by default.',
    ),
  PORT: integer(0, 65535).default(3000).describe('HTTP port of the API.'),
  HOST: listenHost()
    .default('127.0.0.1')
    .describe(
      'Address the API listens on. The default answers this machine only; `0.0.0.0` (as docker-compose and the Dockerfile set) answers every interface.',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  LOG_FORMAT: z
    .enum(['auto', 'json', 'pretty'])
    .default('auto')
    .describe(
      'How log lines are written: `json` (one pino JSON object a line, for log collectors), `pretty` (time, level, message and fields, for a person), or `auto`: pretty when stdout is a terminal, JSON otherwise.',
    ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe('Where embedded services keep their state (`pg/`, `temporal.db`).'),

  DATABASE_URL: optionalUrl(/^postgres(ql)?$/).describe(
    'PostgreSQL connection string. Unset: an embedded PostgreSQL 15 is started with its data under `DATA_DIR/pg`.',
  ),
  EMBEDDED_PG_PORT: integer(1, 65535)
    .default(54329)
    .describe('Port of the embedded PostgreSQL (only when `DATABASE_URL` is unset).'),
  DATABASE_POOL_MAX: integer(1, 200).default(10).describe('Maximum connections in the API/worker pool.'),

  TEMPORAL_ADDRESS: hostPort().describe(
    'Temporal frontend `host:port`. Unset: the bundled dev server is started with its state in `DATA_DIR/temporal.db`.',
  ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace.'),
  TEMPORAL_TASK_QUEUE: z
    .string()
    .min(1)
    .default('class-marketplace')
    .describe('Task queue of the workflows and activities.'),
  TEMPORAL_UI_URL: optionalUrl().describe(
    'Base URL of the Temporal Web UI (e.g. `https://temporal.example.com`). Set: admins get each booking’s and withdrawal’s `workflowUrl` there (`<url>/namespaces/<namespace>/workflows/<id>`). Unset: the dev server inspector’s page when `npm start` runs the dev server, else none.',
  ),
  DEVSERVER_PORT: integer(1, 65535)
    .default(7233)
    .describe('gRPC port of the bundled dev server (only when `TEMPORAL_ADDRESS` is unset).'),
  DEVSERVER_UI_PORT: integer(1, 65535)
    .default(8233)
    .describe('Port of the dev server inspector (only when `TEMPORAL_ADDRESS` is unset).'),

  MAINTENANCE_INTERVAL_MINUTES: integer(1, 24 * 60)
    .default(60)
    .describe('How often the maintenance workflow audits the ledger and purges old idempotency keys.'),
  IDEMPOTENCY_KEY_RETENTION_HOURS: integer(1, 24 * 365)
    .default(24)
    .describe('How long a stored Idempotency-Key answer is replayed before it is purged.'),

  JWT_SECRET: optionalString().describe(
    'HMAC secret for access tokens, at least 32 characters. Required in production. Unset otherwise: `npm start` generates a random one once and keeps it in `DATA_DIR/jwt-secret`.',
  ),
  JWT_TTL_MINUTES: integer(1, 60 * 24 * 30)
    .default(60 * 24)
    .describe('Lifetime of an access token.'),
  ADMIN_EMAIL: z
    .email()
    .optional()
    .describe('With `ADMIN_PASSWORD`: creates this admin at start if no admin exists.'),
  ADMIN_PASSWORD: z
    .string()
    .min(8, 'at least 8 characters')
    .optional()
    .describe('Password of the bootstrap admin (at least 8 characters).'),
  AUTH_RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000)
    .default(30)
    .describe('Requests per minute per client IP to `/auth/*`.'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .describe(
      "Express `trust proxy`: `false` (clients' own addresses), `true`, a hop count or subnets such as `loopback`. Set it behind a load balancer so rate limits see real clients.",
    ),
  METRICS_PORT: integer(1, 65535)
    .optional()
    .describe(
      'Port of a listener that serves only `/metrics` (Prometheus), on `METRICS_HOST`. Unset: no such listener.',
    ),
  METRICS_HOST: listenHost()
    .default('127.0.0.1')
    .describe(
      'Address of the `METRICS_PORT` listener (loopback by default; `0.0.0.0` for a scraper elsewhere, which then requires `METRICS_TOKEN`). Without a token it answers only a loopback `Host`.',
    ),
  METRICS_TOKEN: optionalString().describe(
    'Bearer token (at least 16 characters) a scraper must send for `/metrics`; with it, `/metrics` is also served on the API port. Without it or `METRICS_PORT`, metrics are not served.',
  ),
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024)
    .default(100 * 1024)
    .describe('Largest accepted request body.'),
  MAX_AMOUNT_MINOR: integer(1, 1_000_000_000_000)
    .default(100_000_000)
    .describe('Largest single amount accepted by the API, in minor units.'),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000)
    .default(10_000)
    .describe('How long SIGTERM waits for in-flight requests before closing anyway.'),

  CURRENCY: z
    .string()
    .regex(/^[a-z]{3}$/, 'a lowercase ISO-4217 code such as usd')
    .default('usd')
    .describe('The one currency of the ledger (ISO-4217, lowercase).'),
  ENABLE_TEST_DEPOSITS: flag()
    .optional()
    .describe('Enables `POST /wallet/deposit`. Default: true unless `NODE_ENV=production`.'),

  OPEN_BEFORE_MINUTES: integer(0, 24 * 60)
    .default(15)
    .describe('A class opens (joinable, notified) this long before its start.'),
  TEACHER_SHARE_REFERRED_PERCENT: percent()
    .default(70)
    .describe("Teacher's share of a released price when the student was referred by that teacher."),
  TEACHER_SHARE_DEFAULT_PERCENT: percent()
    .default(30)
    .describe("Teacher's share of a released price otherwise; the rest is platform revenue."),
  END_GRACE_MINUTES: integer(0, 24 * 60)
    .default(5)
    .describe('Finalisation happens this long after the scheduled end (or at room_finished).'),
  DISPUTE_WINDOW_HOURS: integer(0, 24 * 30)
    .default(0)
    .describe('How long after finalisation a student may dispute before money is released (0 = at once).'),
  ATTENDANCE_RELEASE_PERCENT: percent()
    .default(20)
    .describe('Student attendance at or above this releases the money to the teacher.'),
  LATE_CANCEL_HOURS: integer(0, 24 * 30)
    .default(24)
    .describe('A student cancelling less than this before start gets a partial refund.'),
  LATE_CANCEL_REFUND_PERCENT: percent()
    .default(50)
    .describe('Refund of a late student cancellation; the rest is a fee split like a release.'),
  REVIEW_REMINDER_HOURS: integer(1, 24 * 30)
    .default(24)
    .describe('How often admins are reminded of a booking waiting in no-show review.'),

  LIVEKIT_URL: optionalUrl(/^(https?|wss?)$/).describe(
    'LiveKit server URL: handed to clients with join tokens, and rooms are closed through its RoomService at finalisation. Unset: clients are told `ws://localhost:7880` (`livekit-server --dev`) and no room is closed.',
  ),
  LIVEKIT_API_KEY: z
    .string()
    .min(1)
    .default('devkey')
    .describe('LiveKit API key (join tokens, webhook verification).'),
  LIVEKIT_API_SECRET: z.string().min(1).default('secret').describe('LiveKit API secret.'),

  WITHDRAWAL_MIN_AMOUNT: integer(1, 1_000_000_000_000)
    .default(1000)
    .describe('Smallest withdrawal a teacher may ask for, in minor units.'),
  PAYOUT_PROVIDER: z
    .enum(['manual', 'stripe'])
    .default('manual')
    .describe(
      "How approved withdrawals are paid: `manual` (an admin makes the bank transfer and confirms it with `/complete`) or `stripe` (a Stripe Connect transfer to the teacher's connected account; needs `STRIPE_SECRET_KEY`). Fixed per withdrawal when it is asked.",
    ),
  DATA_ENCRYPTION_KEY: optionalString().describe(
    'Keys sealing bank details at rest (AES-256-GCM) and keying the stored hashes of idempotent requests: base64 32-byte keys separated by commas, the current key first; older keys still open what they sealed and recognise what they hashed. To rotate, put a new key first; with several processes, add it second everywhere before you move it first, so none meets a key it does not hold. Make one with `openssl rand -base64 32`. Required in production. Unset otherwise: `npm start` generates one once and keeps it in `DATA_DIR/data-encryption-key`.',
  ),

  STRIPE_SECRET_KEY: optionalString().describe(
    'Stripe secret key (`sk_test_...`, `sk_live_...`): Checkout top-ups (`POST /wallet/topups`) and Connect payouts. Unset: top-ups answer 503 `topups_unavailable` and the Stripe webhook credits nothing.',
  ),
  STRIPE_WEBHOOK_SECRET: optionalString().describe(
    'Signing secret (`whsec_...`) of the endpoint `POST /api/v1/webhooks/stripe` (the Dashboard, or what `stripe listen` prints). Unset: every Stripe webhook is refused (400).',
  ),
  STRIPE_API_URL: optionalUrl().describe(
    'Override of the Stripe API base URL, e.g. `http://127.0.0.1:12111` (a local stand-in in tests). Unset: `https://api.stripe.com`.',
  ),
  TOPUP_MIN_AMOUNT: integer(1, 1_000_000_000_000)
    .default(100)
    .describe(
      "Smallest top-up accepted, in minor units (Stripe refuses charges below about 0.50 of the account's currency).",
    ),
  PUBLIC_URL: z
    .url()
    .optional()
    .describe(
      'Public base URL of the app, used in links (notifications, emails, Checkout return URLs). Default: `http://localhost:<PORT>`.',
    ),

  SMTP_URL: optionalUrl(/^smtps?$/).describe(
    'SMTP server for email, e.g. `smtp://user:pass@smtp.example.com:587`. Unset: `npm start` runs a local mail catcher (see `MAIL_CATCHER_*`); a worker started alone marks each email failed with the reason.',
  ),
  MAIL_CATCHER_SMTP_PORT: integer(1, 65535)
    .default(1025)
    .describe(
      'SMTP port of the local mail catcher `npm start` runs when `SMTP_URL` is unset (loopback only).',
    ),
  MAIL_CATCHER_WEB_PORT: integer(1, 65535)
    .default(1080)
    .describe('Web inbox port of that mail catcher (loopback only).'),
  MAIL_FROM: z
    .string()
    .min(3)
    .default('Class Marketplace <no-reply@localhost>')
    .describe('From address of outgoing email.'),
});

export type RawSettings = z.infer<typeof settingsSchema>;

export interface Settings extends Omit<
  RawSettings,
  'ENABLE_TEST_DEPOSITS' | 'JWT_SECRET' | 'PUBLIC_URL' | 'DATA_ENCRYPTION_KEY'
> {
  ENABLE_TEST_DEPOSITS: boolean;
  JWT_SECRET: string;
  /**
   * Where JWT_SECRET comes from: the setting, or a random one made for this
   * process (tokens die with it; `npm start` keeps one in DATA_DIR instead,
   * see platform/jwt-secret.ts).
   */
  jwtSecretSource: 'JWT_SECRET' | 'random';
  /** The keys sealing bank details: the setting's, or one made for this process (see platform/jwt-secret.ts). */
  DATA_ENCRYPTION_KEY: string;
  dataKeySource: 'DATA_ENCRYPTION_KEY' | 'random';
  PUBLIC_URL: string;
}

export type SettingKey = keyof RawSettings;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Settings whose values are secrets: an error names them but never shows what was given. */
const SECRET_KEYS = new Set([
  'JWT_SECRET',
  'ADMIN_PASSWORD',
  'LIVEKIT_API_SECRET',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'METRICS_TOKEN',
  'DATA_ENCRYPTION_KEY',
]);

/** A value as an error may print it: secrets hidden, a URL's password masked (logs outlive terminals). */
function shownValue(key: string, value: string): string {
  if (SECRET_KEYS.has(key)) return value === '' ? '' : '(hidden)';
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, '$1:***@');
}

/** Reads and validates the settings; throws ConfigError naming every bad key. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const value = env[key]?.trim();
    // `KEY=` (an uncommented line of .env.example, say) means unset, never 0 or ''.
    input[key] = value === '' ? undefined : value;
  }

  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.');
        return `${key}=${JSON.stringify(shownValue(key, input[key] ?? ''))}: ${issue.message}`;
      }),
    );
  }
  const raw = parsed.data;
  const problems: string[] = [];
  const production = raw.NODE_ENV === 'production';

  if (production && raw.JWT_SECRET === undefined)
    problems.push('JWT_SECRET: required when NODE_ENV=production');
  if (raw.JWT_SECRET !== undefined && raw.JWT_SECRET.length < 32) {
    problems.push('JWT_SECRET: must be at least 32 characters');
  }
  if (raw.METRICS_TOKEN !== undefined && raw.METRICS_TOKEN.length < 16) {
    problems.push('METRICS_TOKEN: must be at least 16 characters');
  }
  if (
    raw.METRICS_PORT !== undefined &&
    raw.METRICS_TOKEN === undefined &&
    !['127.0.0.1', '::1', 'localhost'].includes(raw.METRICS_HOST)
  ) {
    problems.push(
      'METRICS_TOKEN: required when METRICS_HOST is not a loopback address (metrics would be open)',
    );
  }
  if (production && raw.DATA_ENCRYPTION_KEY === undefined) {
    problems.push('DATA_ENCRYPTION_KEY: required when NODE_ENV=production');
  }
  if (raw.DATA_ENCRYPTION_KEY !== undefined) {
    try {
      parseKeyring(raw.DATA_ENCRYPTION_KEY);
    } catch (error) {
      problems.push(`DATA_ENCRYPTION_KEY: ${(error as Error).message}`);
    }
  }
  if (raw.PAYOUT_PROVIDER === 'stripe' && raw.STRIPE_SECRET_KEY === undefined) {
    problems.push('STRIPE_SECRET_KEY: required when PAYOUT_PROVIDER=stripe');
  }
  if (raw.TOPUP_MIN_AMOUNT > raw.MAX_AMOUNT_MINOR) {
    problems.push('TOPUP_MIN_AMOUNT: must not exceed MAX_AMOUNT_MINOR');
  }
  if ((raw.ADMIN_EMAIL === undefined) !== (raw.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD: set both or neither');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    ...raw,
    // Never a default written in the source: anyone could sign tokens with it.
    JWT_SECRET: raw.JWT_SECRET ?? randomBytes(32).toString('base64url'),
    jwtSecretSource: raw.JWT_SECRET === undefined ? 'random' : 'JWT_SECRET',
    DATA_ENCRYPTION_KEY: raw.DATA_ENCRYPTION_KEY ?? randomBytes(32).toString('base64'),
    dataKeySource: raw.DATA_ENCRYPTION_KEY === undefined ? 'random' : 'DATA_ENCRYPTION_KEY',
    // Links must reach this service: by default, where it listens.
    PUBLIC_URL: (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/$/, ''),
    ENABLE_TEST_DEPOSITS: raw.ENABLE_TEST_DEPOSITS ?? !production,
  };
}

/** One row per setting, for the README table and .env.example (kept in sync by a test). */
export function describeSettings(): { key: SettingKey; description: string; defaultValue: string }[] {
  return (Object.keys(settingsSchema.shape) as SettingKey[]).map((key) => {
    const field = settingsSchema.shape[key];
    const probe = field.safeParse(undefined);
    const defaultValue = probe.success && probe.data !== undefined ? String(probe.data) : '';
    return { key, description: field.description ?? '', defaultValue };
  });
}
