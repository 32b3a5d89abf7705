// In-app notifications: newest first, unread marked, each one readable once.
import { request } from '../api';
import { dateTime, words } from '../format';
import { useAction, usePagedList } from '../hooks';
import { useAuth, useSession } from '../session';
import type { Notification } from '../types';
import { ErrorNotice, Loaded, MoreButton } from '../ui';

export function NotificationsPage() {
  const { token } = useAuth();
  const { refreshUnread, socketConnected } = useSession();
  const list = usePagedList<Notification>('/notifications?limit=50', { live: true });
  const markRead = useAction(async (id: string) => {
    await request('POST', `/notifications/${id}/read`, { token, body: {} });
    list.reload();
    refreshUnread();
  });
  return (
    <section>
      <h1>Notifications</h1>
      <p>
        <small>
          {socketConnected
            ? 'New notifications appear here as they happen.'
            : 'Live updates are reconnecting…'}
        </small>
      </p>
      <ErrorNotice error={markRead.error} />
      <Loaded resource={list.resource} what="notifications">
        {() =>
          list.items.length === 0 ? (
            <p>Nothing yet.</p>
          ) : (
            <ul className="notifications">
              {list.items.map((n) => (
                <li key={n.id} className={n.read ? 'read' : 'unread'}>
                  <strong>{words(n.type)}</strong> <small>{dateTime(n.createdAt)}</small>
                  <div>{summary(n)}</div>
                  {!n.read && (
                    <button
                      type="button"
                      className="secondary outline small"
                      disabled={markRead.pending}
                      onClick={() => void markRead.run(n.id)}
                    >
                      Mark read
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <MoreButton more={list.more} what="notifications" />
    </section>
  );
}

/** The payload's plain facts, as text (never as markup). */
function summary(notification: Notification): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(notification.payload)) {
    if (typeof value === 'string' || typeof value === 'number') parts.push(`${words(key)}: ${value}`);
  }
  return parts.join(' · ');
}
