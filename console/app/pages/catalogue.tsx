// What a student can book: teachers, their upcoming slots and courses with
// seats left, and the booking itself with the price to be held shown first.
import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { request } from '../api';
import { dateTime } from '../format';
import { useAction, useIdempotencyKey, useResource } from '../hooks';
import { useAuth } from '../session';
import type { Booking, Course, CourseOffer, Meeting, Page, Wallet } from '../types';
import { ErrorNotice, Field, Loaded, Money } from '../ui';

interface TeacherSummary {
  id: string;
  name: string;
  upcomingMeetings: number;
}

export function TeacherListPage() {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const teachers = useResource<Page<TeacherSummary>>(
    `/teachers?limit=50${q ? `&q=${encodeURIComponent(q)}` : ''}`,
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setQ(search.trim());
  };
  return (
    <section>
      <h1>Find a class</h1>
      <form role="search" onSubmit={submit} aria-label="Search teachers">
        <Field
          label="Teacher's name"
          id="teacher-search"
          type="search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      <Loaded resource={teachers} what="teachers">
        {(page) =>
          page.data.length === 0 ? (
            <p>No teacher matches.</p>
          ) : (
            <ul className="cards">
              {page.data.map((teacher) => (
                <li key={teacher.id}>
                  <Link href={`/teachers/${teacher.id}`}>{teacher.name}</Link>{' '}
                  <small>
                    {teacher.upcomingMeetings} upcoming {teacher.upcomingMeetings === 1 ? 'class' : 'classes'}{' '}
                    with seats left
                  </small>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </section>
  );
}

export function TeacherPage({ id }: { id: string }) {
  const teacher = useResource<TeacherSummary>(`/teachers/${id}`);
  const slots = useResource<{ data: Meeting[] }>(`/teachers/${id}/slots`, { live: true });
  const courses = useResource<{ data: CourseOffer[] }>(`/teachers/${id}/courses`, { live: true });
  return (
    <section>
      <h1>Upcoming classes{teacher.data === undefined ? '' : ` by ${teacher.data.name}`}</h1>
      <ErrorNotice error={teacher.error} />
      <p>
        <Link href="/teachers">All teachers</Link>
      </p>
      <h2>Single classes</h2>
      <Loaded resource={slots} what="classes">
        {({ data }) => {
          const single = data.filter((m) => m.courseId === null);
          return single.length === 0 ? (
            <p>No upcoming single classes.</p>
          ) : (
            <MeetingTable meetings={single} />
          );
        }}
      </Loaded>
      <h2>Courses</h2>
      <Loaded resource={courses} what="courses">
        {({ data }) =>
          data.length === 0 ? (
            <p>No upcoming courses.</p>
          ) : (
            <div className="table-scroll">
              <table data-testid="courses">
                <thead>
                  <tr>
                    <th scope="col">Course</th>
                    <th scope="col">Next session</th>
                    <th scope="col" className="number">
                      Sessions to come
                    </th>
                    <th scope="col" className="number">
                      Enrolling holds
                    </th>
                    <th scope="col" className="number">
                      Seats left
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((course) => (
                    <tr key={course.id}>
                      <td>
                        <Link href={`/courses/${course.id}`}>{course.title}</Link>
                      </td>
                      <td>{dateTime(course.nextStartsAt)}</td>
                      <td className="number">{course.upcomingSessions}</td>
                      <td className="number">
                        <Money amount={course.enrolmentPrice} />
                      </td>
                      <td className="number">{course.seatsLeft}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}

function MeetingTable({ meetings }: { meetings: Meeting[] }) {
  const [chosen, setChosen] = useState<string | null>(null);
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col">Starts</th>
            <th scope="col">Length</th>
            <th scope="col" className="number">
              Price
            </th>
            <th scope="col" className="number">
              Seats left
            </th>
            <th scope="col">
              <span className="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {meetings.map((meeting) => (
            <tr key={meeting.id}>
              <td>{meeting.title ?? 'Class'}</td>
              <td>{dateTime(meeting.startsAt)}</td>
              <td>{meeting.durationMinutes} min</td>
              <td className="number">
                <Money amount={meeting.price} />
              </td>
              <td className="number">{meeting.seatsLeft}</td>
              <td>
                {chosen === meeting.id ? (
                  <ConfirmBooking meeting={meeting} onCancel={() => setChosen(null)} />
                ) : (
                  <button
                    type="button"
                    disabled={meeting.seatsLeft === 0}
                    onClick={() => setChosen(meeting.id)}
                  >
                    Book {meeting.title ?? 'class'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The second step of booking: what will be held, from which balance; one click books once. */
function ConfirmBooking({ meeting, onCancel }: { meeting: Meeting; onCancel: () => void }) {
  const { token } = useAuth();
  const [, navigate] = useLocation();
  const wallet = useResource<Wallet>('/wallet');
  const keys = useIdempotencyKey();
  const book = useAction(async () => {
    const body = { meetingId: meeting.id };
    const booking = await request<Booking>('POST', '/bookings', {
      token,
      body,
      idempotencyKey: keys.keyFor(body),
    });
    keys.succeeded();
    navigate(`/bookings/${booking.id}`);
  });
  return (
    <div className="confirm" role="group" aria-label={`Confirm booking of ${meeting.title ?? 'class'}`}>
      <p>
        <Money amount={meeting.price} /> will be held from your wallet until the class is over
        {wallet.data && (
          <>
            {' '}
            (available now: <Money amount={wallet.data.available} />)
          </>
        )}
        .
      </p>
      <ErrorNotice error={book.error} />
      <button type="button" aria-busy={book.pending} disabled={book.pending} onClick={() => void book.run()}>
        Confirm booking
      </button>{' '}
      <button type="button" className="secondary" onClick={onCancel}>
        Not now
      </button>
    </div>
  );
}

export function CoursePage({ id }: { id: string }) {
  const { token } = useAuth();
  const [, navigate] = useLocation();
  const course = useResource<Course>(`/courses/${id}`, { live: true });
  const teacherId = course.data?.teacherId;
  const offers = useResource<{ data: CourseOffer[] }>(teacherId ? `/teachers/${teacherId}/courses` : null, {
    live: true,
  });
  const offer = offers.data?.data.find((o) => o.id === id);
  const [confirming, setConfirming] = useState(false);
  const keys = useIdempotencyKey();
  const enroll = useAction(async () => {
    await request('POST', `/courses/${id}/enroll`, {
      token,
      body: {},
      idempotencyKey: keys.keyFor({ course: id }),
    });
    keys.succeeded();
    navigate('/bookings');
  });
  return (
    <section>
      <Loaded resource={course} what="the course">
        {(c) => (
          <>
            <h1>{c.title}</h1>
            {c.description && <p>{c.description}</p>}
            <p>
              <Money amount={c.pricePerSession} /> per session
              {c.priceFullCourse !== null && (
                <>
                  {' '}
                  · <Money amount={c.priceFullCourse} /> for the full course
                </>
              )}
              {offer && (
                <>
                  {' '}
                  · {offer.upcomingSessions} sessions to come · {offer.seatsLeft} seats left
                </>
              )}
            </p>
            <ol>
              {c.sessions.map((s) => (
                <li key={s.id}>
                  {dateTime(s.startsAt)}, {s.durationMinutes} min
                  {s.status === 'cancelled' ? ' (cancelled)' : ''}
                </li>
              ))}
            </ol>
            {offer === undefined ? (
              <p>This course has no session left to book.</p>
            ) : confirming ? (
              <div className="confirm" role="group" aria-label="Confirm enrolment">
                <p>
                  Enrolling books the {offer.upcomingSessions} sessions to come:{' '}
                  <Money amount={offer.enrolmentPrice} /> is held from your wallet and released session by
                  session.
                </p>
                <ErrorNotice error={enroll.error} />
                <button
                  type="button"
                  aria-busy={enroll.pending}
                  disabled={enroll.pending}
                  onClick={() => void enroll.run()}
                >
                  Confirm enrolment
                </button>{' '}
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                  Not now
                </button>
              </div>
            ) : (
              <button type="button" disabled={offer.seatsLeft === 0} onClick={() => setConfirming(true)}>
                Enrol in the course
              </button>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
