// Bookings: the list, and one booking as a timeline (booked, open, attended,
// settled) with what can be done at this point: join while the class is
// open, cancel with the policy's refund shown first, dispute in the window.
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ApiError, request } from '../api';
import { dateTime, duration, words } from '../format';
import { useAction, usePagedList, useResource } from '../hooks';
import { useAuth } from '../session';
import type { Booking } from '../types';
import { Badge, ErrorNotice, Loaded, Money, MoreButton } from '../ui';

export function BookingsPage() {
  const { user } = useAuth();
  const list = usePagedList<Booking>('/bookings?limit=50', { live: true });
  return (
    <section>
      <h1>Bookings</h1>
      <Loaded resource={list.resource} what="bookings">
        {() =>
          list.items.length === 0 ? (
            <p>No bookings yet.</p>
          ) : (
            <div className="table-scroll">
              <table data-testid="bookings">
                <thead>
                  <tr>
                    <th scope="col">Class starts</th>
                    <th scope="col">Class</th>
                    <th scope="col">{user.role === 'teacher' ? 'Student' : 'Teacher'}</th>
                    <th scope="col">Status</th>
                    <th scope="col">Money</th>
                    <th scope="col" className="number">
                      Price
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.items.map((b) => (
                    <tr key={b.id}>
                      <td>
                        <Link href={`/bookings/${b.id}`}>{dateTime(b.startsAt)}</Link>
                      </td>
                      <td>{b.title ?? '—'}</td>
                      <td>{user.role === 'teacher' ? b.studentName : b.teacherName}</td>
                      <td>
                        <Badge value={b.status} />
                      </td>
                      <td>
                        <Badge value={b.settlement} />
                      </td>
                      <td className="number">
                        <Money amount={b.price} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <MoreButton more={list.more} what="bookings" />
    </section>
  );
}

interface Step {
  label: string;
  done: boolean;
  detail?: string;
}

export function timeline(b: Booking): Step[] {
  if (b.status === 'cancelled') {
    return [
      { label: 'Booked', done: true, detail: dateTime(b.createdAt) },
      { label: 'Cancelled', done: true, detail: b.outcome ? words(b.outcome) : undefined },
      { label: 'Settled', done: b.settlement !== 'held', detail: words(b.settlement) },
    ];
  }
  const opened = b.status !== 'confirmed';
  const finished = b.status === 'completed' || b.status === 'requires_manual_review' || b.attendance !== null;
  // Reached while an admin decides (the money held), and kept once one has decided.
  const reviewed = b.status === 'requires_manual_review' || (b.outcome?.startsWith('admin_') ?? false);
  const review: Step[] = !reviewed
    ? []
    : [
        {
          label: 'In review',
          done: true,
          detail:
            b.status === 'requires_manual_review'
              ? `waiting for an admin's decision${b.outcome ? ` (${words(b.outcome)})` : ''}`
              : 'an admin decided',
        },
      ];
  return [
    { label: 'Booked', done: true, detail: dateTime(b.createdAt) },
    {
      label: 'Open',
      done: opened,
      detail: !opened
        ? `opens before ${dateTime(b.startsAt)}`
        : b.status === 'open' && Date.now() < Date.parse(b.endsAt)
          ? 'the class can be joined'
          : 'opened',
    },
    {
      // Whether the student was there is in the detail: a no-show is counted too.
      label: 'Attendance counted',
      done: finished,
      detail: b.attendance
        ? `${duration(b.attendance.seconds)} (${b.attendance.percent}%); teacher ${duration(b.attendance.teacherSeconds)}`
        : undefined,
    },
    ...review,
    {
      label: 'Settled',
      done: b.settlement !== 'held',
      detail:
        b.settlement !== 'held'
          ? `${words(b.settlement)}${b.outcome ? ` (${words(b.outcome)})` : ''}`
          : undefined,
    },
  ];
}

export function BookingPage({ id }: { id: string }) {
  const { user } = useAuth();
  const booking = useResource<Booking>(`/bookings/${id}`, { live: true });
  return (
    <section>
      <p>
        <Link href="/bookings">All bookings</Link>
      </p>
      <Loaded resource={booking} what="the booking">
        {(b) => (
          <>
            <h1>Booking of {dateTime(b.startsAt)}</h1>
            <p data-testid="booking-who">
              {b.title === null ? 'A class' : `“${b.title}”`}
              {user.role !== 'teacher' && ` with ${b.teacherName}`}
              {user.role !== 'student' && `, booked by ${b.studentName}`}
            </p>
            <p>
              <Badge value={b.status} /> <Badge value={b.settlement} /> · price <Money amount={b.price} /> ·
              class {dateTime(b.startsAt)} to {dateTime(b.endsAt)}
            </p>
            <ol className="timeline" aria-label="Booking timeline" data-testid="timeline">
              {timeline(b).map((step) => (
                <li key={step.label} className={step.done ? 'done' : 'todo'}>
                  <strong>{step.label}</strong>
                  <span className="visually-hidden">{step.done ? ' (done)' : ' (not yet)'}</span>
                  {step.detail && <small> {step.detail}</small>}
                </li>
              ))}
            </ol>
            {b.amounts && (
              <p data-testid="amounts">
                Refunded <Money amount={b.amounts.refunded} />, to the teacher{' '}
                <Money amount={b.amounts.teacher} />, to the platform <Money amount={b.amounts.platform} />.
              </p>
            )}
            {b.status === 'open' && user.role !== 'admin' && (
              // The teacher's room is the class's, whichever booking they came from.
              <JoinClass
                href={user.role === 'teacher' ? `/meetings/${b.meetingId}/class` : `/bookings/${b.id}/class`}
              />
            )}
            {/* Only before the start: after it, the policy refuses every cancel. */}
            {(b.status === 'confirmed' || b.status === 'open') && Date.now() < Date.parse(b.startsAt) && (
              <CancelBooking booking={b} onDone={booking.reload} />
            )}
            {user.role === 'student' && b.status === 'completed' && b.settlement === 'held' && (
              <DisputeBooking bookingId={b.id} onDone={booking.reload} />
            )}
            {b.workflowUrl && (
              <p>
                <a href={b.workflowUrl} target="_blank" rel="noreferrer noopener">
                  The booking's workflow
                </a>
              </p>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** While the class is open: the way into its room (the class room page joins it in the browser). */
function JoinClass({ href }: { href: string }) {
  return (
    <section aria-labelledby="join-title" className="join">
      <h2 id="join-title">The class is open</h2>
      <Link href={href} className="join-link" data-testid="join-link">
        Join the class
      </Link>
    </section>
  );
}

/** GET /bookings/:id/cancellation: what a cancel asked now would do. */
interface CancellationPreview {
  allowed: boolean;
  reason: string | null;
  message: string | null;
  outcome: string | null;
  refund: number | null;
  fee: number | null;
  feeToTeacher: number | null;
  feeToPlatform: number | null;
}

function CancelBooking({ booking, onDone }: { booking: Booking; onDone: () => void }) {
  const { token, user } = useAuth();
  const [asked, setAsked] = useState(false);
  const [reason, setReason] = useState('');
  const preview = useResource<CancellationPreview>(asked ? `/bookings/${booking.id}/cancellation` : null);
  const [termsChanged, setTermsChanged] = useState(false);
  const cancel = useAction(async () => {
    // The terms move with the clock (a late cancellation keeps a fee): the cancel
    // carries the outcome shown, and the workflow refuses it (409 terms_changed)
    // rather than apply other terms than the ones the person confirmed.
    const shown = preview.data;
    if (shown?.outcome === null || shown?.outcome === undefined) return;
    setTermsChanged(false);
    try {
      await request('POST', `/bookings/${booking.id}/cancel`, {
        token,
        body: { expectedOutcome: shown.outcome, ...(reason.trim() === '' ? {} : { reason: reason.trim() }) },
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'terms_changed') {
        setTermsChanged(true);
        preview.reload();
        return;
      }
      throw error;
    }
    setAsked(false);
    onDone();
  });
  if (!asked)
    return (
      <p>
        <button type="button" className="secondary" onClick={() => setAsked(true)}>
          Cancel this booking…
        </button>
      </p>
    );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void cancel.run();
  };
  return (
    <form onSubmit={submit} aria-label="Cancel the booking" className="confirm">
      <h2>Cancel the booking</h2>
      <Loaded resource={preview} what="what cancelling would refund">
        {(p) =>
          p.allowed ? (
            <p data-testid="cancel-preview">
              Cancelling now ({p.outcome ? words(p.outcome) : 'cancelled'}) gives{' '}
              {user.role === 'student' ? 'you' : 'the student'} back <Money amount={p.refund ?? 0} />
              {(p.fee ?? 0) > 0 && (
                <>
                  ; a late-cancellation fee of <Money amount={p.fee ?? 0} /> is kept (
                  <Money amount={p.feeToTeacher ?? 0} /> to the teacher,{' '}
                  <Money amount={p.feeToPlatform ?? 0} /> to the platform)
                </>
              )}
              .
            </p>
          ) : (
            <p role="alert">
              This booking cannot be cancelled now: {p.message ?? words(p.reason ?? 'refused')}.
            </p>
          )
        }
      </Loaded>
      <label>
        Reason (optional)
        <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>
      <ErrorNotice error={cancel.error} />
      {termsChanged && (
        <p role="alert" className="notice notice-error">
          The terms changed while this form was open (see above): check them, then confirm again.
        </p>
      )}
      <button
        type="submit"
        aria-busy={cancel.pending}
        disabled={cancel.pending || preview.loading || preview.data?.allowed !== true}
      >
        Confirm cancellation
      </button>{' '}
      <button type="button" className="secondary" onClick={() => setAsked(false)}>
        Keep the booking
      </button>
    </form>
  );
}

function DisputeBooking({ bookingId, onDone }: { bookingId: string; onDone: () => void }) {
  const { token } = useAuth();
  const [reason, setReason] = useState('');
  const dispute = useAction(async () => {
    await request('POST', `/bookings/${bookingId}/dispute`, { token, body: { reason } });
    onDone();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void dispute.run();
  };
  return (
    <form onSubmit={submit} aria-label="Dispute the class" className="confirm">
      <h2>Something went wrong?</h2>
      <p>Until the money is released you can ask support to look at this class.</p>
      <label>
        What happened
        <textarea required value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
      </label>
      <ErrorNotice error={dispute.error} />
      <button type="submit" aria-busy={dispute.pending} disabled={dispute.pending}>
        Open a dispute
      </button>
    </form>
  );
}
