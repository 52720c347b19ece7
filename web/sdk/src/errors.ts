// FaceGateError: every failure of the SDK, with the server's error code (or one of the SDK's own:
// `network`, `server_error`, `bad_response`, and the camera's `camera_*` codes) and HTTP status.

export interface FaceGateErrorOptions {
  cause?: unknown;
  /** Seconds to wait before trying again (429/423 with a Retry-After header). */
  retryAfter?: number | null;
}

export class FaceGateError extends Error {
  readonly code: string;
  /** HTTP status; 0 when the server was not reached or the error is local (camera). */
  readonly status: number;
  readonly retryAfter: number | null;

  constructor(code: string, status: number, message: string, options: FaceGateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaceGateError';
    this.code = code;
    this.status = status;
    this.retryAfter = options.retryAfter ?? null;
  }
}

export function isFaceGateError(value: unknown): value is FaceGateError {
  return value instanceof FaceGateError;
}

/** Retry-After is either delta-seconds or an HTTP date; returns whole seconds, or null. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - now) / 1000));
}

/** Builds the error for a non-2xx response from its JSON body `{"error":{"code","message"}}`. */
export async function errorFromResponse(response: Response): Promise<FaceGateError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  let code = response.status >= 500 ? 'server_error' : `http_${response.status}`;
  let message = `The server answered ${response.status} ${response.statusText}`.trim() + '.';
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (body && typeof body.error === 'object' && body.error) {
      if (typeof body.error.code === 'string' && body.error.code) code = body.error.code;
      if (typeof body.error.message === 'string' && body.error.message) message = body.error.message;
    }
  } catch {
    // Not JSON (a proxy's error page, say): keep the status-based code.
  }
  return new FaceGateError(code, response.status, message, { retryAfter });
}
