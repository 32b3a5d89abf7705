// The admin's review queue: each booking in review with its attendance drawn
// on the class's time line, and the decision buttons. The answer shown is the
// workflow's own (the booking as it settled, or why it refused).
import { useState, type FormEvent } from 'react';
import { Link, useSearch } from 'wouter';
import { request } from '../api';
import { dateTime, duration, sentence, time, words } from '../format';
import { useAction, usePagedList, useResource } from '../hooks';
import { useAuth } from '../session';
import type { Booking, Interval, Page, ReviewItem } from '../types';
import { Badge, ErrorNotice, Loaded, Money, MoreButton, Notice } from '../ui';

export function ReviewsPage() {
  // An email's link names its booking: that review comes first, wherever it is in the queue.
  const asked = new URLSearchParams(useSearch()).get('booking');
  const wanted = asked !== null && UUID.test(asked) ? asked : null;
  const askedReview = useResource<Page<ReviewItem>>(
    wanted === null ? null : `/admin/reviews?bookingId=${wanted}`,
    { live: true },
  );
  const queue = usePagedList<ReviewItem>('/admin/reviews?limit=50', { live: true, keyOf: reviewKey });
  const [resolved, setResolved] = useState<Booking[]>([]);
  // A decided review leaves the list where it is: the pages loaded with More stay.
  const onResolved = (b: Booking) => setResolved((list) => [b, ...list.filter((x) => x.id !== b.id)]);
  const gone = new Set(resolved.map((b) => b.id));
  const askedWaits = (askedReview.data?.data ?? []).some((item) => !gone.has(item.booking.id));
  return (
    <section>
      <h1>Reviews</h1>
      {resolved.map((b) => (
        <Notice key={b.id}>
          The booking of {b.studentName} with {b.teacherName} is resolved: {words(b.settlement)}
          {b.outcome ? ` (${words(b.outcome)})` : ''}
          {b.amounts && (
            <>
              ; refunded <Money amount={b.amounts.refunded} />, teacher <Money amount={b.amounts.teacher} />,
              platform <Money amount={b.amounts.platform} />
            </>
          )}
          .
        </Notice>
      ))}
      {wanted !== null && (
        <Loaded resource={askedReview} what="the review">
          {({ data }) => {
            const item = data.find((i) => !gone.has(i.booking.id));
            return item === undefined ? (
              <Notice>
                <Link href={`/bookings/${wanted}`}>Booking {wanted.slice(0, 8)}</Link> does not wait for a
                review (any more).
              </Notice>
            ) : (
              <Review key={item.booking.id} item={item} onResolved={onResolved} />
            );
          }}
        </Loaded>
      )}
      <Loaded resource={queue.resource} what="the review queue">
        {() => {
          const rest = queue.items.filter((item) => item.booking.id !== wanted && !gone.has(item.booking.id));
          return rest.length === 0 ? (
            <p>{askedWaits ? 'Nothing else waits for a decision.' : 'Nothing waits for a decision.'}</p>
          ) : (
            rest.map((item) => <Review key={item.booking.id} item={item} onResolved={onResolved} />)
          );
        }}
      </Loaded>
      <MoreButton more={queue.more} what="reviews" />
    </section>
  );
}

