// The class room: a student (/bookings/:id/class) or the teacher
// (/meetings/:id/class) joins the class's LiveKit room in the browser, sees
// and hears who is there, and turns their own microphone and camera on and
// off. The access token comes from GET /bookings/:id/join or GET
// /meetings/:id/join when the person chooses to join, and goes nowhere but to
// the LiveKit server.
import { useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import type { Track } from 'livekit-client';
import { request } from '../api';
import { useClassRoom, type Person } from '../classroom';
import { dateTime } from '../format';
import { useAction, useResource } from '../hooks';
import { useAuth } from '../session';
import type { Booking, JoinInfo, MeetingDetail } from '../types';
import { ErrorNotice, Loaded } from '../ui';

export function ClassRoomPage({ id }: { id: string }) {
  const booking = useResource<Booking>(`/bookings/${id}`);
  return (
    <section aria-labelledby="room-title">
      <p>
        <Link href={`/bookings/${id}`}>← The booking</Link>
      </p>
      <Loaded resource={booking} what="the booking">
        {(b) => <ClassRoom joinPath={`/bookings/${b.id}/join`} times={b} />}
      </Loaded>
    </section>
  );
}

/** The teacher's way in: the class's own room, whichever of its bookings are open. */
export function TeacherClassRoomPage({ id }: { id: string }) {
  const meeting = useResource<MeetingDetail>(`/meetings/${id}`);
  return (
    <section aria-labelledby="room-title">
      <p>
        <Link href={`/meetings/${id}`}>← The class</Link>
      </p>
      <Loaded resource={meeting} what="the class">
        {(m) => <ClassRoom joinPath={`/meetings/${m.id}/join`} times={m} />}
      </Loaded>
    </section>
  );
}

/** `joinPath`: the API route that hands this person a token for the room. */
function ClassRoom({ joinPath, times }: { joinPath: string; times: { startsAt: string; endsAt: string } }) {
  const { token } = useAuth();
  const room = useClassRoom();
  const enter = useAction(async () => {
    // A new token each time: the previous one may be close to its end.
    const joined = await request<JoinInfo>('GET', joinPath, { token });
    await room.join(joined.url, joined.token);
  });
  const inside = room.phase === 'connected' || room.phase === 'reconnecting';
  const me = room.people.find((p) => p.isLocal);
  const busy = enter.pending || room.phase === 'connecting';

  // The button that had the focus goes away when the phase changes: the focus
  // moves to what comes next instead of falling back to the page's start.
  const joinButton = useRef<HTMLButtonElement>(null);
  const firstControl = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (room.phase === 'connected') firstControl.current?.focus();
    if (room.phase === 'left' || room.phase === 'failed') joinButton.current?.focus();
  }, [room.phase]);

  return (
    <>
      <h1 id="room-title">Class room</h1>
      <p>
        The class runs from {dateTime(times.startsAt)} to {dateTime(times.endsAt)}. Being in the room is what
        counts as attending.
      </p>
      <ErrorNotice error={enter.error} />
      <p
        role="status"
        data-testid="room-status"
        className={room.phase === 'failed' ? 'notice notice-error' : undefined}
      >
        {statusText(room.phase, room.message)}
      </p>
      {!inside && (
        <div className="room-controls">
          <button
            ref={joinButton}
            type="button"
            aria-busy={busy}
            disabled={busy}
            onClick={() => void enter.run()}
          >
            {room.phase === 'left' || room.phase === 'failed' ? 'Join again' : 'Join the class'}
          </button>
          {room.phase === 'connecting' && (
            <button type="button" className="secondary" onClick={() => void room.leave()}>
              Cancel
            </button>
          )}
        </div>
      )}
      {inside && me !== undefined && (
        <>
          {room.message !== null && (
            <p role="alert" className="notice notice-error">
              {room.message}
            </p>
          )}
          <div className="room-controls" role="group" aria-label="Your microphone and camera">
            <button
              ref={firstControl}
              type="button"
              aria-busy={room.devicePending === 'microphone'}
              disabled={room.devicePending !== null}
              onClick={() => void room.setMicrophone(!me.microphone)}
            >
              {me.microphone ? 'Turn microphone off' : 'Turn microphone on'}
            </button>
            <button
              type="button"
              aria-busy={room.devicePending === 'camera'}
              disabled={room.devicePending !== null}
              onClick={() => void room.setCamera(!me.camera)}
            >
              {me.camera ? 'Turn camera off' : 'Turn camera on'}
            </button>
            {room.audioBlocked && (
              <button type="button" onClick={() => void room.startAudio()}>
                Play the class's sound
              </button>
            )}
            <button type="button" className="secondary" onClick={() => void room.leave()}>
              Leave the class
            </button>
          </div>
          <ul className="room-people" aria-label="In the room" data-testid="room-people">
            {room.people.map((person) => (
              <PersonTile key={person.identity} person={person} />
            ))}
          </ul>
        </>
      )}
      {!inside && <OtherApp joinPath={joinPath} />}
    </>
  );
}

