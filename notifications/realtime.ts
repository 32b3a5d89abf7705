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
import type { NotificationView } from './types';

export const NOTIFICATIONS_NAMESPACE = '/notifications';
export const NEW_NOTIFICATION_EVENT = 'notification:new';
/** The adapter's channel for the namespace (its default prefix). */
export const NOTIFICATIONS_CHANNEL = `socket.io#${NOTIFICATIONS_NAMESPACE}`;
/** The adapter's name for a sender that is not a server of the cluster. */
const EMITTER_UID = 'emitter';
/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_NOTIFY_BYTES = 7_999;

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
 * `broadcastOf(user_id, view)` of a just-inserted notification row `n`, as a
 * SQL expression yielding its JSON text: the statement that records
 * notifications publishes them too, in the same round trip. The same message
 * as `broadcastOf` (the adapter parses it; only the whitespace differs);
 * `createdAt` is written as `Date#toISOString` writes it (milliseconds, Z).
 * Its parameters, in order, are `broadcastSqlParams()`.
 */
export const BROADCAST_SQL = `json_build_object(
    'uid', ?::text, 'nsp', ?::text, 'type', ?::int,
    'data', json_build_object(
      'packet', json_build_object(
        'type', ?::int,
        'data', json_build_array(?::text, json_build_object(
          'id', n.id, 'type', n.type, 'payload', n.payload, 'read', n.read_at is not null,
          'readAt', to_char(n.read_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'createdAt', to_char(n.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
        'nsp', ?::text),
      'opts', json_build_object('rooms', json_build_array(? || n.user_id::text), 'except', '[]'::json, 'flags', '{}'::json)))::text`;

export function broadcastSqlParams(): (string | number)[] {
  return [
    EMITTER_UID,
    NOTIFICATIONS_NAMESPACE,
    MessageType.BROADCAST,
    PacketType.EVENT,
    NEW_NOTIFICATION_EVENT,
    NOTIFICATIONS_NAMESPACE,
    userRoom(''),
  ];
}
