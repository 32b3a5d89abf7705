// A local LiveKit server for the browser tests: enough of LiveKit's signalling
// protocol (the /rtc/v1 WebSocket, protobuf SignalRequest/SignalResponse from
// @livekit/protocol) for the real livekit-client in the console to join a
// room, with a real WebRTC peer (werift) on the far end of its peer
// connection, so "connected" in the page means ICE and DTLS completed. The
// access token is checked as LiveKit checks it (TokenVerifier with the API key
// and secret); a token that does not verify or grants no room join is refused
// at the upgrade with 401, as LiveKit does. A second connection of the same
// identity to a room pushes the first out (DUPLICATE_IDENTITY), as LiveKit's does.
//
// Like LiveKit, it reports presence to the app: participant_joined when a
// client's connection is up and participant_left when it leaves or its socket
// closes, as signed webhooks (WebhookReceiver's format) POSTed to `webhookUrl`
// when one is given, stamped with `clock` (the tests' skipped time). And like
// LiveKit's RoomService, `DeleteRoom` (twirp, with a roomCreate token) closes a
// room: its participants are told (LeaveRequest, reason ROOM_DELETED), and the
// app hears participant_left for each and room_finished.
//
// Not an SFU: it forwards no media, and tracks a client publishes are
// acknowledged (AddTrackRequest -> TrackPublishedResponse) and received, not
// relayed to the room's other participants (nor are their TrackInfos: others
// never learn of a participant's tracks).
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  DisconnectReason,
  JoinRequest,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantUpdate,
  ParticipantInfo,
  ParticipantInfo_State,
  ParticipantPermission,
  Pong,
  Room,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  TrackInfo,
  TrackPublishedResponse,
  TrackType,
  TrickleRequest,
  WrappedJoinRequest,
  WrappedJoinRequest_Compression,
} from '@livekit/protocol';
import { TokenVerifier } from 'livekit-server-sdk';
import {
  RTCPeerConnection,
  useAbsSendTime,
  useAudioLevelIndication,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useTransportWideCC,
} from 'werift';
import { WebSocketServer, type WebSocket } from 'ws';
import { LiveKit } from '../../livekit/livekit';
import { startBookingHarness, type BookingHarness } from './bookings';
import { participantEvent, roomFinishedEvent, signWebhook } from './livekit';

const API_KEY = 'devkey';
const API_SECRET = 'secret';

export interface JoinedParticipant {
  room: string;
  identity: string;
  name: string;
  metadata: string;
  sid: string;
  /** The peer connection reached `connected` (ICE and DTLS done). */
  connected: boolean;
  /** Kinds of the tracks it published ('audio', 'video'). */
  published: string[];
  /** It left: its LeaveRequest, its socket closing, or pushed out. */
  left: boolean;
  /** Why the server closed it (DUPLICATE_IDENTITY, ROOM_DELETED), if it did. */
  pushedOut: string | null;
}

export interface LocalLiveKit {
  /** The URL clients are given (ws://127.0.0.1:port). */
  url: string;
  /** Everyone who joined, in order. */
  participants: JoinedParticipant[];
  /** Tokens refused at the upgrade (401), with why. */
  refused: string[];
  /** Rooms closed through RoomService.DeleteRoom, in order. */
  deletedRooms: string[];
  /** Webhooks the app did not take (not 2xx, or not delivered). */
  webhookFailures: string[];
  /** Holds every join's WebSocket upgrade until the returned function is called. */
  holdJoins(): () => void;
  /** Refuse every join from now on, as LiveKit refuses a bad token (401 with `why`); null: accept again. */
  refuseJoins(why: string | null): void;
  /** Resolves when `identity` has a connected peer connection in `room`. */
  waitForConnected(room: string, identity: string, timeoutMs?: number): Promise<JoinedParticipant>;
  /** Resolves when `identity` has left `room`. */
  waitForLeft(room: string, identity: string, timeoutMs?: number): Promise<JoinedParticipant>;
  close(): Promise<void>;
}

