import { describe, expect, it } from 'vitest';
import { errorReply, fakeServer, obama, okDetection } from '../../test/fakeServer';
import { createFaceGate } from './client.js';
import { FaceGateError } from './errors.js';

const session = { user: obama, token: 'jwt.abc', expires_at: '2026-11-29T10:00:00Z' };

describe('createFaceGate', () => {
  it('signs up with a JSON body of images and keeps the session token', async () => {
    const server = fakeServer({ 'POST /api/v1/users': () => ({ status: 201, body: session }) });
    const client = createFaceGate({ baseUrl: 'https://fg.example/', fetch: server.fetch });
    const result = await client.signUp({
      username: 'obama',
      displayName: 'Barack Obama',
      images: ['a', 'b', 'c'],
    });
    expect(result.user.username).toBe('obama');
    expect(client.token).toBe('jwt.abc');
    expect(server.calls[0].body).toEqual({
      username: 'obama',
      display_name: 'Barack Obama',
      images: ['a', 'b', 'c'],
    });
    expect(server.calls[0].headers['Content-Type']).toBe('application/json');
    expect(server.fetch).toHaveBeenCalledWith('https://fg.example/api/v1/users', expect.anything());
  });

  it('logs in 1:N without a username and 1:1 with one', async () => {
    const server = fakeServer({ 'POST /api/v1/login': () => ({ body: { ...session, distance: 0.31 } }) });
    const client = createFaceGate({ fetch: server.fetch });
    await client.login({ image: 'img' });
    await client.login({ image: 'img', username: 'obama' });
    expect(server.calls[0].body).toEqual({ image: 'img' });
    expect(server.calls[1].body).toEqual({ image: 'img', username: 'obama' });
  });

  it('sends the session token as a bearer header and forgets it on logout', async () => {
    const server = fakeServer({
      'GET /api/v1/me': () => ({ body: { user: obama } }),
      'POST /api/v1/logout': () => ({ body: { ok: true } }),
    });
    const client = createFaceGate({ fetch: server.fetch, token: 'jwt.xyz' });
    expect((await client.me()).username).toBe('obama');
    expect(server.calls[0].headers.Authorization).toBe('Bearer jwt.xyz');
    await client.logout();
    expect(client.token).toBeNull();
  });

  it('turns the error body into a FaceGateError with code, status and message', async () => {
    const server = fakeServer({
      'POST /api/v1/login': () => errorReply(401, 'no_match', 'face does not match any enrolled user'),
    });
    const client = createFaceGate({ fetch: server.fetch });
    const failure = await client.login({ image: 'img' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FaceGateError);
    expect(failure).toMatchObject({
      code: 'no_match',
      status: 401,
      message: 'face does not match any enrolled user',
    });
  });

  it('reads Retry-After on 429', async () => {
    const server = fakeServer({
      'POST /api/v1/login': () => errorReply(429, 'rate_limited', 'slow down', { 'Retry-After': '42' }),
    });
    const failure = await createFaceGate({ fetch: server.fetch })
      .login({ image: 'img' })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'rate_limited', status: 429, retryAfter: 42 });
  });

  it('reports an unreachable server as code network, status 0', async () => {
    const server = fakeServer({ 'POST /api/v1/detect': () => new TypeError('Failed to fetch') });
    const failure = await createFaceGate({ fetch: server.fetch })
      .detect('img')
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'network', status: 0 });
  });

  it('reports a 5xx without a JSON body as server_error', async () => {
    const fetch = async () =>
      new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    const failure = await createFaceGate({ fetch })
      .me()
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'server_error', status: 502 });
  });

  it('returns detections as sent', async () => {
    const server = fakeServer({ 'POST /api/v1/detect': () => ({ body: okDetection }) });
    const result = await createFaceGate({ fetch: server.fetch }).detect('data:image/jpeg;base64,xx');
    expect(result.hint).toBe('ok');
    expect(server.calls[0].body).toEqual({ image: 'data:image/jpeg;base64,xx' });
  });

  it('adds a face and deletes the account', async () => {
    const server = fakeServer({
      'POST /api/v1/me/faces': () => ({ status: 201, body: { user: { ...obama, faces: 4 } } }),
      'DELETE /api/v1/me': () => ({ body: { deleted: 'obama' } }),
    });
    const client = createFaceGate({ fetch: server.fetch, token: 't' });
    expect((await client.addFace('img')).faces).toBe(4);
    expect(await client.deleteAccount()).toBe('obama');
    expect(client.token).toBeNull();
  });

  it('uses the admin token, not the session, for admin routes', async () => {
    const server = fakeServer({
      'GET /api/v1/users': () => ({ body: { users: [obama] } }),
      'DELETE /api/v1/users/a%20b': () => ({ body: { deleted: 'a b' } }),
      'GET /api/v1/audit': () => ({ body: { events: [] } }),
    });
    const admin = createFaceGate({ fetch: server.fetch, token: 'session' }).admin('admin-secret');
    expect(await admin.listUsers()).toHaveLength(1);
    expect(await admin.deleteUser('a b')).toBe('a b');
    expect(await admin.audit(20)).toEqual([]);
    expect(server.calls.map((c) => c.headers.Authorization)).toEqual([
      'Bearer admin-secret',
      'Bearer admin-secret',
      'Bearer admin-secret',
    ]);
    expect(server.calls[2].path).toBe('/api/v1/audit?limit=20');
  });
});
