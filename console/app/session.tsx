// Who is logged in, this deployment's facts, and the live notifications
// socket. The token lives in sessionStorage (this tab only) and travels in
// the Authorization header and the Socket.IO handshake, never in a URL.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { io } from 'socket.io-client';
import { request, setUnauthorizedHandler } from './api';
import type { ConsoleConfig, Notification, Page, Session } from './types';

const STORAGE_KEY = 'console.session';
const NEW_NOTIFICATION_EVENT = 'notification:new';

export interface SessionContext {
  session: Session | null;
  config: ConsoleConfig | null;
  /** Why the last session ended, when it was not the user's choice. */
  endedBecause: string | null;
  /**
   * The API refused the token (it expired): the pages stay as they are, with
   * what was typed, under a dialog that logs the same person in again.
   */
  expired: string | null;
  /** /console/config.json could not be read: the console shows no page (no amounts in a guessed currency). */
  configFailed: boolean;
  logIn: (session: Session) => void;
  logOut: (reason?: string) => void;
  unread: number;
  refreshUnread: () => void;
  /** Changes whenever a notification arrives: pages showing live state reload on it. */
  notificationTick: number;
  lastNotification: Notification | null;
  socketConnected: boolean;
}

const Context = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const value = useContext(Context);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The logged-in session; pages behind the role guard only. */
export function useAuth(): Session {
  const { session } = useSession();
  if (session === null) throw new Error('useAuth without a session');
  return session;
}

function storedSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw === null ? null : (JSON.parse(raw) as Session);
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(storedSession);
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [endedBecause, setEndedBecause] = useState<string | null>(null);
  const [expired, setExpired] = useState<string | null>(null);
  const [configFailed, setConfigFailed] = useState(false);
  const [unread, setUnread] = useState(0);
  const [notificationTick, setTick] = useState(0);
  const [lastNotification, setLast] = useState<Notification | null>(null);
  const [socketConnected, setConnected] = useState(false);

  const logIn = useCallback((next: Session) => {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setEndedBecause(null);
    setExpired(null);
    setSession(next);
  }, []);
  const logOut = useCallback((reason?: string) => {
    sessionStorage.removeItem(STORAGE_KEY);
    setEndedBecause(reason ?? null);
    setExpired(null);
    setSession(null);
    setUnread(0);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() =>
      setExpired('Your session has ended. Log in again to go on: what you typed is kept.'),
    );
  }, []);

  useEffect(() => {
    fetch('/console/config.json')
      .then(async (response) => {
        if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
        setConfig((await response.json()) as ConsoleConfig);
      })
      .catch(() => {
        setConfigFailed(true);
        setConfig({ currency: 'usd', testDeposits: false, topups: false });
      });
  }, []);

  const token = session?.token ?? null;
  // Only the latest count asked for is shown: an older answer arriving late (asked
  // before a notification the socket has since delivered) would undo it.
  const unreadAsked = useRef(0);
  const refreshUnread = useCallback(() => {
    if (token === null) return;
    const asked = ++unreadAsked.current;
    request<Page<Notification>>('GET', '/notifications?unread=true&limit=100', { token })
      .then((page) => {
        if (asked === unreadAsked.current) setUnread(page.data.length);
      })
      .catch(() => {}); // the badge is a convenience; the notifications page shows errors
  }, [token]);

  useEffect(() => {
    if (token === null) return;
    refreshUnread();
    const socket = io('/notifications', { auth: { token }, transports: ['websocket', 'polling'] });
    socket.on('connect', () => {
      setConnected(true);
      refreshUnread(); // whatever arrived while the socket was away
    });
    socket.on('disconnect', () => setConnected(false));
    socket.on(NEW_NOTIFICATION_EVENT, (notification: Notification) => {
      setLast(notification);
      unreadAsked.current++; // a count asked for before this one is out of date
      setUnread((count) => count + 1);
      setTick((tick) => tick + 1);
    });
    return () => {
      socket.disconnect();
      setConnected(false);
    };
  }, [token, refreshUnread]);

  const value = useMemo<SessionContext>(
    () => ({
      session,
      config,
      endedBecause,
      expired,
      configFailed,
      logIn,
      logOut,
      unread,
      refreshUnread,
      notificationTick,
      lastNotification,
      socketConnected,
    }),
    [
      session,
      config,
      endedBecause,
      expired,
      configFailed,
      logIn,
      logOut,
      unread,
      refreshUnread,
      notificationTick,
      lastNotification,
      socketConnected,
    ],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
