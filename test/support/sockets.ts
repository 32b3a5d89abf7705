// Socket.IO clients of the notifications namespace, as a browser would connect.
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import type { NotificationView } from '../../notifications/types';
import { registerCleanup } from './cleanup';

export interface NotificationClient {
  socket: Socket;
  received: NotificationView[];
  /** Resolves when a notification matching `match` has arrived (bounded by the test's timeout). */
  until(match: (n: NotificationView) => boolean): Promise<NotificationView>;
  close(): void;
}

function socketFor(baseUrl: string, auth: Record<string, unknown> | undefined): Socket {
  const socket = io(`${baseUrl}/notifications`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(auth === undefined ? {} : { auth }),
  });
  registerCleanup(async () => {
    socket.close();
  });
  return socket;
}

/** A connected client of `token`'s user. */
export async function connectNotifications(baseUrl: string, token: string): Promise<NotificationClient> {
  const socket = socketFor(baseUrl, { token });
  const received: NotificationView[] = [];
  const arrivals = new EventEmitter();
  socket.on('notification:new', (notification: NotificationView) => {
    received.push(notification);
    arrivals.emit('notification');
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return {
    socket,
    received,
    async until(match) {
      for (;;) {
        const found = received.find(match);
        if (found !== undefined) return found;
        await once(arrivals, 'notification');
      }
    },
    close: () => socket.close(),
  };
}

/** The error a refused handshake gives the client. */
export async function refusedConnection(
  baseUrl: string,
  auth: Record<string, unknown> | undefined,
): Promise<Error & { data?: { error?: { code: string; message: string } } }> {
  const socket = socketFor(baseUrl, auth);
  try {
    return await new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('the connection was accepted')));
      socket.once('connect_error', resolve);
    });
  } finally {
    socket.close();
  }
}
