// Loading and submitting, the same way on every page: GETs reload when their
// path or a live notification changes; a submit cannot run twice at once (a
// double click sends one request), and its error stays on screen beside the
// form, whose fields keep what was typed.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, newKey, request } from './api';
import { useSession } from './session';
import type { Page } from './types';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GET `path` (null: nothing to load yet); `live` reloads it when a notification
 * arrives. What another path answered is never shown as this one's: a new
 * filter or id starts from "loading", not from the previous rows and their buttons.
 */
export function useResource<T>(path: string | null, options: { live?: boolean } = {}): Resource<T> {
  const { session, notificationTick } = useSession();
  const token = session?.token ?? null;
  const [answer, setAnswer] = useState<{ path: string; data: T } | undefined>(undefined);
  const [failure, setFailure] = useState<{ path: string; error: ApiError } | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [generation, setGeneration] = useState(0);
  const tick = options.live === true ? notificationTick : 0;

  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoading(true);
    request<T>('GET', path, { token })
      .then((value) => {
        if (!current) return;
        setAnswer({ path, data: value });
        setFailure(null);
      })
      .catch((error: unknown) => {
        if (current) setFailure({ path, error: asApiError(error) });
      })
      .finally(() => {
        if (current) setLoading(false);
      });
    return () => {
      current = false;
    };
  }, [path, token, generation, tick]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return {
    data: answer !== undefined && answer.path === path ? answer.data : undefined,
    error: failure !== null && failure.path === path ? failure.error : null,
    loading,
    reload,
  };
}

/**
 * A list the API pages with `nextCursor`: the first page from `path` (reloaded
 * as useResource does), and `more` fetches the next page and appends it. A row
 * is shown once (by `keyOf`, its id unless told) even when a reload of the
 * first page shifts the pages.
 */
export function usePagedList<T>(
  path: string,
  options: { live?: boolean; keyOf?: (item: T) => string } = {},
): { resource: Resource<Page<T>>; items: T[]; more: Action<[], void> | null; reload: () => void } {
  const { session } = useSession();
  const token = session?.token ?? null;
  const first = useResource<Page<T>>(path, options);
  // `paged`: a More answered (even with nothing), so its `next` is where the list goes on.
  const [later, setLater] = useState<{ path: string; items: T[]; next: string | null; paged: boolean }>({
    path,
    items: [],
    next: null,
    paged: false,
  });
  const appended = later.path === path ? later : { path, items: [], next: null, paged: false };
  const cursor = appended.paged ? appended.next : (first.data?.nextCursor ?? null);
  const more = useAction(async () => {
    if (cursor === null) return;
    const page = await request<Page<T>>(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`,
      { token },
    );
    setLater({ path, items: [...appended.items, ...page.data], next: page.nextCursor, paged: true });
  });
  const keyOf = options.keyOf ?? ((item: T) => (item as { id: string }).id);
  const seen = new Set<string>();
  const items = [...(first.data?.data ?? []), ...appended.items].filter((item) => {
    const key = keyOf(item);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const { reload: reloadFirst } = first;
  const reload = useCallback(() => {
    setLater({ path, items: [], next: null, paged: false });
    reloadFirst();
  }, [path, reloadFirst]);
  return { resource: first, items, more: cursor === null ? null : more, reload };
}

export interface Action<A extends unknown[], R> {
  run: (...args: A) => Promise<R | undefined>;
  pending: boolean;
  error: ApiError | null;
  clearError: () => void;
}

/** A submit: one at a time; its error is kept until the next attempt. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): Action<A, R> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const running = useRef(false);
  const latest = useRef(action);
  latest.current = action;

  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    if (running.current) return undefined; // a second click while the first is on its way
    running.current = true;
    setPending(true);
    setError(null);
    try {
      return await latest.current(...args);
    } catch (failure) {
      setError(asApiError(failure));
      return undefined;
    } finally {
      running.current = false;
      setPending(false);
    }
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { run, pending, error, clearError };
}

/**
 * Idempotency-Keys for a money form: the same key for the same body until it
 * succeeds (a retry after a timeout cannot pay twice), a new one for another
 * body (the server would refuse a key reused with other fields) or after success.
 */
export function useIdempotencyKey(): { keyFor: (body: unknown) => string; succeeded: () => void } {
  const last = useRef<{ body: string; key: string } | null>(null);
  return {
    keyFor(body) {
      const text = JSON.stringify(body);
      if (last.current === null || last.current.body !== text) last.current = { body: text, key: newKey() };
      return last.current.key;
    },
    succeeded() {
      last.current = null;
    },
  };
}

export function asApiError(failure: unknown): ApiError {
  if (failure instanceof ApiError) return failure;
  return new ApiError(0, 'client_error', failure instanceof Error ? failure.message : String(failure));
}

/**
 * A form's fields as typed (strings, as inputs hold them): `set('title')` is the
 * onChange of the field `title`. They stay as they are when a submit fails.
 */
export function useFields<T extends Record<string, string>>(
  initial: T,
): [T, (name: keyof T) => (event: { target: { value: string } }) => void, (fields: T) => void] {
  const [fields, setFields] = useState<T>(initial);
  const set = useCallback(
    (name: keyof T) => (event: { target: { value: string } }) =>
      setFields((current) => ({ ...current, [name]: event.target.value })),
    [],
  );
  return [fields, set, setFields];
}
