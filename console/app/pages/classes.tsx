// A teacher's classes: publish a slot or a course, see every class with its
// bookings, and each booking's attendance.
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { request } from '../api';
import { amountOf, dateTime, duration, isoToLocalInput, localInputToIso } from '../format';
import { useAction, useFields, usePagedList, useResource } from '../hooks';
import { useAuth, useSession } from '../session';
import type { Booking, Meeting, MeetingDetail } from '../types';
import { Badge, ErrorNotice, Field, Loaded, Money, MoreButton, Notice } from '../ui';

interface OwnMeeting extends Meeting {
  bookedCount?: number;
}

export function ClassesPage() {
  const meetings = usePagedList<OwnMeeting>('/teachers/me/meetings?limit=50', { live: true });
  const { session } = useSession();
  return (
    <section>
      <h1>My classes</h1>
      {session?.user.referralCode && (
        <p>
          Your referral code: <code>{session.user.referralCode}</code> (students who register with it are
          yours).
        </p>
      )}
      <div className="grid">
        <PublishSlot onDone={meetings.reload} />
        <PublishCourse onDone={meetings.reload} />
      </div>
      <h2>Classes</h2>
      <Loaded resource={meetings.resource} what="your classes">
        {() =>
          meetings.items.length === 0 ? (
            <p>Nothing published yet.</p>
          ) : (
            <div className="table-scroll">
              <table data-testid="my-classes">
                <thead>
                  <tr>
                    <th scope="col">Class</th>
                    <th scope="col">Starts</th>
                    <th scope="col" className="number">
                      Price
                    </th>
                    <th scope="col" className="number">
                      Seats left
                    </th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {meetings.items.map((m) => (
                    <tr key={m.id}>
                      <td>
                        <Link href={`/meetings/${m.id}`}>{m.title ?? 'Class'}</Link>
                      </td>
                      <td>{dateTime(m.startsAt)}</td>
                      <td className="number">
                        <Money amount={m.price} />
                      </td>
                      <td className="number">
                        {m.seatsLeft} of {m.capacity}
                      </td>
                      <td>
                        <Badge value={meetingPhase(m)} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <MoreButton more={meetings.more} what="classes" />
    </section>
  );
}

function inAnHour(): string {
  return isoToLocalInput(new Date(Date.now() + 60 * 60_000));
}

function PublishSlot({ onDone }: { onDone: () => void }) {
  const { token } = useAuth();
  const { config } = useSession();
  const [form, set] = useFields({
    title: '',
    startsAt: inAnHour(),
    durationMinutes: '60',
    price: '',
    capacity: '1',
  });
  const [published, setPublished] = useState<Meeting | null>(null);
  const publish = useAction(async () => {
    const body = {
      ...(form.title.trim() === '' ? {} : { title: form.title.trim() }),
      startsAt: localInputToIso(form.startsAt) ?? form.startsAt,
      durationMinutes: Number(form.durationMinutes),
      price: amountOf(form.price, config?.currency ?? 'usd', 'Price'),
      capacity: Number(form.capacity),
    };
    setPublished(await request<Meeting>('POST', '/teachers/me/slots', { token, body }));
    onDone();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPublished(null);
    void publish.run();
  };
  return (
    <form onSubmit={submit} aria-label="Publish a class">
      <h2>Publish a class</h2>
      <Field label="Title" id="slot-title" value={form.title} maxLength={200} onChange={set('title')} />
      <Field
        label="Starts at"
        id="slot-starts"
        type="datetime-local"
        required
        value={form.startsAt}
        onChange={set('startsAt')}
      />
      <div className="grid">
        <Field
          label="Minutes"
          id="slot-minutes"
          type="number"
          min={1}
          max={480}
          required
          value={form.durationMinutes}
          onChange={set('durationMinutes')}
        />
        <Field
          label="Seats"
          id="slot-capacity"
          type="number"
          min={1}
          max={50}
          required
          value={form.capacity}
          onChange={set('capacity')}
        />
        <Field
          label="Price"
          id="slot-price"
          inputMode="decimal"
          required
          value={form.price}
          onChange={set('price')}
        />
      </div>
      <ErrorNotice error={publish.error} />
      {published && (
        <Notice>
          Published: <Link href={`/meetings/${published.id}`}>{published.title ?? 'your class'}</Link> on{' '}
          {dateTime(published.startsAt)}.
        </Notice>
      )}
      <button type="submit" aria-busy={publish.pending} disabled={publish.pending}>
        Publish
      </button>
    </form>
  );
}

const NEW_COURSE = {
  title: '',
  description: '',
  capacity: '10',
  pricePerSession: '',
  priceFullCourse: '',
  firstSession: '',
  sessions: '4',
  everyDays: '7',
  durationMinutes: '60',
};

function PublishCourse({ onDone }: { onDone: () => void }) {
  const { token } = useAuth();
  const { config } = useSession();
  const [form, set, setForm] = useFields({ ...NEW_COURSE, firstSession: inAnHour() });
  const [published, setPublished] = useState<string | null>(null);
  const publish = useAction(async () => {
    const currency = config?.currency ?? 'usd';
    const first = new Date(localInputToIso(form.firstSession) ?? form.firstSession).getTime();
    const count = Math.max(0, Math.min(100, Number(form.sessions) || 0));
    const body = {
      title: form.title,
      ...(form.description.trim() === '' ? {} : { description: form.description }),
      capacity: Number(form.capacity),
      pricePerSession: amountOf(form.pricePerSession, currency, 'Price per session'),
      ...(form.priceFullCourse.trim() === ''
        ? {}
        : { priceFullCourse: amountOf(form.priceFullCourse, currency, 'Full-course price') }),
      sessions: Array.from({ length: count }, (_, i) => ({
        startsAt: new Date(first + i * Number(form.everyDays) * 86_400_000).toISOString(),
        durationMinutes: Number(form.durationMinutes),
      })),
    };
    const course = await request<{ id: string; title: string }>('POST', '/courses', { token, body });
    setPublished(course.title);
    // A second click must not publish the same course again: the form starts over.
    setForm({ ...NEW_COURSE, firstSession: inAnHour() });
    onDone();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPublished(null);
    void publish.run();
  };
  return (
    <form onSubmit={submit} aria-label="Publish a course">
      <h2>Publish a course</h2>
      <Field
        label="Course title"
        id="course-title"
        required
        maxLength={200}
        value={form.title}
        onChange={set('title')}
      />
      <label>
        Description
        <textarea value={form.description} maxLength={5000} onChange={set('description')} />
      </label>
      <Field
        label="First session"
        id="course-first"
        type="datetime-local"
        required
        value={form.firstSession}
        onChange={set('firstSession')}
      />
      <div className="grid">
        <Field
          label="Sessions"
          id="course-sessions"
          type="number"
          min={1}
          max={100}
          required
          value={form.sessions}
          onChange={set('sessions')}
        />
        <Field
          label="Every (days)"
          id="course-every"
          type="number"
          min={1}
          max={60}
          required
          value={form.everyDays}
          onChange={set('everyDays')}
        />
        <Field
          label="Minutes each"
          id="course-minutes"
          type="number"
          min={1}
          max={480}
          required
          value={form.durationMinutes}
          onChange={set('durationMinutes')}
        />
      </div>
      <div className="grid">
        <Field
          label="Seats"
          id="course-capacity"
          type="number"
          min={1}
          max={50}
          required
          value={form.capacity}
          onChange={set('capacity')}
        />
        <Field
          label="Price per session"
          id="course-price"
          inputMode="decimal"
          required
          value={form.pricePerSession}
          onChange={set('pricePerSession')}
        />
        <Field
          label="Full-course price (optional)"
          id="course-full-price"
          inputMode="decimal"
          value={form.priceFullCourse}
          onChange={set('priceFullCourse')}
        />
      </div>
      <ErrorNotice error={publish.error} />
      {published && <Notice>Published the course “{published}”.</Notice>}
      <button type="submit" aria-busy={publish.pending} disabled={publish.pending}>
        Publish course
      </button>
    </form>
  );
}

/**
 * Where a class stands, by its times (a meeting row is only scheduled or
 * cancelled): upcoming, in progress, over.
 */
function meetingPhase(m: { status: string; startsAt: string; endsAt: string }): string {
  if (m.status === 'cancelled') return 'cancelled';
  const now = Date.now();
  if (now < Date.parse(m.startsAt)) return 'upcoming';
  return now < Date.parse(m.endsAt) ? 'in_progress' : 'over';
}

/** The teacher's way into their class's room, once a booking of it has opened. */
function JoinOwnClass({ meetingId, bookings }: { meetingId: string; bookings: Booking[] }) {
  if (!bookings.some((b) => b.status === 'open')) return null;
  return (
    <section aria-labelledby="join-title" className="join">
      <h2 id="join-title">The class is open</h2>
      <Link href={`/meetings/${meetingId}/class`} className="join-link" data-testid="join-link">
        Join the class
      </Link>
    </section>
  );
}

export function MeetingPage({ id }: { id: string }) {
  const { token, user } = useAuth();
  const meeting = useResource<MeetingDetail>(`/meetings/${id}`, { live: true });
  const [reason, setReason] = useState('');
  const [asked, setAsked] = useState(false);
  const cancel = useAction(async () => {
    await request('POST', `/meetings/${id}/cancel`, {
      token,
      body: reason.trim() === '' ? {} : { reason: reason.trim() },
    });
    setAsked(false);
    meeting.reload();
  });
  return (
    <section>
      {user.role === 'teacher' && (
        <p>
          <Link href="/classes">All my classes</Link>
        </p>
      )}
      <Loaded resource={meeting} what="the class">
        {(m) => (
          <>
            <h1>{m.title ?? 'Class'}</h1>
            <p>
              {dateTime(m.startsAt)} to {dateTime(m.endsAt)} · <Money amount={m.price} /> · {m.seatsLeft} of{' '}
              {m.capacity} seats left · <Badge value={meetingPhase(m)} />
            </p>
            {user.role === 'teacher' && <JoinOwnClass meetingId={m.id} bookings={m.bookings} />}
            <h2>Bookings</h2>
            {m.bookings.length === 0 ? (
              <p>No bookings yet.</p>
            ) : (
              <div className="table-scroll">
                <table data-testid="meeting-bookings">
                  <thead>
                    <tr>
                      <th scope="col">Student</th>
                      <th scope="col">Status</th>
                      <th scope="col">Money</th>
                      <th scope="col">Student present</th>
                      <th scope="col">Teacher present</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.bookings.map((b) => (
                      <tr key={b.id}>
                        <td>
                          <Link href={`/bookings/${b.id}`}>{b.studentName}</Link>
                        </td>
                        <td>
                          <Badge value={b.status} />
                        </td>
                        <td>
                          <Badge value={b.settlement} />
                        </td>
                        <td>
                          {b.attendance
                            ? `${duration(b.attendance.seconds)} (${b.attendance.percent}%)`
                            : '—'}
                        </td>
                        <td>{b.attendance ? duration(b.attendance.teacherSeconds) : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {m.status === 'scheduled' &&
              new Date(m.startsAt).getTime() > Date.now() &&
              (asked ? (
                <form
                  className="confirm"
                  aria-label="Cancel the class"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void cancel.run();
                  }}
                >
                  <p>Every student booked gets their money back in full.</p>
                  <label>
                    Reason (optional)
                    <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
                  </label>
                  <ErrorNotice error={cancel.error} />
                  <button type="submit" aria-busy={cancel.pending} disabled={cancel.pending}>
                    Cancel the class
                  </button>{' '}
                  <button type="button" className="secondary" onClick={() => setAsked(false)}>
                    Keep it
                  </button>
                </form>
              ) : (
                <button type="button" className="secondary" onClick={() => setAsked(true)}>
                  Cancel this class…
                </button>
              ))}
          </>
        )}
      </Loaded>
    </section>
  );
}
