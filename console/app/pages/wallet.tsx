// A student's wallet: balances, adding money (Stripe Checkout, or the test
// deposit where it is on), and the statement with its filters and CSV.
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { request } from '../api';
import { amountOf, dateTime, localInputToIso, words } from '../format';
import { useAction, useFields, useIdempotencyKey, usePagedList, useResource } from '../hooks';
import { useAuth, useSession } from '../session';
import type { StatementLine, Topup, Wallet } from '../types';
import { ErrorNotice, Field, Loaded, Money, MoreButton, Notice } from '../ui';

const PENDING_TOPUP_KEY = 'console.pendingTopup';

export function WalletPage() {
  const { config } = useSession();
  const wallet = useResource<Wallet>('/wallet', { live: true });
  const [statementGeneration, setStatementGeneration] = useState(0);
  const changed = () => {
    wallet.reload();
    setStatementGeneration((g) => g + 1);
  };
  return (
    <section>
      <h1>Wallet</h1>
      <Loaded resource={wallet} what="your wallet">
        {(w) => (
          <div className="grid balances">
            <article>
              <header>Available</header>
              <p className="figure" data-testid="wallet-available">
                <Money amount={w.available} currency={w.currency} />
              </p>
            </article>
            <article>
              <header>Held for bookings</header>
              <p className="figure" data-testid="wallet-held">
                <Money amount={w.held} currency={w.currency} />
              </p>
            </article>
            <article>
              <header>Total</header>
              <p className="figure">
                <Money amount={w.total} currency={w.currency} />
              </p>
            </article>
          </div>
        )}
      </Loaded>
      <div className="grid">
        {config?.topups && <TopupForm />}
        {config?.testDeposits && <TestDepositForm onDone={changed} />}
      </div>
      <Statement generation={statementGeneration} />
    </section>
  );
}

