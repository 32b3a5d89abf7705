// The class room's connection: livekit-client's Room, joined with the token
// GET /bookings/:id/join (the teacher: GET /meetings/:id/join) hands out, reduced to what the page shows (who is
// there, their camera and microphone, why the room was left). livekit-client
// is loaded when a class room is entered: it is its own chunk of the bundle.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Participant, Room, Track } from 'livekit-client';

type LiveKit = typeof import('livekit-client');

export type RoomPhase = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'left' | 'failed';

export interface Person {
  identity: string;
  name: string;
  /** 'teacher' or 'student', from the token's metadata. */
  role: string | null;
  isLocal: boolean;
  speaking: boolean;
  microphone: boolean;
  camera: boolean;
  /** The camera's track while it is on; for others, once it is received. */
  video: Track | undefined;
  /** Others' microphone, to play (one's own is never played back). */
  audio: Track | undefined;
}

export interface ClassRoom {
  phase: RoomPhase;
  people: Person[];
  /** The microphone or camera being turned on or off (asking the browser for it can take a while). */
  devicePending: 'microphone' | 'camera' | null;
  /** Why the room was left or could not be joined, or why a device could not be used. */
  message: string | null;
  /** The browser blocked sound until the person acts (autoplay rules). */
  audioBlocked: boolean;
  join(url: string, token: string): Promise<void>;
  leave(): Promise<void>;
  setMicrophone(on: boolean): Promise<void>;
  setCamera(on: boolean): Promise<void>;
  startAudio(): Promise<void>;
}

export function useClassRoom(): ClassRoom {
  const room = useRef<Room | null>(null);
  const lk = useRef<LiveKit | null>(null);
  const [phase, setPhase] = useState<RoomPhase>('idle');
  const [people, setPeople] = useState<Person[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [audioBlocked, setAudioBlocked] = useState(false);
  const [devicePending, setDevicePending] = useState<'microphone' | 'camera' | null>(null);
  /** False once the page is gone: a join still on its way must then not connect. */
  const mounted = useRef(true);

  const refresh = useCallback(() => {
    const current = room.current;
    const livekit = lk.current;
    if (current === null || livekit === null) return;
    const everyone: Participant[] = [current.localParticipant, ...current.remoteParticipants.values()];
    setPeople(everyone.map((p) => personOf(livekit, p, p === current.localParticipant)));
    setAudioBlocked(!current.canPlaybackAudio);
  }, []);

  // Leaving the page leaves the room.
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      void room.current?.disconnect();
    };
  }, []);

  const join = useCallback(
    async (url: string, token: string) => {
      if (!mounted.current) return;
      const previous = room.current;
      room.current = null;
      if (previous !== null) await previous.disconnect();
      setMessage(null);
      setPhase('connecting');
      let livekit: LiveKit;
      try {
        livekit = lk.current ?? (await import('livekit-client'));
      } catch {
        setPhase('failed');
        // Most often a new version of the console was deployed since this page was loaded.
        setMessage('The class room could not be loaded. Reload the page and join again.');
        return;
      }
      lk.current = livekit;
      // The person may have left the page while the class room was loading.
      if (!mounted.current) return;
      const { RoomEvent } = livekit;
      const next = new livekit.Room({ adaptiveStream: true, dynacast: true });
      room.current = next;
      const mine = (handler: (...args: never[]) => void) =>
        ((...args: never[]) => {
          if (room.current === next) handler(...args);
        }) as never;
      for (const event of [
        RoomEvent.ParticipantConnected,
        RoomEvent.ParticipantDisconnected,
        RoomEvent.TrackSubscribed,
        RoomEvent.TrackUnsubscribed,
        RoomEvent.TrackMuted,
        RoomEvent.TrackUnmuted,
        RoomEvent.LocalTrackPublished,
        RoomEvent.LocalTrackUnpublished,
        RoomEvent.TrackPublished,
        RoomEvent.TrackUnpublished,
        RoomEvent.ParticipantNameChanged,
        RoomEvent.ParticipantMetadataChanged,
        RoomEvent.ActiveSpeakersChanged,
        RoomEvent.AudioPlaybackStatusChanged,
      ]) {
        next.on(event, mine(refresh));
      }
      next.on(
        RoomEvent.Reconnecting,
        mine(() => setPhase('reconnecting')),
      );
      next.on(
        RoomEvent.Reconnected,
        mine(() => {
          setPhase('connected');
          refresh();
        }),
      );
      next.on(
        RoomEvent.Disconnected,
        mine((reason?: number) => {
          setPhase('left');
          setMessage(leftBecause(livekit, reason));
          setPeople([]);
        }),
      );
      try {
        await next.connect(url, token);
      } catch (error) {
        if (room.current !== next) return;
        setPhase('failed');
        setMessage(notJoinedBecause(livekit, error, url));
        return;
      }
      // Disconnected may already have been told (a room closed just as it was joined).
      if (room.current !== next || next.state !== livekit.ConnectionState.Connected) return;
      setPhase('connected');
      refresh();
    },
    [refresh],
  );

  const leave = useCallback(async () => {
    await room.current?.disconnect();
  }, []);

  const device = useCallback(
    async (which: 'microphone' | 'camera', on: boolean) => {
      const current = room.current;
      if (current === null) return;
      setMessage(null);
      setDevicePending(which);
      try {
        if (which === 'microphone') await current.localParticipant.setMicrophoneEnabled(on);
        else await current.localParticipant.setCameraEnabled(on);
      } catch (error) {
        setMessage(deviceRefused(which, on, error));
      } finally {
        setDevicePending(null);
      }
      refresh();
    },
    [refresh],
  );
  const setMicrophone = useCallback((on: boolean) => device('microphone', on), [device]);
  const setCamera = useCallback((on: boolean) => device('camera', on), [device]);

  const startAudio = useCallback(async () => {
    await room.current?.startAudio();
    refresh();
  }, [refresh]);

  return {
    phase,
    people,
    devicePending,
    message,
    audioBlocked,
    join,
    leave,
    setMicrophone,
    setCamera,
    startAudio,
  };
}

