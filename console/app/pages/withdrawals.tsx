// A teacher's withdrawals: the form (bank details travel once, then show
// masked) and the history.
import { useState, type FormEvent } from 'react';
import { request } from '../api';
import { amountOf, dateTime } from '../format';
import { useAction, useFields, useIdempotencyKey, usePagedList, useResource } from '../hooks';
import { useAuth, useSession } from '../session';
import type { Wallet, Withdrawal } from '../types';
import { Badge, ErrorNotice, Field, Loaded, Money, MoreButton, Notice } from '../ui';

export function WithdrawalsPage() {
  const history = usePagedList<Withdrawal>('/withdrawals?limit=50', { live: true });
  const wallet = useResource<Wallet>('/wallet', { live: true });
  const last = history.items[0];
  return (
    <section>
      <h1>Withdrawals</h1>
      <Loaded resource={wallet} what="your balance">
        {(w) => (
          <p>
            Available to withdraw:{' '}
            <strong data-testid="withdrawable">
              <Money amount={w.available} />
            </strong>
            {w.held > 0 && (
              <>
                {' '}
                (<Money amount={w.held} /> in withdrawals under way)
              </>
            )}
          </p>
        )}
      </Loaded>
      <WithdrawalForm
        lastAccount={last?.bankAccount}
        onDone={() => {
          history.reload();
          wallet.reload();
        }}
      />
      <h2>History</h2>
      <Loaded resource={history.resource} what="your withdrawals">
        {() =>
          history.items.length === 0 ? (
            <p>No withdrawals yet.</p>
          ) : (
            <WithdrawalTable withdrawals={history.items} />
          )
        }
      </Loaded>
      <MoreButton more={history.more} what="withdrawals" />
    </section>
  );
}

export function WithdrawalTable({ withdrawals }: { withdrawals: Withdrawal[] }) {
  return (
    <div className="table-scroll">
      <table data-testid="withdrawals">
        <thead>
          <tr>
            <th scope="col">Asked</th>
            <th scope="col" className="number">
              Amount
            </th>
            <th scope="col">To</th>
            <th scope="col">Status</th>
            <th scope="col">Reference or reason</th>
          </tr>
        </thead>
        <tbody>
          {withdrawals.map((w) => (
            <tr key={w.id}>
              <td>{dateTime(w.createdAt)}</td>
              <td className="number">
                <Money amount={w.amount} currency={w.currency} />
              </td>
              <td>
                {w.bankAccount.holderName}
                {w.bankAccount.bankName ? `, ${w.bankAccount.bankName}` : ''} ····{w.bankAccount.last4}
              </td>
              <td>
                <Badge value={w.status} />
              </td>
              <td>{w.reference ?? w.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function WithdrawalForm({
  lastAccount,
  onDone,
}: {
  lastAccount: Withdrawal['bankAccount'] | undefined;
  onDone: () => void;
}) {
  const { token } = useAuth();
  const { config } = useSession();
  const EMPTY = { amount: '', holderName: '', iban: '', routingNumber: '', bankName: '' };
  const [form, set, setForm] = useFields(EMPTY);
  const [sent, setSent] = useState<Withdrawal | null>(null);
  const keys = useIdempotencyKey();
  // Digits only: an account number (with a routing number, for US banks); else an IBAN.
  const accountNumber = /^\d+$/.test(form.iban.replace(/\s/g, ''));
  const withdraw = useAction(async () => {
    const body = {
      amount: amountOf(form.amount, config?.currency ?? 'usd', 'Amount'),
      bankAccount: {
        holderName: form.holderName,
        ...(accountNumber
          ? {
              accountNumber: form.iban.replace(/\s/g, ''),
              ...(form.routingNumber.trim() === '' ? {} : { routingNumber: form.routingNumber.trim() }),
            }
          : { iban: form.iban }),
        ...(form.bankName.trim() === '' ? {} : { bankName: form.bankName }),
      },
    };
    const withdrawal = await request<Withdrawal>('POST', '/withdrawals', {
      token,
      body,
      idempotencyKey: keys.keyFor(body),
    });
    keys.succeeded();
    setSent(withdrawal);
    // The account number is not kept in the page once the server has it.
    setForm(EMPTY);
    onDone();
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSent(null);
    void withdraw.run();
  };
  return (
    <form onSubmit={submit} aria-label="Withdraw earnings">
      <h2>Withdraw</h2>
      {lastAccount && (
        <p>
          Last paid to {lastAccount.holderName}
          {lastAccount.bankName ? `, ${lastAccount.bankName}` : ''}, account ending {lastAccount.last4}. Bank
          details are stored encrypted and only ever shown masked; enter them again for each withdrawal.
        </p>
      )}
      <div className="grid">
        <Field
          label="Amount"
          id="withdraw-amount"
          inputMode="decimal"
          required
          value={form.amount}
          onChange={set('amount')}
        />
        <Field
          label="Account holder"
          id="withdraw-holder"
          autoComplete="name"
          required
          value={form.holderName}
          onChange={set('holderName')}
        />
      </div>
      <div className="grid">
        <Field
          label="IBAN or account number"
          id="withdraw-iban"
          autoComplete="off"
          required
          value={form.iban}
          onChange={set('iban')}
        />
        {accountNumber && (
          <Field
            label="Routing number (US banks)"
            id="withdraw-routing"
            inputMode="numeric"
            autoComplete="off"
            value={form.routingNumber}
            onChange={set('routingNumber')}
          />
        )}
        <Field
          label="Bank name (optional)"
          id="withdraw-bank"
          value={form.bankName}
          onChange={set('bankName')}
        />
      </div>
      <ErrorNotice error={withdraw.error} />
      {sent && (
        <Notice>
          Asked to withdraw <Money amount={sent.amount} currency={sent.currency} /> to the account ending{' '}
          {sent.bankAccount.last4}; an admin approves it.
        </Notice>
      )}
      <button type="submit" aria-busy={withdraw.pending} disabled={withdraw.pending}>
        Request withdrawal
      </button>
    </form>
  );
}
