// The console's one way to the API: JSON over fetch with the session's token
// in the Authorization header (never in a URL), a deadline on every request,
// and every failure turned into an ApiError whose message a person can act on.

export const API_PREFIX = '/api/v1';
const TIMEOUT_MS = 15_000;

/** The spec's error body: `{error: {code, message, details?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** For POSTs that move money: the server answers a repeat with the first answer. */
  idempotencyKey?: string;
  accept?: 'json' | 'csv';
}

/** Called on every 401 so the session can end and the user log in again. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  if (options.accept === 'csv') return (await response.blob()) as T;
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: options.accept === 'csv' ? 'text/csv' : 'application/json',
  };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(`${API_PREFIX}${path}`, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: controller.signal,
      credentials: 'omit',
    });
  } catch {
    throw controller.signal.aborted
      ? new ApiError(
          0,
          'timeout',
          `The server did not answer within ${TIMEOUT_MS / 1000} seconds. What you typed is kept: try again in a moment.`,
        )
      : new ApiError(
          0,
          'unreachable',
          'The server cannot be reached. Check your connection; what you typed is kept, so you can try again.',
        );
  } finally {
    clearTimeout(timer);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401 && options.token) onUnauthorized();
  throw error;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as Partial<ErrorBody>;
    if (body.error && typeof body.error.message === 'string') {
      return new ApiError(response.status, body.error.code, body.error.message, body.error.details ?? []);
    }
  } catch {
    // not the API's error body: a proxy or the server falling over
  }
  return new ApiError(
    response.status,
    'unexpected_response',
    response.status >= 500
      ? `The server failed (HTTP ${response.status}). Nothing you typed is lost: try again in a moment.`
      : `Unexpected answer from the server (HTTP ${response.status}).`,
  );
}

/** A fresh Idempotency-Key. */
export function newKey(): string {
  return crypto.randomUUID();
}
