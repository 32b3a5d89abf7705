// Real-time delivery. Every API process serves Socket.IO with
// @socket.io/postgres-adapter, which LISTENs on one Postgres channel per
// namespace and hands each message to its local sockets. A notification is
// published on that channel by the very transaction that records it, as the
// adapter's own broadcast message to the room of its user (what
// @socket.io/postgres-emitter sends, whose current release no longer matches
// the adapter's message format). Postgres delivers a NOTIFY when, and only if,
// the transaction commits: a user hears of exactly the notifications that
// exist, whichever process or worker recorded them.
import { MessageType, type ClusterMessage } from 'socket.io-adapter';
import { PacketType } from 'socket.io-parser';
import type { Conn } from '../db/knex';
import type { NotificationView } from './types';

export const NOTIFICATIONS_NAMESPACE = '/notifications';
export const NEW_NOTIFICATION_EVENT = 'notification:new';
/** The adapter's channel for the namespace (its default prefix). */
export const NOTIFICATIONS_CHANNEL = `socket.io#${NOTIFICATIONS_NAMESPACE}`;
/** The adapter's name for a sender that is not a server of the cluster. */
const EMITTER_UID = 'emitter';
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_NOTIFY_BYTES = 7_999;

export function userRoom(userId: string): string {
  return `user:${userId}`;
}

export function broadcastOf(userId: string, notification: NotificationView): ClusterMessage {
  return {
    uid: EMITTER_UID,
    nsp: NOTIFICATIONS_NAMESPACE,
    type: MessageType.BROADCAST,
    data: {
      packet: {
        type: PacketType.EVENT,
        data: [NEW_NOTIFICATION_EVENT, notification],
        nsp: NOTIFICATIONS_NAMESPACE,
      },
      opts: { rooms: [userRoom(userId)], except: [], flags: {} },
    },
  };
}

/**
 * Publishes each notification to its user's sockets when `conn`'s transaction
 * commits. One too large for a NOTIFY (payloads are a few hundred bytes by
 * construction) is not pushed: the client finds it in GET /notifications.
 * Answers how many were published.
 */
export async function publishNotifications(
  conn: Conn,
  notifications: { userId: string; view: NotificationView }[],
): Promise<number> {
  const payloads = notifications
    .map((n) => JSON.stringify(broadcastOf(n.userId, n.view)))
    .filter((payload) => Buffer.byteLength(payload) <= MAX_NOTIFY_BYTES);
  if (payloads.length === 0) return 0;
  await conn.raw('select pg_notify(?, payload) from unnest(?::text[]) as payload', [
    NOTIFICATIONS_CHANNEL,
    payloads,
  ]);
  return payloads.length;
}