function personOf(livekit: LiveKit, p: Participant, isLocal: boolean): Person {
  const { Source } = livekit.Track;
  const camera = p.getTrackPublication(Source.Camera);
  const microphone = p.getTrackPublication(Source.Microphone);
  const on = (publication: typeof camera) => publication !== undefined && !publication.isMuted;
  return {
    identity: p.identity,
    name: p.name || p.identity,
    role: roleOf(p.metadata),
    isLocal,
    speaking: p.isSpeaking,
    microphone: on(microphone),
    camera: on(camera),
    video: on(camera) ? camera?.track : undefined,
    audio: !isLocal && on(microphone) ? microphone?.track : undefined,
  };
}

function roleOf(metadata: string | undefined): string | null {
  try {
    const role: unknown =
      metadata === undefined ? undefined : (JSON.parse(metadata) as { role?: unknown }).role;
    return role === 'teacher' || role === 'student' ? role : null;
  } catch {
    return null;
  }
}

function leftBecause(livekit: LiveKit, reason: number | undefined): string {
  const { DisconnectReason } = livekit;
  switch (reason) {
    case DisconnectReason.CLIENT_INITIATED:
      return 'You left the class.';
    case DisconnectReason.ROOM_DELETED:
      return 'The class has ended: its room was closed.';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'You joined this class from another window or device, so this one left.';
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'You were removed from the class.';
    default:
      return 'The connection to the class was lost. Join again to go back in.';
  }
}

function notJoinedBecause(livekit: LiveKit, error: unknown, url: string): string {
  const { ConnectionError, ConnectionErrorReason } = livekit;
  if (error instanceof ConnectionError) {
    switch (error.reason) {
      case ConnectionErrorReason.NotAllowed:
        return 'The class room refused the access token (it may have expired). Join again for a new one.';
      case ConnectionErrorReason.ServerUnreachable:
        return `The class room's video server (${url}) did not answer. If your internet connection works, the server may be down: try again in a moment.`;
      case ConnectionErrorReason.Cancelled:
        return 'Joining was cancelled.';
      default:
        break;
    }
  }
  const detail = error instanceof Error ? error.message : String(error);
  return `The class room could not be joined: ${detail}`;
}

function deviceRefused(which: 'microphone' | 'camera', on: boolean, error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError') {
    return `The browser did not allow the page to use your ${which}: allow it in the address bar's site settings.`;
  }
  if (name === 'NotFoundError') return `No ${which} was found on this device.`;
  if (name === 'NotReadableError') return `Your ${which} is in use by another application.`;
  return `Your ${which} could not be turned ${on ? 'on' : 'off'}: ${error instanceof Error ? error.message : String(error)}`;
}
