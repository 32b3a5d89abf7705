// The admin's withdrawal queue: approve, reject with a reason, complete a
// manual payout with its reference. Each answer is the workflow's.
import { useState, type FormEvent } from 'react';
import { useSearch } from 'wouter';
import { request } from '../api';
import { dateTime, words } from '../format';
import { useAction, usePagedList } from '../hooks';
import { useAuth } from '../session';
import type { Withdrawal, WithdrawalStatus } from '../types';
import { Badge, ErrorNotice, Loaded, Money, MoreButton, Notice } from '../ui';

const FILTERS: WithdrawalStatus[] = ['pending', 'processing', 'completed', 'rejected', 'failed'];

export function AdminWithdrawalsPage() {
  // A link may name the list to open on (the reminder email's ?status=processing).
  const asked = new URLSearchParams(useSearch()).get('status');
  const [status, setStatus] = useState<WithdrawalStatus>(
    FILTERS.find((value) => value === asked) ?? 'pending',
  );
  const list = usePagedList<Withdrawal>(`/withdrawals?status=${status}&limit=50`, { live: true });
  const [last, setLast] = useState<Withdrawal | null>(null);
  return (
    <section>
      <h1>Withdrawals</h1>
      <fieldset className="toggle">
        <legend>Show</legend>
        {FILTERS.map((value) => (
          <label key={value}>
            <input
              type="radio"
              name="status"
              value={value}
              checked={status === value}
              onChange={() => setStatus(value)}
            />
            {words(value)}
          </label>
        ))}
      </fieldset>
      {last && (
        <Notice>
          Withdrawal {last.id.slice(0, 8)} is now {words(last.status)}
          {last.reference ? ` (reference ${last.reference})` : ''}.
        </Notice>
      )}
      <Loaded resource={list.resource} what="withdrawals">
        {() =>
          list.items.length === 0 ? (
            <p>No {words(status)} withdrawals.</p>
          ) : (
            list.items.map((w) => (
              <AdminWithdrawal
                key={w.id}
                withdrawal={w}
                onDone={(updated) => {
                  setLast(updated);
                  list.reload();
                }}
              />
            ))
          )
        }
      </Loaded>
      <MoreButton more={list.more} what="withdrawals" />
    </section>
  );
}

function AdminWithdrawal({
  withdrawal: w,
  onDone,
}: {
  withdrawal: Withdrawal;
  onDone: (w: Withdrawal) => void;
}) {
  const { token } = useAuth();
  const [reason, setReason] = useState('');
  const [reference, setReference] = useState('');
  const act = useAction(async (action: 'approve' | 'reject' | 'complete', body: object) => {
    onDone(await request<Withdrawal>('POST', `/admin/withdrawals/${w.id}/${action}`, { token, body }));
  });
  const reject = (event: FormEvent) => {
    event.preventDefault();
    void act.run('reject', { reason });
  };
  const complete = (event: FormEvent) => {
    event.preventDefault();
    void act.run('complete', { reference });
  };
  const short = w.id.slice(0, 8);
  return (
    <article data-testid="admin-withdrawal" aria-label={`Withdrawal ${short}`}>
      <p>
        <strong>
          <Money amount={w.amount} currency={w.currency} />
        </strong>{' '}
        to {w.bankAccount.holderName}
        {w.bankAccount.bankName ? `, ${w.bankAccount.bankName}` : ''} ····{w.bankAccount.last4} · asked{' '}
        {dateTime(w.createdAt)} · <Badge value={w.status} /> · {w.provider}
        {w.workflowUrl && (
          <>
            {' '}
            ·{' '}
            <a href={w.workflowUrl} target="_blank" rel="noreferrer noopener">
              workflow
            </a>
          </>
        )}
      </p>
      <p>
        <small>
          Withdrawal id <code>{w.id}</code> (for <code>npm run withdrawal:bank-details -- {w.id}</code>)
        </small>
      </p>
      {w.reason && <p>Reason: {w.reason}</p>}
      <ErrorNotice error={act.error} />
      {w.status === 'pending' && (
        <div className="grid">
          <div>
            <button type="button" disabled={act.pending} onClick={() => void act.run('approve', {})}>
              Approve {short}
            </button>
          </div>
          <form onSubmit={reject} aria-label={`Reject withdrawal ${short}`}>
            <label>
              Reason for rejecting
              <input required maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
            </label>
            <button type="submit" className="secondary" disabled={act.pending}>
              Reject {short}
            </button>
          </form>
        </div>
      )}
      {w.status === 'processing' && w.provider === 'manual' && (
        <form onSubmit={complete} aria-label={`Complete withdrawal ${short}`}>
          <label>
            Bank transfer reference
            <input
              required
              maxLength={200}
              value={reference}
              onChange={(e) => setReference(e.target.value)}
            />
          </label>
          <button type="submit" disabled={act.pending}>
            Mark {short} paid
          </button>
        </form>
      )}
    </article>
  );
}
