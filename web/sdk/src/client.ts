// The facegate HTTP client: one function per route of /api/v1 (docs/API-SKETCH.md), typed results,
// and every failure turned into a FaceGateError so callers switch on `code`, never on text.

import { FaceGateError, errorFromResponse } from './errors.js';
import type { AuditEvent, Detection, FaceGateUser, Session, ThresholdReport } from './types.js';

/** An image as the server accepts it in JSON: a data URL (`data:image/jpeg;base64,...`) or bare base64. */
export type ImageData64 = string;

export interface FaceGateOptions {
  /** Where the facegate server is, e.g. `https://login.example.com`. Default: this page's origin. */
  baseUrl?: string;
  /** Cookie policy for requests. Default `same-origin`; use `include` for a server on another origin. */
  credentials?: RequestCredentials;
  /** A session token to start with (e.g. one your backend handed over). */
  token?: string | null;
  /** Replacement for the global fetch (tests, or to add headers). */
  fetch?: typeof fetch;
}

export interface SignUpRequest {
  username: string;
  displayName?: string;
  /** 1 to 5 images of the new user's face. */
  images: ImageData64[];
}

export interface LoginRequest {
  image: ImageData64;
  /** Given: 1:1 log-in against this account only. Absent: 1:N, the server finds who it is. */
  username?: string;
}

/** Where an OpenID Connect sign-in goes next (POST /oauth2/authorize). */
export interface AuthorizationStep {
  /** Send the browser here: the application's redirect URI with a code, or with an error. */
  redirectTo: string | null;
  /** The person must log in with their face first (no session was given). */
  loginRequired: boolean;
  /** The application asking, as registered with facegate. */
  client: { client_id: string; name: string } | null;
}

export interface AuthorizeOptions {
  /** The session of a face log-in made for this sign-in; without it the server asks for one. */
  token?: string | null;
  /** The person declined: the application gets `access_denied`. */
  cancel?: boolean;
}

export interface FaceGateAdmin {
  listUsers(): Promise<FaceGateUser[]>;
  deleteUser(username: string): Promise<string>;
  audit(limit?: number): Promise<AuditEvent[]>;
  /** The accept threshold on the enrolled population and its estimated false-accept rate. */
  threshold(): Promise<ThresholdReport>;
}

export interface FaceGateClient {
  readonly baseUrl: string;
  /** The token of the current session, if this client logged in or was given one. */
  readonly token: string | null;
  setToken(token: string | null): void;
  signUp(request: SignUpRequest): Promise<Session>;
  login(request: LoginRequest): Promise<Session>;
  logout(): Promise<void>;
  me(): Promise<FaceGateUser>;
  detect(image: ImageData64): Promise<Detection>;
  addFace(image: ImageData64): Promise<FaceGateUser>;
  deleteAccount(): Promise<string>;
  /** Admin routes, authorised by the server's admin token (not a user session). */
  admin(adminToken: string): FaceGateAdmin;
  /**
   * The OpenID Connect authorize step: `params` are the request's (client_id, redirect_uri,
   * state, ...). Only the token passed here counts, never the client's own session.
   */
  authorize(params: Record<string, string>, options?: AuthorizeOptions): Promise<AuthorizationStep>;
}

interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  bearer?: string | null;
}

export function createFaceGate(options: FaceGateOptions = {}): FaceGateClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const credentials = options.credentials ?? 'same-origin';
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let token = options.token ?? null;

  async function call<T>({ method, path, body, bearer }: Call): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const auth = bearer === undefined ? token : bearer;
    if (auth) headers.Authorization = `Bearer ${auth}`;
    let response: Response;
    try {
      response = await doFetch(baseUrl + path, {
        method,
        headers,
        credentials,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
      throw new FaceGateError('network', 0, 'Cannot reach the facegate server.', { cause });
    }
    if (!response.ok) throw await errorFromResponse(response);
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new FaceGateError('bad_response', response.status, 'The server sent a reply that is not JSON.', {
        cause,
      });
    }
  }

  function startSession(session: Session): Session {
    token = session.token;
    return session;
  }

  return {
    baseUrl,
    get token() {
      return token;
    },
    setToken(next) {
      token = next;
    },
    async signUp({ username, displayName, images }) {
      const body: Record<string, unknown> = { username, images };
      if (displayName) body.display_name = displayName;
      return startSession(await call<Session>({ method: 'POST', path: '/api/v1/users', body }));
    },
    async login({ image, username }) {
      const body: Record<string, unknown> = { image };
      if (username) body.username = username;
      return startSession(await call<Session>({ method: 'POST', path: '/api/v1/login', body }));
    },
    async logout() {
      try {
        await call<{ ok: boolean }>({ method: 'POST', path: '/api/v1/logout' });
      } finally {
        token = null;
      }
    },
    async me() {
      return (await call<{ user: FaceGateUser }>({ method: 'GET', path: '/api/v1/me' })).user;
    },
    detect(image) {
      return call<Detection>({ method: 'POST', path: '/api/v1/detect', body: { image } });
    },
    async addFace(image) {
      return (
        await call<{ user: FaceGateUser }>({ method: 'POST', path: '/api/v1/me/faces', body: { image } })
      ).user;
    },
    async deleteAccount() {
      const { deleted } = await call<{ deleted: string }>({ method: 'DELETE', path: '/api/v1/me' });
      token = null;
      return deleted;
    },
    async authorize(params, { token: session = null, cancel = false } = {}) {
      const body: Record<string, unknown> = { ...params };
      if (cancel) body.cancel = true;
      const reply = await call<{
        redirect_to?: string;
        login_required?: boolean;
        client?: { client_id: string; name: string };
      }>({ method: 'POST', path: '/oauth2/authorize', body, bearer: session });
      return {
        redirectTo: reply.redirect_to ?? null,
        loginRequired: reply.login_required === true,
        client: reply.client ?? null,
      };
    },
    admin(adminToken) {
      const bearer = adminToken;
      return {
        async listUsers() {
          return (await call<{ users: FaceGateUser[] }>({ method: 'GET', path: '/api/v1/users', bearer }))
            .users;
        },
        async deleteUser(username) {
          const path = `/api/v1/users/${encodeURIComponent(username)}`;
          return (await call<{ deleted: string }>({ method: 'DELETE', path, bearer })).deleted;
        },
        async audit(limit = 100) {
          const path = `/api/v1/audit?limit=${encodeURIComponent(String(limit))}`;
          return (await call<{ events: AuditEvent[] }>({ method: 'GET', path, bearer })).events;
        },
        async threshold() {
          return call<ThresholdReport>({ method: 'GET', path: '/api/v1/threshold', bearer });
        },
      };
    },
  };
}
