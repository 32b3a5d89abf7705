// LiveKit webhooks as LiveKit sends them: a WebhookEvent as JSON, with an
// `Authorization` JWT signed with the API key and secret whose sha256 claim is
// the hash of the exact body (livekit-server-sdk's own AccessToken makes it).
import { createHash, randomUUID } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

export interface WebhookRequest {
  body: string;
  authorization: string;
}

export async function signWebhook(
  event: Record<string, unknown>,
  credentials: { apiKey: string; apiSecret: string } = { apiKey: 'devkey', apiSecret: 'secret' },
): Promise<WebhookRequest> {
  const body = JSON.stringify(event);
  const token = new AccessToken(credentials.apiKey, credentials.apiSecret);
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return { body, authorization: await token.toJwt() };
}

export interface PresenceInput {
  meetingId: string;
  userId: string;
  /** Event time (ms); LiveKit sends whole seconds. */
  atMs: number;
  sid?: string;
  id?: string;
}

/** The JSON of a LiveKit WebhookEvent. */
export function participantEvent(kind: 'participant_joined' | 'participant_left', input: PresenceInput) {
  return {
    event: kind,
    id: input.id ?? `EV_${randomUUID()}`,
    createdAt: String(Math.floor(input.atMs / 1000)),
    room: { sid: `RM_${input.meetingId.slice(0, 8)}`, name: `meeting-${input.meetingId}` },
    participant: { sid: input.sid ?? `PA_${input.userId.slice(0, 8)}`, identity: `user-${input.userId}` },
  };
}

export function roomFinishedEvent(input: { meetingId: string; atMs: number; id?: string }) {
  return {
    event: 'room_finished',
    id: input.id ?? `EV_${randomUUID()}`,
    createdAt: String(Math.floor(input.atMs / 1000)),
    room: { sid: `RM_${input.meetingId.slice(0, 8)}`, name: `meeting-${input.meetingId}` },
  };
}