const reviewKey = (item: ReviewItem) => item.booking.id;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Review({ item, onResolved }: { item: ReviewItem; onResolved: (booking: Booking) => void }) {
  const { token } = useAuth();
  const { booking } = item;
  const [percent, setPercent] = useState('50');
  const [note, setNote] = useState('');
  const resolve = useAction(async (decision: 'release' | 'refund' | 'partial') => {
    const body = {
      decision,
      ...(decision === 'partial' ? { refundPercent: Number(percent) } : {}),
      ...(note.trim() === '' ? {} : { note: note.trim() }),
    };
    onResolved(await request<Booking>('POST', `/admin/reviews/${booking.id}/resolve`, { token, body }));
  });
  const submitPartial = (event: FormEvent) => {
    event.preventDefault();
    void resolve.run('partial');
  };
  const headingId = `review-${booking.id}`;
  return (
    <article aria-labelledby={headingId} data-testid="review">
      <header>
        <h2 id={headingId}>
          {item.reason ? sentence(item.reason) : 'Review'}: class of {dateTime(booking.startsAt)}
        </h2>
        <p>
          {booking.title === null ? 'A class' : `“${booking.title}”`} by {booking.teacherName}, booked by{' '}
          {booking.studentName}
        </p>
        <p>
          <Link href={`/bookings/${booking.id}`}>Booking {booking.id.slice(0, 8)}</Link> ·{' '}
          <Money amount={booking.price} /> held · <Badge value={booking.status} />
          {booking.workflowUrl && (
            <>
              {' '}
              ·{' '}
              <a href={booking.workflowUrl} target="_blank" rel="noreferrer noopener">
                workflow
              </a>
            </>
          )}
        </p>
        {item.disputeReason && (
          <blockquote>
            The student wrote: <q>{item.disputeReason}</q>
          </blockquote>
        )}
      </header>
      <Evidence item={item} />
      <form onSubmit={submitPartial} aria-label={`Decide booking ${booking.id.slice(0, 8)}`}>
        <label>
          Note (optional)
          <input value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
        </label>
        <ErrorNotice error={resolve.error} />
        <div className="actions">
          <button type="button" disabled={resolve.pending} onClick={() => void resolve.run('release')}>
            Release to the teacher
          </button>
          <button
            type="button"
            className="secondary"
            disabled={resolve.pending}
            onClick={() => void resolve.run('refund')}
          >
            Refund the student
          </button>
          <label className="inline">
            Refund percent
            <input
              type="number"
              min={1}
              max={99}
              required
              value={percent}
              onChange={(e) => setPercent(e.target.value)}
            />
          </label>
          <button type="submit" className="contrast" disabled={resolve.pending}>
            Partial refund
          </button>
        </div>
      </form>
    </article>
  );
}

const WIDTH = 720;
const ROW = 28;
const LEFT = 90;

/** Who was present when, on the class's time line (start to end), as bars and as text. */
function Evidence({ item }: { item: ReviewItem }) {
  const { booking, evidence } = item;
  const start = new Date(booking.startsAt).getTime();
  const end = new Date(booking.endsAt).getTime();
  const attendance = evidence.attendance;
  const x = (ms: number) =>
    LEFT + ((Math.min(Math.max(ms, start), end) - start) / Math.max(1, end - start)) * (WIDTH - LEFT - 10);
  const rows: { label: string; intervals: Interval[] }[] = [
    { label: 'Student', intervals: attendance?.studentIntervals ?? [] },
    { label: 'Teacher', intervals: attendance?.teacherIntervals ?? [] },
  ];
  return (
    <figure>
      <svg
        viewBox={`0 0 ${WIDTH} ${ROW * 2 + 30}`}
        className="evidence"
        role="img"
        aria-labelledby={`ev-${booking.id}`}
        data-testid="evidence"
      >
        <title id={`ev-${booking.id}`}>
          Presence during the class from {time(start)} to {time(end)}; the list below says the same
        </title>
        {rows.map((row, i) => (
          <g key={row.label}>
            <text x={0} y={i * ROW + 18} className="tick">
              {row.label}
            </text>
            <rect x={LEFT} y={i * ROW + 6} width={WIDTH - LEFT - 10} height={16} className="track" />
            {row.intervals.map((interval) => (
              <rect
                key={`${interval.fromMs}-${interval.toMs}`}
                x={x(interval.fromMs)}
                y={i * ROW + 6}
                width={Math.max(1, x(interval.toMs) - x(interval.fromMs))}
                height={16}
                className={row.label === 'Student' ? 'present student' : 'present teacher'}
              >
                <title>
                  {row.label} {time(interval.fromMs)}–{time(interval.toMs)}
                </title>
              </rect>
            ))}
          </g>
        ))}
        <text x={LEFT} y={ROW * 2 + 24} className="tick">
          {time(start)}
        </text>
        <text x={WIDTH - 10} y={ROW * 2 + 24} textAnchor="end" className="tick">
          {time(end)}
        </text>
      </svg>
      <figcaption>
        {attendance === null ? (
          'No attendance was computed.'
        ) : (
          <>
            Student present {duration(attendance.seconds)} ({attendance.percent}%), teacher{' '}
            {duration(attendance.teacherSeconds)}.
            {attendance.eventsDropped && ' Some events were dropped (too many).'}
          </>
        )}
        <details>
          <summary>{evidence.events.length} LiveKit events</summary>
          <ul>
            {evidence.events.map((e) => (
              <li key={e.id}>
                {time(e.at)} {words(e.event)} {e.identity ?? ''}
              </li>
            ))}
          </ul>
        </details>
      </figcaption>
    </figure>
  );
}
