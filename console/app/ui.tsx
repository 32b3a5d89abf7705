// Small pieces every page uses. React escapes every value it renders; nothing
// here builds HTML from strings.
import type { InputHTMLAttributes, ReactNode } from 'react';
import type { ApiError } from './api';
import type { Action } from './hooks';
import { money, words } from './format';
import { useSession } from './session';

/** The API's error, as the user can act on it: message, code, and which fields. */
export function ErrorNotice({ error, onDismiss }: { error: ApiError | null; onDismiss?: () => void }) {
  if (error === null) return null;
  return (
    <div role="alert" className="notice notice-error">
      <strong>{error.message}</strong>
      {error.details.length > 0 && (
        <ul>
          {error.details.map((detail) => (
            <li key={`${detail.path}:${detail.message}`}>
              {detail.path}: {detail.message}
            </li>
          ))}
        </ul>
      )}
      <small className="code">
        {error.status > 0 ? `HTTP ${error.status} · ` : ''}
        {error.code}
      </small>
      {onDismiss && (
        <button type="button" className="secondary outline small" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice notice-ok">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-busy="true">Loading {what}…</p>;
}

/** An amount in the deployment's currency. */
export function Money({ amount, currency }: { amount: number; currency?: string }) {
  const { config } = useSession();
  return <span className="money">{money(amount, currency ?? config?.currency ?? 'usd')}</span>;
}

export function useMoney(): (amount: number) => string {
  const { config } = useSession();
  return (amount) => money(amount, config?.currency ?? 'usd');
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value}`}>{words(value)}</span>;
}

/** A labelled input; the label's text is its accessible name. */
export function Field({
  label,
  hint,
  ...input
}: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label>
      {label}
      <input {...input} aria-describedby={hint && input.id ? `${input.id}-hint` : undefined} />
      {hint && <small id={input.id ? `${input.id}-hint` : undefined}>{hint}</small>}
    </label>
  );
}

/** What a resource's first load shows: the error, a spinner, or the page. */
export function Loaded<T>({
  resource,
  what,
  children,
}: {
  resource: { data: T | undefined; error: ApiError | null; loading: boolean; reload: () => void };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (resource.data !== undefined)
    return (
      <>
        {resource.error && <ErrorNotice error={resource.error} />}
        {children(resource.data)}
      </>
    );
  if (resource.error)
    return (
      <>
        <ErrorNotice error={resource.error} />
        <button type="button" onClick={resource.reload}>
          Try again
        </button>
      </>
    );
  return <Loading what={what} />;
}

/** The next page of a list, when there is one. */
export function MoreButton({ more, what }: { more: Action<[], void> | null; what: string }) {
  if (more === null) return null;
  return (
    <>
      <ErrorNotice error={more.error} />
      <button
        type="button"
        className="secondary"
        aria-busy={more.pending}
        disabled={more.pending}
        onClick={() => void more.run()}
      >
        More {what}
      </button>
    </>
  );
}
