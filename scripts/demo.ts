// npm run demo: one whole story against a running `npm start`, as a new user
// meets it. A teacher and a student they referred register, the student tops
// up (test deposit), the teacher publishes a one-minute class starting about
// a minute later, the student books it, both fetch join tokens, LiveKit's
// webhooks arrive signed as LiveKit signs them (join, leave, room finished),
// and the booking's workflow settles it; the teacher then withdraws what the
// class earned and the admin (ADMIN_EMAIL / ADMIN_PASSWORD, or the development
// admin npm start keeps in DATA_DIR) approves
// it and confirms the bank transfer. Prints a timeline with the balances
// (the student's, the teacher's and the platform's revenue) before and after,
// the notifications as they arrive over Socket.IO, the
// emails the local mail catcher received, and where to look at the workflow.
//
// Where things are comes from the service's own settings (the environment and
// ./.env, as npm start reads them: PORT, DEVSERVER_PORT, DEVSERVER_UI_PORT,
// TEMPORAL_ADDRESS, LIVEKIT_API_KEY/SECRET, SMTP_URL, MAIL_CATCHER_WEB_PORT);
// DEMO_API_URL, DEMO_INSPECTOR_URL and DEMO_INBOX_URL point it elsewhere.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AccessToken } from 'livekit-server-sdk';
import { io } from 'socket.io-client';
import { loadSettings } from '../config/settings';
import { DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD_FILE } from '../platform/jwt-secret';
import { workflowLinks } from '../temporal-client/workflow-links';

if (fs.existsSync('.env')) process.loadEnvFile('.env');
const settings = loadSettings();
const API = (process.env.DEMO_API_URL ?? `http://localhost:${settings.PORT}`).replace(/\/$/, '');
const INSPECTOR = (
  process.env.DEMO_INSPECTOR_URL ?? `http://127.0.0.1:${settings.DEVSERVER_UI_PORT}`
).replace(/\/$/, '');
/** The local mail catcher's inbox (npm start runs one when SMTP_URL is unset). */
const INBOX =
  process.env.DEMO_INBOX_URL ??
  (settings.SMTP_URL === undefined ? `http://127.0.0.1:${settings.MAIL_CATCHER_WEB_PORT}` : undefined);
const LIVEKIT_KEY = settings.LIVEKIT_API_KEY;
const LIVEKIT_SECRET = settings.LIVEKIT_API_SECRET;
const SETTLE_TIMEOUT_MS = 10 * 60_000;

const started = Date.now();

