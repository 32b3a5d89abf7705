// Money and dates as people read them. Amounts are integer minor units.
const formats = new Map<string, Intl.NumberFormat>();

function currencyFormat(currency: string): Intl.NumberFormat {
  let format = formats.get(currency);
  if (format === undefined) {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() });
    formats.set(currency, format);
  }
  return format;
}

function minorDigits(currency: string): number {
  return currencyFormat(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

export function money(amountMinor: number, currency: string): string {
  return currencyFormat(currency).format(amountMinor / 10 ** minorDigits(currency));
}

/** "12.50" typed by a person -> 1250 minor units; undefined when it is not an amount. */
export function parseAmount(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const match = /^\s*(\d{1,9})(?:[.,](\d{0,2}))?\s*$/.exec(text);
  if (match === null) return undefined;
  const fraction = (match[2] ?? '').padEnd(digits, '0').slice(0, digits);
  if ((match[2] ?? '').length > digits) return undefined;
  return Number(match[1]) * 10 ** digits + (digits === 0 ? 0 : Number(fraction));
}

/**
 * The amount typed into the field `label`, in minor units; a person's mistake
 * (letters, a third decimal, too many digits) is said in their terms, before
 * anything is sent.
 */
export function amountOf(text: string, currency: string, label: string): number {
  const amount = parseAmount(text, currency);
  if (amount === undefined || amount <= 0) {
    throw new Error(
      `${label}: enter an amount such as ${money(1250, currency)} (digits, at most two decimals).`,
    );
  }
  return amount;
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function time(iso: string | number): string {
  return new Date(iso).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function duration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes === 0 ? `${seconds} s` : `${minutes} min ${seconds % 60} s`;
}

/** A datetime-local input's value (local time) as an ISO instant. */
export function localInputToIso(value: string): string | undefined {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** An ISO instant as a datetime-local input's value. */
export function isoToLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function words(code: string): string {
  return code.replace(/_/g, ' ');
}

/** A code as the start of a sentence: `teacher_no_show` -> "Teacher no show". */
export function sentence(code: string): string {
  const text = words(code);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