export async function startLocalLiveKit(
  options: {
    /** Where presence webhooks go (asked when one is sent: the app may start after this server). */
    webhookUrl?: () => string | undefined;
    /** Event times; the real clock unless given. */
    clock?: () => Date;
  } = {},
): Promise<LocalLiveKit> {
  const verifier = new TokenVerifier(API_KEY, API_SECRET);
  const clock = options.clock ?? (() => new Date());
  const participants: JoinedParticipant[] = [];
  const refused: string[] = [];
  const deletedRooms: string[] = [];
  let refusing: string | null = null;
  let held: Promise<void> | undefined;
  const sockets = new Set<WebSocket>();
  /** Each joined participant's signalling: to be told of others, or to leave (a deleted room). */
  const sessions = new Map<
    JoinedParticipant,
    { send: (message: SignalResponse['message']) => void; close: (reason: DisconnectReason) => void }
  >();
  /** Tells the room's other participants that `p` arrived or left, as LiveKit's ParticipantUpdate does. */
  const announce = (p: JoinedParticipant) => {
    const info = participantInfo(p);
    for (const [other, signal] of sessions) {
      if (other === p || other.room !== p.room || other.left) continue;
      signal.send({ case: 'update', value: new ParticipantUpdate({ participants: [info] }) });
    }
  };
  const peers = new Set<RTCPeerConnection>();
  const changed = new Set<() => void>();
  const notify = () => {
    for (const listener of changed) listener();
  };

  const webhookFailures: string[] = [];
  const webhook = async (
    kind: 'participant_joined' | 'participant_left' | 'room_finished',
    p: Pick<JoinedParticipant, 'room'> & Partial<JoinedParticipant>,
  ) => {
    const url = options.webhookUrl?.();
    if (url === undefined) return;
    const meetingId = p.room.replace(/^meeting-/, '');
    const atMs = clock().getTime();
    try {
      const { body, authorization } = await signWebhook(
        kind === 'room_finished'
          ? roomFinishedEvent({ meetingId, atMs })
          : participantEvent(kind, {
              meetingId,
              userId: p.identity!.replace(/^user-/, ''),
              atMs,
              sid: p.sid!,
            }),
      );
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/webhook+json', authorization },
        body,
      });
      if (!response.ok) webhookFailures.push(`${kind} ${p.identity ?? p.room}: HTTP ${response.status}`);
    } catch (error) {
      webhookFailures.push(`${kind} ${p.identity ?? p.room}: ${String(error)}`);
    }
  };

  const deleteRoom = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const grants = bearer === null ? undefined : await verifier.verify(bearer[1]!).catch(() => undefined);
    if (grants?.video?.roomCreate !== true) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthenticated"}');
      return;
    }
    const { room } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { room: string };
    deletedRooms.push(room);
    const present = [...sessions].filter(([p]) => p.room === room && !p.left);
    for (const [, signal] of present) signal.close(DisconnectReason.ROOM_DELETED);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    for (const [p] of present) if (p.connected) await webhook('participant_left', p);
    await webhook('room_finished', { room });
  };

  const server = http.createServer((req, res) => {
    // livekit-client asks /rtc/v1/validate when the upgrade fails, to tell the person why.
    if (req.url?.startsWith('/rtc/v1/validate') === true) {
      const token = new URL(req.url, 'http://localhost').searchParams.get('access_token') ?? '';
      // Cross-origin, as LiveKit serves it: the page is on the app's origin.
      const cors = { 'access-control-allow-origin': '*' };
      verifier.verify(token).then(
        () =>
          refusing === null
            ? res.writeHead(200, cors).end('success')
            : res.writeHead(401, cors).end(refusing),
        (error: unknown) => res.writeHead(401, cors).end(`invalid token: ${String(error)}`),
      );
      return;
    }
    if (req.method === 'POST' && req.url === '/twirp/livekit.RoomService/DeleteRoom') {
      deleteRoom(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (req, socket, head) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const refuse = (why: string) => {
        refused.push(why);
        socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Length: ${Buffer.byteLength(why)}\r\n\r\n${why}`);
      };
      if (url.pathname !== '/rtc/v1') {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const token = url.searchParams.get('access_token');
      const wrapped = url.searchParams.get('join_request');
      if (token === null || wrapped === null) return refuse('no access_token or join_request');
      if (refusing !== null) return refuse(refusing);
      let grants;
      try {
        grants = await verifier.verify(token);
      } catch (error) {
        return refuse(`token does not verify: ${(error as Error).message}`);
      }
      const room = grants.video?.room;
      if (grants.video?.roomJoin !== true || room === undefined || grants.sub === undefined) {
        return refuse('token grants no room join');
      }
      const request = joinRequestOf(wrapped);
      if (held !== undefined) await held;
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        const participant: JoinedParticipant = {
          room,
          identity: grants.sub!,
          name: grants.name ?? '',
          metadata: grants.metadata ?? '',
          sid: `PA_${randomUUID().slice(0, 12)}`,
          connected: false,
          published: [],
          left: false,
          pushedOut: null,
        };
        // One connection per identity and room: the newest stays.
        for (const [p, signal] of sessions) {
          if (p.room === room && p.identity === participant.identity && !p.left) {
            signal.close(DisconnectReason.DUPLICATE_IDENTITY);
          }
        }
        participants.push(participant);
        notify();
        void session(ws, participant, request);
      });
    })().catch((error: unknown) => {
      refused.push(String(error));
      socket.destroy();
    });
  });

  async function session(ws: WebSocket, me: JoinedParticipant, request: JoinRequest): Promise<void> {
    const send = (message: SignalResponse['message']) => ws.send(new SignalResponse({ message }).toBinary());
    const leave = () => {
      if (me.left) return;
      me.left = true;
      notify();
      announce(me);
      if (me.connected) void webhook('participant_left', me);
    };
    sessions.set(me, {
      send,
      close: (reason) => {
        send({ case: 'leave', value: new LeaveRequest({ reason, action: LeaveRequest_Action.DISCONNECT }) });
        me.left = true;
        me.pushedOut = DisconnectReason[reason];
        notify();
        announce(me);
        // A deleted room's participants are reported by DeleteRoom, in order, before the room finishes.
        if (reason === DisconnectReason.DUPLICATE_IDENTITY && me.connected)
          void webhook('participant_left', me);
        ws.close();
      },
    });
    // A camera is published with simulcast layers, which a browser offers only
    // with the RID header extensions answered, as LiveKit answers them.
    const pc = new RTCPeerConnection({
      headerExtensions: {
        audio: [useSdesMid(), useAudioLevelIndication()],
        video: [
          useSdesMid(),
          useSdesRTPStreamId(),
          useRepairedRtpStreamId(),
          useAbsSendTime(),
          useTransportWideCC(),
        ],
      },
    });
    peers.add(pc);
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !me.connected) {
        me.connected = true;
        notify();
        announce(me);
        void webhook('participant_joined', me);
      }
    });
    pc.onIceCandidate.subscribe((candidate) => {
      if (candidate === undefined) return;
      send({
        case: 'trickle',
        value: new TrickleRequest({
          candidateInit: JSON.stringify(candidate.toJSON()),
          target: SignalTarget.PUBLISHER,
        }),
      });
    });
    const answer = async (offer: SessionDescription) => {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      send({
        case: 'answer',
        value: new SessionDescription({ type: 'answer', sdp: pc.localDescription!.sdp, id: offer.id }),
      });
    };
    const others = participants.filter((p) => p.room === me.room && p !== me && !p.left);
    send({
      case: 'join',
      value: new JoinResponse({
        room: new Room({ sid: `RM_${me.room.slice(-12)}`, name: me.room }),
        participant: participantInfo(me),
        otherParticipants: others.map(participantInfo),
        serverVersion: '1.9.0',
        subscriberPrimary: false,
        pingTimeout: 20,
        pingInterval: 5,
      }),
    });
    if (request.publisherOffer !== undefined) await answer(request.publisherOffer);

    ws.on('message', (data: Buffer) => {
      void (async () => {
        const message = SignalRequest.fromBinary(new Uint8Array(data)).message;
        switch (message.case) {
          case 'offer':
            await answer(message.value);
            break;
          case 'trickle':
            await pc.addIceCandidate(JSON.parse(message.value.candidateInit));
            break;
          case 'addTrack': {
            const { cid, name, type, source } = message.value;
            me.published.push(type === TrackType.AUDIO ? 'audio' : 'video');
            notify();
            send({
              case: 'trackPublished',
              value: new TrackPublishedResponse({
                cid,
                track: new TrackInfo({ sid: `TR_${randomUUID().slice(0, 12)}`, name, type, source }),
              }),
            });
            break;
          }
          case 'ping':
            send({ case: 'pong', value: message.value });
            break;
          case 'pingReq':
            send({
              case: 'pongResp',
              value: new Pong({ lastPingTimestamp: message.value.timestamp, timestamp: BigInt(Date.now()) }),
            });
            break;
          case 'leave':
            leave();
            break;
          default:
            break;
        }
      })().catch((error: unknown) => console.error('local LiveKit:', error));
    });
    ws.on('close', () => {
      leave();
      sessions.delete(me);
      void pc.close();
      peers.delete(pc);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const waitFor = (test: (p: JoinedParticipant) => boolean, what: string, timeoutMs: number) =>
    new Promise<JoinedParticipant>((resolve, reject) => {
      const check = () => {
        const found = participants.find(test);
        if (found === undefined) return;
        clearTimeout(timer);
        changed.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        changed.delete(check);
        reject(
          new Error(`local LiveKit: ${what} within ${timeoutMs} ms; seen ${JSON.stringify(participants)}`),
        );
      }, timeoutMs);
      changed.add(check);
      check();
    });

  return {
    url: `ws://127.0.0.1:${port}`,
    participants,
    refused,
    deletedRooms,
    webhookFailures,
    refuseJoins: (why) => {
      refusing = why;
    },
    holdJoins: () => {
      let release!: () => void;
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        held = undefined;
        release();
      };
    },
    waitForConnected: (room, identity, timeoutMs = 20_000) =>
      waitFor(
        (p) => p.room === room && p.identity === identity && p.connected,
        `${identity} connected to ${room}`,
        timeoutMs,
      ),
    waitForLeft: (room, identity, timeoutMs = 20_000) =>
      waitFor(
        (p) => p.room === room && p.identity === identity && p.left,
        `${identity} left ${room}`,
        timeoutMs,
      ),
    async close() {
      for (const ws of sockets) ws.terminate();
      await Promise.all([...peers].map((pc) => pc.close()));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function participantInfo(p: JoinedParticipant): ParticipantInfo {
  return new ParticipantInfo({
    sid: p.sid,
    identity: p.identity,
    name: p.name,
    metadata: p.metadata,
    state: p.left ? ParticipantInfo_State.DISCONNECTED : ParticipantInfo_State.ACTIVE,
    joinedAt: BigInt(Math.floor(Date.now() / 1000)),
    permission: new ParticipantPermission({ canSubscribe: true, canPublish: true, canPublishData: true }),
  });
}

/** The JoinRequest livekit-client sends in the URL: base64url of a WrappedJoinRequest, gzipped or not. */
function joinRequestOf(parameter: string): JoinRequest {
  const wrapped = WrappedJoinRequest.fromBinary(Buffer.from(parameter, 'base64url'));
  const bytes =
    wrapped.compression === WrappedJoinRequest_Compression.GZIP
      ? gunzipSync(wrapped.joinRequest)
      : wrapped.joinRequest;
  return JoinRequest.fromBinary(new Uint8Array(bytes));
}

/**
 * A booking harness whose LiveKit is a local one: join tokens name it, its
 * presence webhooks reach the app stamped with the harness's (skipped) time,
 * and finalisation closes rooms in it.
 */
export async function startBookingHarnessWithLiveKit(
  settings: Record<string, string> = {},
  options: Parameters<typeof startBookingHarness>[1] = {},
): Promise<{ harness: BookingHarness; livekit: LocalLiveKit }> {
  let harness: BookingHarness | undefined;
  const livekit = await startLocalLiveKit({
    webhookUrl: () => (harness === undefined ? undefined : `${harness.api.url}/api/v1/webhooks/livekit`),
    clock: () => harness?.clock.now() ?? new Date(),
  });
  try {
    harness = await startBookingHarness(
      { ...settings, LIVEKIT_URL: livekit.url },
      {
        ...options,
        activities: {
          livekit: new LiveKit({ url: livekit.url, apiKey: API_KEY, apiSecret: API_SECRET }),
          ...options.activities,
        },
      },
    );
  } catch (error) {
    await livekit.close();
    throw error;
  }
  return { harness, livekit };
}
