// LiveKit, through its server SDK: join tokens (AccessToken), webhook
// verification (WebhookReceiver, against the raw body) and closing rooms
// (RoomServiceClient.deleteRoom, only when LIVEKIT_URL is configured).
import { createHash } from 'node:crypto';
import { AccessToken, RoomServiceClient, TokenVerifier, WebhookReceiver } from 'livekit-server-sdk';
import type { PresenceEventKind } from '../domain/attendance';

export interface LiveKitConfig {
  url: string | undefined;
  apiKey: string;
  apiSecret: string;
}

/** A webhook event reduced to what attendance needs; `kind` undefined for events that are ignored. */
export interface ReceivedEvent {
  id: string;
  event: string;
  kind: PresenceEventKind | undefined;
  roomName: string | undefined;
  identity: string | undefined;
  participantSid: string | undefined;
  /** Event time (createdAt, seconds) in ms. */
  atMs: number;
}

/** Correctly signed, but not an event this service can store (no id, an impossible time). */
export class MalformedWebhookError extends Error {
  constructor(reason: string) {
    super(`webhook event unusable: ${reason}`);
    this.name = 'MalformedWebhookError';
  }
}

/** Event ids are short (`EV_...`); a bound keeps the table's key small. */
const MAX_EVENT_ID_LENGTH = 200;
/** Event times beyond this (the year 2999) are not times. */
const MAX_EVENT_SECONDS = 32_503_680_000n;

export class InvalidWebhookError extends Error {
  constructor(cause: unknown) {
    super(`webhook refused: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'InvalidWebhookError';
  }
}

const USED_EVENTS: Record<string, PresenceEventKind> = {
  participant_joined: 'participant_joined',
  participant_left: 'participant_left',
  room_finished: 'room_finished',
};

export class LiveKit {
  private readonly receiver: WebhookReceiver;
  private readonly verifier: TokenVerifier;
  private readonly rooms: RoomServiceClient | undefined;

  constructor(private readonly config: LiveKitConfig) {
    this.receiver = new WebhookReceiver(config.apiKey, config.apiSecret);
    this.verifier = new TokenVerifier(config.apiKey, config.apiSecret);
    this.rooms =
      config.url === undefined
        ? undefined
        : new RoomServiceClient(config.url, config.apiKey, config.apiSecret);
  }

  /** Whether rooms are closed at finalisation (a LiveKit server is configured). */
  get closesRooms(): boolean {
    return this.rooms !== undefined;
  }

  /** A token that joins this one room as this identity, valid until `validUntil`. */
  async joinToken(input: {
    roomName: string;
    identity: string;
    name: string;
    /** What the room's other participants are told of this one (JSON). */
    metadata?: string;
    now: Date;
    validUntil: Date;
  }): Promise<string> {
    const ttlSeconds = Math.max(1, Math.ceil((input.validUntil.getTime() - input.now.getTime()) / 1000));
    const token = new AccessToken(this.config.apiKey, this.config.apiSecret, {
      identity: input.identity,
      name: input.name,
      ttl: ttlSeconds,
      ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    });
    token.addGrant({ room: input.roomName, roomJoin: true, canPublish: true, canSubscribe: true });
    return token.toJwt();
  }

  /**
   * Verifies the signature over the raw body: InvalidWebhookError when it is
   * missing, forged or tampered with; MalformedWebhookError for a signed body
   * that is not an event, or an event that cannot be stored.
   */
  async receiveWebhook(rawBody: string, authorization: string | undefined): Promise<ReceivedEvent> {
    let event;
    try {
      event = await this.receiver.receive(rawBody, authorization);
    } catch (error) {
      // The receiver reads the body only once the signature holds; it throws the same either way.
      if (await this.signed(rawBody, authorization)) {
        throw new MalformedWebhookError('the signed body is not a LiveKit webhook event');
      }
      throw new InvalidWebhookError(error);
    }
    if (event.id === '' || event.id.length > MAX_EVENT_ID_LENGTH) {
      throw new MalformedWebhookError(`the event id must be 1 to ${MAX_EVENT_ID_LENGTH} characters`);
    }
    if (event.createdAt <= 0n || event.createdAt > MAX_EVENT_SECONDS) {
      throw new MalformedWebhookError('createdAt is not a time');
    }
    return {
      id: event.id,
      event: event.event,
      kind: USED_EVENTS[event.event],
      roomName: event.room?.name || undefined,
      identity: event.participant?.identity || undefined,
      participantSid: event.participant?.sid || undefined,
      atMs: Number(event.createdAt) * 1000,
    };
  }

  /** Whether the body carries a valid signature of this server's key (as WebhookReceiver checks it). */
  private async signed(rawBody: string, authorization: string | undefined): Promise<boolean> {
    if (authorization === undefined || authorization === '') return false;
    try {
      const claims = await this.verifier.verify(authorization);
      return claims.sha256 === createHash('sha256').update(rawBody).digest('base64');
    } catch {
      return false;
    }
  }

  /** Closes the room (disconnecting everyone); a room that is already gone is fine. */
  async closeRoom(roomName: string): Promise<void> {
    if (this.rooms === undefined) return;
    try {
      await this.rooms.deleteRoom(roomName);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  const { status, code } = error as { status?: number; code?: string };
  return status === 404 || code === 'not_found';
}