function say(what: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[+${seconds}s] ${what}`);
}

function money(minor: number): string {
  return `${(minor / 100).toFixed(2)}`;
}

interface Session {
  user: { id: string; email: string; referralCode: string | null };
  token: string;
}
interface Wallet {
  available: number;
  held: number;
}
interface Withdrawal {
  id: string;
  amount: number;
  status: string;
  provider: string;
  reference: string | null;
  workflowId: string;
  bankAccount: { last4: string };
}
interface Meeting {
  id: string;
  title: string;
  startsAt: string;
  endsAt: string;
}
interface Booking {
  id: string;
  status: string;
  settlement: string;
  outcome: string | null;
  workflowId: string;
  attendance: { seconds: number; percent: number; teacherSeconds: number } | null;
  amounts: { refunded: number; teacher: number; platform: number } | null;
}
interface JoinInfo {
  url: string;
  roomName: string;
  token: string;
}

async function call<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const response = await fetch(`${API}/api/v1${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A LiveKit webhook, signed as LiveKit signs it: a JWT whose sha256 claim is the body's hash. */
async function webhook(event: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(event);
  const token = new AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET);
  token.sha256 = createHash('sha256').update(body).digest('base64');
  const response = await fetch(`${API}/api/v1/webhooks/livekit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/webhook+json', Authorization: await token.toJwt() },
    body,
  });
  if (!response.ok) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
}

function presence(kind: string, meetingId: string, userId: string, sid: string, atMs: number) {
  return {
    event: kind,
    id: `EV_${randomUUID()}`,
    createdAt: String(Math.floor(atMs / 1000)),
    room: { name: `meeting-${meetingId}`, sid: 'RM_demo' },
    participant: { identity: `user-${userId}`, sid },
  };
}

async function until(atMs: number, why: string): Promise<void> {
  const waitMs = atMs - Date.now();
  if (waitMs <= 0) return;
  say(`waiting ${Math.ceil(waitMs / 1000)} s ${why}`);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** The two wallets, and the platform's revenue (of every class so far) when an admin is at hand. */
async function balances(student: string, teacher: string, admin: Session | undefined): Promise<string> {
  const [s, t, p] = await Promise.all([
    call<Wallet>('GET', '/wallet', student),
    call<Wallet>('GET', '/wallet', teacher),
    admin === undefined ? undefined : call<{ revenue: number }>('GET', '/admin/revenue', admin.token),
  ]);
  const platform = p === undefined ? '' : `; platform revenue, all classes: ${money(p.revenue)}`;
  return `student wallet available ${money(s.available)}, held ${money(s.held)}; teacher earnings ${money(t.available)}${platform}`;
}

/** The links admins get in the API's answers: the Temporal UI at TEMPORAL_UI_URL, or the dev server's inspector. */
const links = workflowLinks({
  temporalUiUrl: settings.TEMPORAL_UI_URL,
  // npm start runs the dev server (and its inspector) unless TEMPORAL_ADDRESS names another Temporal.
  inspectorUrl:
    settings.TEMPORAL_ADDRESS === undefined || process.env.DEMO_INSPECTOR_URL !== undefined
      ? INSPECTOR
      : undefined,
  namespace: settings.TEMPORAL_NAMESPACE,
});

function workflowLink(workflowId: string): string {
  return (
    links.of(workflowId) ??
    `${workflowId} (for a link, set TEMPORAL_UI_URL, or DEMO_INSPECTOR_URL for a dev server's inspector)`
  );
}

async function main(): Promise<void> {
  console.log(`Class marketplace demo against ${API}\n`);
  const healthy = await fetch(`${API}/healthz`).then(
    (response) => response.ok,
    () => false,
  );
  if (!healthy) throw new Error(`nothing answers at ${API}: start the service with \`npm start\` first`);

  const suffix = randomUUID().slice(0, 8);
  const teacher = await call<Session>('POST', '/auth/register', undefined, {
    email: `teacher-${suffix}@demo.example`,
    password: 'correct horse battery',
    name: 'Tess the Teacher',
    role: 'teacher',
  });
  say(`teacher registered: ${teacher.user.email}, referral code ${teacher.user.referralCode}`);
  const student = await call<Session>('POST', '/auth/register', undefined, {
    email: `student-${suffix}@demo.example`,
    password: 'correct horse battery',
    name: 'Sam the Student',
    role: 'student',
    referralCode: teacher.user.referralCode,
  });
  say(`student registered with that code: ${student.user.email} (teacher's share will be 70%)`);
  const sockets = [listen('student', student.token), listen('teacher', teacher.token)];
  await call<unknown>('POST', '/wallet/deposit', student.token, { amount: 5_000 });
  say(`student deposited 50.00 (test deposit)`);
  const admin = await adminSession();
  say(`balances before: ${await balances(student.token, teacher.token, admin)}`);

  // A one-minute class a minute from now (on a whole second: LiveKit's event times are seconds).
  const startsAtMs = Math.ceil((Date.now() + 60_000) / 1000) * 1000;
  const meeting = await call<Meeting>('POST', '/teachers/me/slots', teacher.token, {
    startsAt: new Date(startsAtMs).toISOString(),
    durationMinutes: 1,
    price: 1_500,
    title: 'Demo: the subjunctive in one minute',
  });
  const endsAtMs = Date.parse(meeting.endsAt);
  say(`teacher published "${meeting.title}" at ${meeting.startsAt} for 15.00`);

  const booking = await call<Booking>('POST', '/bookings', student.token, { meetingId: meeting.id });
  say(`student booked it: booking ${booking.id}, status ${booking.status}, price held`);
  say(`balances now: ${await balances(student.token, teacher.token, admin)}`);
  say(`workflow ${booking.workflowId}: ${workflowLink(booking.workflowId)}`);

  for (const [who, token] of [
    ['student', student.token],
    ['teacher', teacher.token],
  ] as const) {
    const join = await call<JoinInfo>('GET', `/bookings/${booking.id}/join`, token);
    say(
      `${who} join token for room ${join.roomName}: ${join.token.slice(0, 24)}... (LiveKit at ${join.url})`,
    );
  }

  // Each event is sent when it happens, stamped with its time, as LiveKit does.
  await until(startsAtMs, 'for the class to start');
  await webhook(presence('participant_joined', meeting.id, teacher.user.id, 'PA_teacher', Date.now()));
  say('LiveKit: the teacher joined');
  await until(startsAtMs + 5_000, 'for the student');
  await webhook(presence('participant_joined', meeting.id, student.user.id, 'PA_student', Date.now()));
  say('LiveKit: the student joined, 5 s late');

  await until(endsAtMs - 2_000, 'for the class to end');
  await webhook(presence('participant_left', meeting.id, student.user.id, 'PA_student', Date.now()));
  say('LiveKit: the student left, 2 s early');
  await until(endsAtMs, 'for the end');
  await webhook(presence('participant_left', meeting.id, teacher.user.id, 'PA_teacher', Date.now()));
  await webhook({
    event: 'room_finished',
    id: `EV_${randomUUID()}`,
    createdAt: String(Math.floor(Date.now() / 1000)),
    room: { name: `meeting-${meeting.id}`, sid: 'RM_demo' },
  });
  say('LiveKit: the teacher left and the room finished');

  let status = '';
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const current = await call<Booking>('GET', `/bookings/${booking.id}`, student.token);
    const now = `${current.status}/${current.settlement}`;
    if (now !== status) {
      status = now;
      const waiting = current.settlement === 'held' ? ', until its workflow settles it' : '';
      say(
        `booking is ${current.status}, money ${current.settlement}${current.outcome ? ` (${current.outcome})` : ''}${waiting}`,
      );
    }
    if (current.settlement !== 'held' && current.attendance !== null && current.amounts !== null) {
      say(
        `attendance: student ${current.attendance.seconds} s (${current.attendance.percent}%), teacher ${current.attendance.teacherSeconds} s`,
      );
      say(
        `settled: ${money(current.amounts.teacher)} to the teacher, ${money(current.amounts.platform)} to the platform, ${money(current.amounts.refunded)} back`,
      );
      break;
    }
    if (Date.now() > deadline)
      throw new Error('the booking did not settle in time; see the workflow in the inspector');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  say(`balances after: ${await balances(student.token, teacher.token, admin)}`);
  const notes = await call<{ data: { type: string }[] }>('GET', '/notifications', teacher.token);
  say(`teacher's notifications: ${notes.data.map((n) => n.type).join(', ')}`);
  say(`the booking's workflow, step by step: ${workflowLink(booking.workflowId)}`);

  const withdrawal = await withdrawEarnings(teacher, admin);
  // Booked and opened for both, the teacher paid; then the admins asked to
  // approve the withdrawal (each admin once), and it approved and paid out.
  const people = [student.user.email, teacher.user.email];
  await showEmails(
    (mail) =>
      mail.to.some((to) => people.includes(to.address)) ||
      (withdrawal !== undefined && (mail.text ?? '').includes(withdrawal.id)),
    withdrawal?.paidOut ? 8 : withdrawal !== undefined ? 6 : 5,
  );
  for (const socket of sockets) socket.close();
  say(
    `see it in the console: ${API}/console (log in as ${student.user.email} or ${teacher.user.email}, password "correct horse battery")`,
  );
}

/**
 * The teacher withdraws what the class earned; the admin (ADMIN_EMAIL /
 * ADMIN_PASSWORD, or npm start's development admin) approves it and confirms
 * the bank transfer.
 * Answers the withdrawal asked for, if any, and whether it was paid out.
 */
async function withdrawEarnings(
  teacher: Session,
  admin: Session | undefined,
): Promise<{ id: string; paidOut: boolean } | undefined> {
  const earnings = await call<Wallet>('GET', '/wallet', teacher.token);
  if (earnings.available < settings.WITHDRAWAL_MIN_AMOUNT) {
    say(
      `the teacher's ${money(earnings.available)} is below the smallest withdrawal (WITHDRAWAL_MIN_AMOUNT)`,
    );
    return undefined;
  }
  const withdrawal = await call<Withdrawal>('POST', '/withdrawals', teacher.token, {
    amount: earnings.available,
    bankAccount: {
      holderName: 'Tess the Teacher',
      iban: 'DE89 3704 0044 0532 0130 00',
      bankName: 'Demo Bank',
    },
  });
  say(
    `teacher asked to withdraw ${money(withdrawal.amount)} to the account ending ${withdrawal.bankAccount.last4}: ${withdrawal.status}, held`,
  );
  say(`withdrawal workflow ${withdrawal.workflowId}: ${workflowLink(withdrawal.workflowId)}`);
  if (admin === undefined) {
    say(
      `no admin to approve it: neither ADMIN_EMAIL and ADMIN_PASSWORD nor ${path.join(settings.DATA_DIR, DEV_ADMIN_PASSWORD_FILE)} (run the demo with npm start's DATA_DIR, or set both) and run again`,
    );
    return { id: withdrawal.id, paidOut: false };
  }
  const approved = await call<Withdrawal>(
    'POST',
    `/admin/withdrawals/${withdrawal.id}/approve`,
    admin.token,
    {},
  );
  say(`admin approved it: ${approved.status} (${approved.provider} payout)`);
  if (approved.provider !== 'manual') return { id: withdrawal.id, paidOut: true };
  const completed = await call<Withdrawal>(
    'POST',
    `/admin/withdrawals/${withdrawal.id}/complete`,
    admin.token,
    {
      reference: `DEMO-${withdrawal.id.slice(0, 8)}`,
    },
  );
  say(`admin confirmed the bank transfer ${completed.reference}: ${completed.status}`);
  const after = await call<Wallet>('GET', '/wallet', teacher.token);
  say(`teacher's earnings now: available ${money(after.available)}, held ${money(after.held)}`);
  return { id: withdrawal.id, paidOut: true };
}

/** Logged in as the admin, if the demo knows one. */
async function adminSession(): Promise<Session | undefined> {
  const credentials = adminCredentials();
  return credentials === undefined ? undefined : call<Session>('POST', '/auth/login', undefined, credentials);
}

/** The configured admin, or the development admin npm start keeps in DATA_DIR. */
function adminCredentials(): { email: string; password: string } | undefined {
  if (settings.ADMIN_EMAIL !== undefined && settings.ADMIN_PASSWORD !== undefined) {
    return { email: settings.ADMIN_EMAIL, password: settings.ADMIN_PASSWORD };
  }
  const file = path.join(settings.DATA_DIR, DEV_ADMIN_PASSWORD_FILE);
  if (!fs.existsSync(file)) return undefined;
  return { email: DEV_ADMIN_EMAIL, password: fs.readFileSync(file, 'utf8').trim() };
}

/** Prints each notification `who` receives live over Socket.IO. */
function listen(who: string, token: string) {
  const socket = io(`${new URL(API).origin}/notifications`, { auth: { token }, transports: ['websocket'] });
  socket.on('notification:new', (n: { type: string }) =>
    say(`${who} notified live over Socket.IO: ${n.type}`),
  );
  socket.on('connect_error', (error: Error) => say(`${who}'s socket refused: ${error.message}`));
  return socket;
}

interface Mail {
  subject: string;
  text?: string;
  to: { address: string }[];
}

/** The emails of this story the mail catcher got (waiting a little for the last ones). */
async function showEmails(ofThisStory: (mail: Mail) => boolean, expected: number): Promise<void> {
  if (INBOX === undefined) {
    say('email went to SMTP_URL (set DEMO_INBOX_URL to a MailDev inbox to list it here)');
    return;
  }
  const deadline = Date.now() + 30_000;
  let mine: Mail[] = [];
  for (;;) {
    const all = await fetch(`${INBOX}/email`).then(
      (response) => (response.ok ? (response.json() as Promise<typeof mine>) : []),
      () => [],
    );
    mine = all.filter(ofThisStory);
    if (mine.length >= expected || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  for (const mail of mine) say(`email to ${mail.to.map((to) => to.address).join(', ')}: "${mail.subject}"`);
  say(`read them in the local inbox: ${INBOX}`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
