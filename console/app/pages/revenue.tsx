// A teacher's revenue: the figures of GET /teachers/me/revenue and a chart of
// earnings per week or month (SVG drawn by React, with the same numbers as a
// table for screen readers and keyboard users).
import { useState } from 'react';
import { useResource } from '../hooks';
import type { TeacherRevenue } from '../types';
import { Loaded, Money, useMoney } from '../ui';

type GroupBy = 'week' | 'month';

export function RevenuePage() {
  const [groupBy, setGroupBy] = useState<GroupBy>('week');
  const revenue = useResource<TeacherRevenue>(`/teachers/me/revenue?groupBy=${groupBy}`, { live: true });
  return (
    <section>
      <h1>Revenue</h1>
      <Loaded resource={revenue} what="your revenue">
        {(r) => (
          <>
            <div className="grid balances" data-testid="revenue-figures">
              <Figure label="Earned (all time)" amount={r.totalEarnings} testId="revenue-total" />
              <Figure label="Available to withdraw" amount={r.available} testId="revenue-available" />
              <Figure label="Pending (classes not settled)" amount={r.pending} />
              <Figure label="In withdrawal" amount={r.inWithdrawal} />
              <Figure label="Withdrawn" amount={r.withdrawn} />
            </div>
            <fieldset className="toggle">
              <legend>Earnings per</legend>
              {(['week', 'month'] as const).map((value) => (
                <label key={value}>
                  <input
                    type="radio"
                    name="groupBy"
                    value={value}
                    checked={groupBy === value}
                    onChange={() => setGroupBy(value)}
                  />
                  {value}
                </label>
              ))}
            </fieldset>
            <EarningsChart series={r.series ?? []} groupBy={groupBy} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function Figure({ label, amount, testId }: { label: string; amount: number; testId?: string }) {
  return (
    <article>
      <header>{label}</header>
      <p className="figure" data-testid={testId}>
        <Money amount={amount} />
      </p>
    </article>
  );
}

function periodLabel(period: string, groupBy: GroupBy): string {
  const date = new Date(period);
  return groupBy === 'month'
    ? date.toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' })
    : date.toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { top: 16, right: 8, bottom: 40, left: 8 };

function EarningsChart({
  series,
  groupBy,
}: {
  series: NonNullable<TeacherRevenue['series']>;
  groupBy: GroupBy;
}) {
  const format = useMoney();
  const max = Math.max(1, ...series.map((p) => p.earnings));
  const slot = (WIDTH - PAD.left - PAD.right) / Math.max(1, series.length);
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const labelEvery = Math.max(1, Math.ceil(series.length / 12));
  return (
    <figure>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="chart"
        role="img"
        aria-labelledby="chart-title"
        data-testid="earnings-chart"
      >
        <title id="chart-title">Earnings per {groupBy}, oldest first; the table below has the figures</title>
        <line
          x1={PAD.left}
          x2={WIDTH - PAD.right}
          y1={HEIGHT - PAD.bottom}
          y2={HEIGHT - PAD.bottom}
          className="axis"
        />
        {series.map((point, i) => {
          const height = (point.earnings / max) * plotHeight;
          const x = PAD.left + i * slot;
          return (
            <g key={point.period}>
              <rect
                x={x + slot * 0.15}
                width={slot * 0.7}
                y={HEIGHT - PAD.bottom - height}
                height={height}
                className="bar"
              >
                <title>
                  {periodLabel(point.period, groupBy)}: {format(point.earnings)}
                </title>
              </rect>
              {i % labelEvery === 0 && (
                <text x={x + slot / 2} y={HEIGHT - PAD.bottom + 16} textAnchor="middle" className="tick">
                  {periodLabel(point.period, groupBy)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        Highest {groupBy}: {format(max === 1 && series.every((p) => p.earnings === 0) ? 0 : max)}
      </figcaption>
      <details>
        <summary>The figures per {groupBy}</summary>
        <table data-testid="earnings-table">
          <thead>
            <tr>
              <th scope="col">{groupBy === 'week' ? 'Week of' : 'Month'}</th>
              <th scope="col" className="number">
                Earnings
              </th>
              <th scope="col" className="number">
                Refunds
              </th>
              <th scope="col" className="number">
                Withdrawals
              </th>
            </tr>
          </thead>
          <tbody>
            {series.map((point) => (
              <tr key={point.period}>
                <td>{periodLabel(point.period, groupBy)}</td>
                <td className="number">{format(point.earnings)}</td>
                <td className="number">{format(point.refunds)}</td>
                <td className="number">{format(point.withdrawals)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