function statusText(phase: ReturnType<typeof useClassRoom>['phase'], message: string | null): string {
  switch (phase) {
    case 'idle':
      return 'You are not in the room yet.';
    case 'connecting':
      return 'Joining the class…';
    case 'connected':
      return 'You are in the class.';
    case 'reconnecting':
      return 'The connection dropped: joining again…';
    case 'left':
    case 'failed':
      return message ?? 'You are not in the room.';
  }
}

function PersonTile({ person }: { person: Person }) {
  const label = `${person.name}${person.isLocal ? ' (you)' : person.role === 'teacher' ? ' (teacher)' : ''}`;
  const state = [
    person.microphone ? 'microphone on' : 'microphone off',
    person.camera ? 'camera on' : 'camera off',
    ...(person.speaking ? ['speaking'] : []),
  ].join(', ');
  return (
    <li className={person.speaking ? 'speaking' : undefined}>
      {person.video !== undefined ? (
        <Media track={person.video} kind="video" label={`${label}'s camera`} muted={person.isLocal} />
      ) : (
        <div className="no-video" aria-hidden="true">
          {initials(person.name)}
        </div>
      )}
      {person.audio !== undefined && <Media track={person.audio} kind="audio" label={`${label}'s voice`} />}
      <p>
        <strong>{label}</strong>
        <br />
        <small>{state}</small>
      </p>
    </li>
  );
}

/** A track played in an element of React's, attached by livekit-client and detached when it goes. */
function Media({
  track,
  kind,
  label,
  muted,
}: {
  track: Track;
  kind: 'video' | 'audio';
  label: string;
  muted?: boolean;
}) {
  const element = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    const current = element.current;
    if (current === null) return;
    track.attach(current);
    return () => {
      track.detach(current);
    };
  }, [track]);
  return kind === 'video' ? (
    <video ref={element} aria-label={label} autoPlay playsInline muted={muted} />
  ) : (
    <audio ref={element} aria-label={label} autoPlay />
  );
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter((part) => part !== '')
    .slice(0, 2)
    .map((part) => [...part][0]?.toUpperCase() ?? '')
    .join('');
}

/**
 * For a person who would rather use another LiveKit app: the room, the server
 * and a token to copy, without joining here (the same person in two places
 * would push one of them out).
 */
function OtherApp({ joinPath }: { joinPath: string }) {
  const { token } = useAuth();
  const [info, setInfo] = useState<JoinInfo | null>(null);
  const fetchToken = useAction(async () => {
    setInfo(await request<JoinInfo>('GET', joinPath, { token }));
  });
  // The browser may refuse the clipboard (no permission, a page not served over HTTPS):
  // then say so and show the token to copy by hand, rather than do nothing.
  const [copied, setCopied] = useState<'yes' | 'refused' | null>(null);
  const copy = (text: string) => {
    setCopied(null);
    if (navigator.clipboard === undefined) {
      setCopied('refused');
      return;
    }
    // A browser that asks the user for permission may never answer: after a few seconds, say so.
    const unanswered = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no answer')), 3_000),
    );
    Promise.race([navigator.clipboard.writeText(text), unanswered]).then(
      () => setCopied('yes'),
      () => setCopied('refused'),
    );
  };
  return (
    <details data-testid="join-info">
      <summary>Join with another LiveKit app</summary>
      <ErrorNotice error={fetchToken.error} />
      {info === null ? (
        <button
          type="button"
          className="secondary"
          aria-busy={fetchToken.pending}
          disabled={fetchToken.pending}
          onClick={() => void fetchToken.run()}
        >
          Get an access token
        </button>
      ) : (
        <>
          <p>
            Room <code>{info.roomName}</code> on <code>{info.url}</code>. Your access token is for this class
            only and expires after it.
          </p>
          <button type="button" className="secondary" onClick={() => copy(info.token)}>
            Copy access token
          </button>
        </>
      )}
      {copied === 'yes' && (
        <p role="status" className="notice notice-ok">
          Copied.
        </p>
      )}
      {copied === 'refused' && info !== null && (
        <>
          <p role="alert" className="notice notice-error">
            The browser did not let the page copy the token: select it below and copy it yourself.
          </p>
          <label>
            Access token
            <textarea readOnly rows={3} value={info.token} data-testid="join-token" />
          </label>
        </>
      )}
    </details>
  );
}