function TopupForm() {
  const { token } = useAuth();
  const { config } = useSession();
  const [amount, setAmount] = useState('');
  const keys = useIdempotencyKey();
  const topup = useAction(async () => {
    const amountMinor = amountOf(amount, config?.currency ?? 'usd', 'Amount');
    const body = { amount: amountMinor };
    const created = await request<Topup>('POST', '/wallet/topups', {
      token,
      body,
      idempotencyKey: keys.keyFor(body),
    });
    keys.succeeded();
    sessionStorage.setItem(PENDING_TOPUP_KEY, created.id);
    if (created.url) window.location.assign(created.url);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void topup.run();
  };
  return (
    <form onSubmit={submit} aria-label="Top up with a card">
      <h2>Top up with a card</h2>
      <Field
        label="Amount"
        id="topup-amount"
        inputMode="decimal"
        required
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        hint="You pay on Stripe's page and come back here."
      />
      <ErrorNotice error={topup.error} />
      <button type="submit" aria-busy={topup.pending} disabled={topup.pending}>
        Pay with Stripe
      </button>
    </form>
  );
}

function TestDepositForm({ onDone }: { onDone: () => void }) {
  const { token } = useAuth();
  const { config } = useSession();
  const [amount, setAmount] = useState('');
  const [done, setDone] = useState<number | null>(null);
  const keys = useIdempotencyKey();
  const deposit = useAction(async () => {
    const amountMinor = amountOf(amount, config?.currency ?? 'usd', 'Amount to deposit');
    const body = { amount: amountMinor };
    await request('POST', '/wallet/deposit', { token, body, idempotencyKey: keys.keyFor(body) });
    keys.succeeded();
    setDone(amountMinor);
    setAmount('');
    onDone();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    void deposit.run();
  };
  return (
    <form onSubmit={submit} aria-label="Test deposit">
      <h2>Test deposit</h2>
      <Field
        label="Amount to deposit"
        id="deposit-amount"
        inputMode="decimal"
        required
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        hint="Credits for trying the platform; switched off in production."
      />
      <ErrorNotice error={deposit.error} />
      {done !== null && (
        <Notice>
          Deposited <Money amount={done} />.
        </Notice>
      )}
      <button type="submit" aria-busy={deposit.pending} disabled={deposit.pending}>
        Deposit
      </button>
    </form>
  );
}

type Filters = {
  type: string;
  status: string;
  from: string;
  to: string;
};

const NO_FILTERS: Filters = { type: '', status: '', from: '', to: '' };

function query(filters: Filters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  if (filters.type) params.set('type', filters.type);
  if (filters.status) params.set('status', filters.status);
  const from = filters.from ? localInputToIso(filters.from) : undefined;
  const to = filters.to ? localInputToIso(filters.to) : undefined;
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  return params.toString();
}

/** The statement, newest first; filters apply when submitted; "More" follows the cursor. */
export function Statement({ generation }: { generation: number }) {
  const { token } = useAuth();
  const [draft, set] = useFields<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const statement = usePagedList<StatementLine>(`/wallet/transactions?${query(filters, { limit: '20' })}`, {
    live: true,
  });
  const { reload } = statement;
  useEffect(() => {
    if (generation > 0) reload();
  }, [generation, reload]);
  const download = useAction(async () => {
    const blob = await request<Blob>('GET', `/wallet/transactions?${query(filters, { format: 'csv' })}`, {
      token,
      accept: 'csv',
    });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = 'statement.csv';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  return (
    <section aria-labelledby="statement-title">
      <h2 id="statement-title">Statement</h2>
      <form onSubmit={apply} aria-label="Statement filters" className="filters">
        <div className="grid">
          <label>
            Type
            <select value={draft.type} onChange={set('type')}>
              <option value="">All</option>
              {['deposit', 'purchase', 'refund', 'commission', 'withdrawal'].map((t) => (
                <option key={t} value={t}>
                  {words(t)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select value={draft.status} onChange={set('status')}>
              <option value="">All</option>
              {['pending', 'completed', 'cancelled', 'failed'].map((s) => (
                <option key={s} value={s}>
                  {words(s)}
                </option>
              ))}
            </select>
          </label>
          <Field
            label="From"
            id="statement-from"
            type="datetime-local"
            value={draft.from}
            onChange={set('from')}
          />
          <Field label="To" id="statement-to" type="datetime-local" value={draft.to} onChange={set('to')} />
        </div>
        <div className="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            className="secondary"
            aria-busy={download.pending}
            disabled={download.pending}
            onClick={() => void download.run()}
          >
            Download CSV
          </button>
        </div>
      </form>
      <ErrorNotice error={download.error} />
      <Loaded resource={statement.resource} what="the statement">
        {() => {
          const lines = statement.items;
          return lines.length === 0 ? (
            <p>No lines match.</p>
          ) : (
            <>
              <div className="table-scroll">
                <table data-testid="statement">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Type</th>
                      <th scope="col">Description</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="number">
                        Amount
                      </th>
                      <th scope="col" className="number">
                        Balance after
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {lines.map((line) => (
                      <tr key={line.id}>
                        <td>{dateTime(line.createdAt)}</td>
                        <td>{words(line.type)}</td>
                        <td>{line.description ?? ''}</td>
                        <td>{words(line.status)}</td>
                        <td className="number">
                          <Money amount={line.amount} />
                        </td>
                        <td className="number">
                          <Money amount={line.balanceAfter} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <MoreButton more={statement.more} what="lines" />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

/** Where Stripe sends the student back after paying: waits for the webhook's credit. */
export function TopupReturnPage() {
  const id = sessionStorage.getItem(PENDING_TOPUP_KEY);
  const topup = useResource<Topup>(id === null ? null : `/wallet/topups/${id}`, { live: true });
  const { reload, data } = topup;
  // Stripe's webhook may arrive after the student does: ask again until it has.
  useEffect(() => {
    if (data?.status !== 'open') return;
    const timer = setTimeout(reload, 2_000);
    return () => clearTimeout(timer);
  }, [data, reload]);
  if (id === null)
    return (
      <section>
        <h1>Top-up</h1>
        <p>
          There is no top-up waiting in this tab. <Link href="/wallet">Back to the wallet</Link>
        </p>
      </section>
    );
  return (
    <section>
      <h1>Top-up</h1>
      <Loaded resource={topup} what="your top-up">
        {(t) => (
          <>
            {t.status === 'paid' && (
              <Notice>
                Paid: <Money amount={t.amount} currency={t.currency} /> is in your wallet.
              </Notice>
            )}
            {t.status === 'open' && <p aria-busy="true">Waiting for Stripe to confirm the payment…</p>}
            {(t.status === 'expired' || t.status === 'failed') && (
              <p role="alert">The payment did not go through ({t.status}); nothing was charged.</p>
            )}
            {t.status === 'mismatched' && (
              <p role="alert">Stripe reported another amount than asked; support will look at it.</p>
            )}
          </>
        )}
      </Loaded>
      <p>
        <Link href="/wallet">Back to the wallet</Link>
      </p>
    </section>
  );
}

export function TopupCancelledPage() {
  return (
    <section>
      <h1>Top-up cancelled</h1>
      <p>You left Stripe's page before paying; nothing was charged.</p>
      <p>
        <Link href="/wallet">Back to the wallet</Link>
      </p>
    </section>
  );
}
