// The OpenID Connect provider against a real `facegate serve`: discovery, client registration
// (CLI and admin API), the authorize step's checks, the token endpoint's every refusal, the
// tokens themselves (verified here with node:crypto against the published JWKS), userinfo, and
// signing-key rotation while sessions are live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  BIN, adminToken, call, photo, startServer, tempDir, PG_URL, dataDirWithSigningKey,
} from './helpers.mjs';

const RP = 'http://127.0.0.1:9/callback'; // never contacted: the tests read the redirects
let server;
let dataDir;
let signingSeed;
let session; // obama's session token from sign-up
let publicClient;
let confidential;

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const challengeOf = (verifier) => b64url(crypto.createHash('sha256').update(verifier).digest());
const decode = (jwt) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

function cli(...args) {
  return execFileSync(BIN, [...args, '--data-dir', server.dataDir, '--store', server.store],
    { encoding: 'utf8' });
}

/** Verifies an EdDSA JWT against the server's JWKS; returns [header, claims]. */
async function verifyJwt(jwt) {
  const jwks = (await call(server, 'GET', '/.well-known/jwks.json')).body;
  const [header, claims] = decode(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is in the JWKS`);
  const [h, p, s] = jwt.split('.');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')), 'signature verifies');
  return [header, claims];
}

/** POST /oauth2/authorize with a session: the code the app would receive, and the redirect. */
async function authorize(params, token = session) {
  const res = await call(server, 'POST', '/oauth2/authorize', {
    json: params,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const to = res.body.redirect_to ? new URL(res.body.redirect_to) : null;
  return { res, to, code: to?.searchParams.get('code') };
}

function requestFor(client, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  return {
    verifier,
    params: {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: RP,
      scope: 'openid profile',
      state: 'st@te with spaces&symbols',
      nonce: b64url(crypto.randomBytes(12)),
      code_challenge: challengeOf(verifier),
      code_challenge_method: 'S256',
      ...extra,
    },
  };
}

function token(form, headers = {}) {
  return call(server, 'POST', '/oauth2/token', {
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

async function codeFor(client, extra) {
  const { params, verifier } = requestFor(client, extra);
  const { code } = await authorize(params);
  assert.ok(code, 'a code was issued');
  return { code, verifier, params };
}

before(async () => {
  const webRoot = tempDir('fg-oidc-web-');
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>app</title>');
  // --policy fixed: these tests log obama in with a second press photo, which the adaptive
  // policy's fallback for so few users refuses (policy.test.mjs tests that).
  // A signing key the tests know (the legacy token below), imported by PostgreSQL at start.
  ({ dataDir, seed: signingSeed } = dataDirWithSigningKey());
  server = await startServer({
    dataDir, args: ['--code-ttl', '1', '--web-root', webRoot, '--policy', 'fixed'],
  });
  const signup = await call(server, 'POST', '/api/v1/users?username=obama&display_name=Barack', {
    body: fs.readFileSync(photo('obama/obama.jpg')),
    headers: { 'content-type': 'image/jpeg' },
  });
  assert.equal(signup.status, 201);
  session = signup.body.token;
  publicClient = JSON.parse(cli('client', 'add', '--name', 'Public app', '--redirect-uri', RP, '--public', '--id', 'spa'));
  const res = await call(server, 'POST', '/api/v1/clients', {
    json: { name: 'Backend app', redirect_uris: [RP, 'https://app.example.com/cb'] },
    headers: { authorization: `Bearer ${adminToken(server)}` },
  });
  assert.equal(res.status, 201);
  confidential = res.body;
});

after(async () => {
  await server?.stop();
});

test('discovery names the endpoints, EdDSA, S256 and the issuer URL', async () => {
  const { body } = await call(server, 'GET', '/.well-known/openid-configuration');
  assert.equal(body.issuer, server.url);
  assert.equal(body.authorization_endpoint, `${server.url}/oauth2/authorize`);
  assert.equal(body.token_endpoint, `${server.url}/oauth2/token`);
  assert.equal(body.jwks_uri, `${server.url}/.well-known/jwks.json`);
  assert.deepEqual(body.id_token_signing_alg_values_supported, ['EdDSA']);
  assert.deepEqual(body.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(body.response_types_supported, ['code']);
});

test('clients: CLI and admin API register, list and remove; secrets are shown once, stored hashed', async () => {
  assert.equal(publicClient.public, true);
  assert.equal(publicClient.client_secret, undefined);
  assert.equal(confidential.public, false);
  assert.match(confidential.client_secret, /^[A-Za-z0-9_-]{43}$/);
  const listed = JSON.parse(cli('client', 'list'));
  assert.deepEqual(listed.map((c) => c.client_id).sort(), [confidential.client_id, 'spa'].sort());
  assert.ok(!JSON.stringify(listed).includes(confidential.client_secret));
  const db = PG_URL
    ? execFileSync('psql', [server.store, '-qAtc', 'SELECT * FROM oidc_clients'])
    : fs.readFileSync(path.join(server.dataDir, 'facegate.db'));
  assert.ok(!db.includes(Buffer.from(confidential.client_secret)), 'the secret is not in the database');

  const admin = { authorization: `Bearer ${adminToken(server)}` };
  const bad = await call(server, 'POST', '/api/v1/clients', {
    json: { name: 'x', redirect_uris: ['http://evil.example.com/cb'] },
    headers: admin,
  });
  assert.equal(bad.status, 400, 'plain http only on loopback');
  const taken = await call(server, 'POST', '/api/v1/clients', {
    json: { client_id: 'spa', redirect_uris: [RP], public: true },
    headers: admin,
  });
  assert.equal(taken.status, 409);
  const temp = await call(server, 'POST', '/api/v1/clients', { json: { redirect_uris: [RP] }, headers: admin });
  assert.equal((await call(server, 'DELETE', `/api/v1/clients/${temp.body.client_id}`, { headers: admin })).status, 200);
  assert.equal((await call(server, 'DELETE', `/api/v1/clients/${temp.body.client_id}`, { headers: admin })).status, 404);
  assert.equal((await call(server, 'GET', '/api/v1/clients')).status, 401, 'admin token required');
});

test('authorize: unknown client or unregistered redirect URI is shown, never redirected', async () => {
  const { params } = requestFor(publicClient);
  for (const change of [{ client_id: 'nobody' }, { redirect_uri: 'http://127.0.0.1:9/other' }, { redirect_uri: '' }]) {
    const q = new URLSearchParams({ ...params, ...change });
    const res = await fetch(`${server.url}/oauth2/authorize?${q}`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /Sign-in request refused/);
    const post = await authorize({ ...params, ...change });
    assert.equal(post.res.status, 400);
    assert.equal(post.to, null);
  }
});

test('authorize: other errors go back to the client with the state and iss', async () => {
  const cases = [
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'profile' }, 'invalid_scope'],
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
    [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'], // public: PKCE required
    [{ prompt: 'none' }, 'login_required'],
  ];
  for (const [change, error] of cases) {
    const { params } = requestFor(publicClient, change);
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    const res = await fetch(`${server.url}/oauth2/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
    assert.equal(res.status, 302, JSON.stringify(change));
    const to = new URL(res.headers.get('location'));
    assert.equal(to.origin + to.pathname, RP);
    assert.equal(to.searchParams.get('error'), error, JSON.stringify(change));
    assert.equal(to.searchParams.get('state'), params.state, 'state echoed exactly');
    assert.equal(to.searchParams.get('iss'), server.url);
    assert.equal(to.searchParams.get('code'), null);
  }
});

test('authorize: a valid request goes to the web app; a code needs a Bearer face session', async () => {
  const { params } = requestFor(publicClient);
  const res = await fetch(`${server.url}/oauth2/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const location = res.headers.get('location');
  assert.ok(location.startsWith('/#/authorize?'), location);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(location.split('?')[1])), params);

  const anonymous = await authorize(params, null);
  assert.deepEqual(anonymous.res.body, { login_required: true, client: { client_id: 'spa', name: 'Public app' } });
  const cookieOnly = await call(server, 'POST', '/oauth2/authorize', { json: params, headers: { cookie: `fg_session=${session}` } });
  assert.equal(cookieOnly.body.login_required, true, 'a cookie alone issues no code');
  const forged = await authorize(params, `${session.slice(0, -4)}AAAA`);
  assert.equal(forged.res.status, 401);
  const cancelled = await authorize({ ...params, cancel: true });
  assert.equal(cancelled.to.searchParams.get('error'), 'access_denied');
  const ok = await authorize(params);
  assert.match(ok.code, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(ok.to.searchParams.get('state'), params.state);
  assert.equal(ok.to.searchParams.get('iss'), server.url);
});

test('token: a public client with PKCE gets a verifiable ID token and an access token for userinfo', async () => {
  const { code, verifier, params } = await codeFor(publicClient);
  const res = await token({ grant_type: 'authorization_code', code, redirect_uri: RP, client_id: 'spa', code_verifier: verifier });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.body.token_type, 'Bearer');
  const [header, claims] = await verifyJwt(res.body.id_token);
  assert.equal(header.alg, 'EdDSA');
  assert.equal(claims.iss, server.url);
  assert.equal(claims.aud, 'spa');
  assert.equal(claims.azp, 'spa');
  assert.equal(claims.nonce, params.nonce);
  assert.match(claims.sub, /^[0-9a-f]{32}$/, 'sub is the stable random subject');
  assert.notEqual(claims.sub, 'obama');
  assert.deepEqual(claims.amr, ['face']);
  assert.equal(claims.acr, 'urn:facegate:acr:face');
  assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 120);
  assert.ok(claims.exp > claims.iat);
  assert.equal(claims.preferred_username, 'obama');

  const info = await call(server, 'GET', '/oauth2/userinfo', { headers: { authorization: `Bearer ${res.body.access_token}` } });
  assert.equal(info.status, 200);
  assert.deepEqual(info.body, { sub: claims.sub, name: 'Barack', preferred_username: 'obama' });
  // Neither token passes for a facegate session, nor the session for an access token.
  for (const t of [res.body.id_token, res.body.access_token]) {
    assert.equal((await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${t}` } })).status, 401);
  }
  assert.equal((await call(server, 'GET', '/oauth2/userinfo', { headers: { authorization: `Bearer ${session}` } })).status, 401);
});

test('token: a replayed code is refused and revokes the access token it bought', async () => {
  const { code, verifier } = await codeFor(publicClient);
  const form = { grant_type: 'authorization_code', code, redirect_uri: RP, client_id: 'spa', code_verifier: verifier };
  const first = await token(form);
  assert.equal(first.status, 200);
  const again = await token(form);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  const info = await call(server, 'GET', '/oauth2/userinfo', { headers: { authorization: `Bearer ${first.body.access_token}` } });
  assert.equal(info.status, 401);
  assert.match(info.headers.get('www-authenticate'), /invalid_token/);
});

test('token: missing or wrong PKCE verifier, wrong redirect URI, unknown code: invalid_grant', async () => {
  const cases = [
    (c) => ({ code_verifier: undefined }),
    (c) => ({ code_verifier: b64url(crypto.randomBytes(32)) }),
    (c) => ({ code_verifier: 'short' }),
    (c) => ({ redirect_uri: 'https://app.example.com/cb' }),
    (c) => ({ code: `${c.code.slice(0, -2)}xx` }),
  ];
  for (const change of cases) {
    const c = await codeFor(publicClient);
    const form = { grant_type: 'authorization_code', code: c.code, redirect_uri: RP, client_id: 'spa', code_verifier: c.verifier, ...change(c) };
    for (const k of Object.keys(form)) if (form[k] === undefined) delete form[k];
    const res = await token(form);
    assert.equal(res.status, 400, JSON.stringify(change(c)));
    assert.equal(res.body.error, 'invalid_grant', JSON.stringify(res.body));
  }
});

test('token: an expired code is refused', async () => {
  const { code, verifier } = await codeFor(publicClient);
  await new Promise((resolve) => setTimeout(resolve, 2100)); // --code-ttl 1
  const res = await token({ grant_type: 'authorization_code', code, redirect_uri: RP, client_id: 'spa', code_verifier: verifier });
  assert.equal(res.body.error, 'invalid_grant');
  assert.match(res.body.error_description, /expired/);
});

test('token: client authentication (unknown client, wrong secret, Basic, other client\'s code)', async () => {
  const id = confidential.client_id;
  const basic = (secret) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const unknown = await token({ grant_type: 'authorization_code', code: 'x', redirect_uri: RP, client_id: 'nobody' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error, 'invalid_client');

  const c = await codeFor(confidential, { code_challenge: undefined, code_challenge_method: undefined });
  const wrong = await token({ grant_type: 'authorization_code', code: c.code, redirect_uri: RP }, basic('nope'));
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate'), /^Basic/);
  const ok = await token({ grant_type: 'authorization_code', code: c.code, redirect_uri: RP }, basic(confidential.client_secret));
  assert.equal(ok.status, 200, 'a wrong secret does not use up the code');
  assert.equal(decode(ok.body.id_token)[1].aud, id);

  const viaPost = await codeFor(confidential, { code_challenge: undefined, code_challenge_method: undefined });
  const stolen = await token({ grant_type: 'authorization_code', code: viaPost.code, redirect_uri: RP, client_id: 'spa' });
  assert.equal(stolen.body.error, 'invalid_grant', 'a code is bound to its client');

  const form = await token({ grant_type: 'password', client_id: 'spa' });
  assert.equal(form.body.error, 'unsupported_grant_type');
  const json = await call(server, 'POST', '/oauth2/token', { json: { grant_type: 'authorization_code' } });
  assert.equal(json.body.error, 'invalid_request');
});

test('session tokens of the previous format (no amr) keep working', async () => {
  const key = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), signingSeed]),
    format: 'der',
    type: 'pkcs8',
  });
  const kid = decode(session)[0].kid;
  const now = Math.floor(Date.now() / 1000);
  const h = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }));
  const p = b64url(JSON.stringify({ sub: 'obama', name: 'Barack', iat: now, exp: now + 600, iss: 'facegate', jti: 'legacy-jti-0001' }));
  const legacy = `${h}.${p}.${b64url(crypto.sign(null, Buffer.from(`${h}.${p}`), key))}`;
  const me = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${legacy}` } });
  assert.equal(me.status, 200);
  assert.equal(me.body.user.username, 'obama');
});

test('keys rotate: live sessions keep working, new ones use the new key, JWKS has both', async () => {
  const me = (t) => call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${t}` } });
  const before = decode(session)[0].kid;
  const out = cli('keys', 'rotate');
  assert.match(out, /told the running server/);
  await waitFor(() => /signing keys reloaded/.test(server.log()));
  const jwks = (await call(server, 'GET', '/.well-known/jwks.json')).body.keys.map((k) => k.kid);
  assert.equal(jwks.length, 2);
  assert.ok(jwks.includes(before));
  assert.equal((await me(session)).status, 200, 'the session from before the rotation still works');

  const login = await call(server, 'POST', '/api/v1/login', {
    body: fs.readFileSync(photo('obama/obama1.jpg')),
    headers: { 'content-type': 'image/jpeg' },
  });
  assert.equal(login.status, 200);
  const fresh = login.body.token;
  assert.notEqual(decode(fresh)[0].kid, before, 'new sessions are signed with the new key');
  assert.equal(jwks[0], decode(fresh)[0].kid, 'the signing key is listed first');
  await verifyJwt(fresh);
  await verifyJwt(session);

  // A second rotation drops the oldest key: its tokens stop verifying, the others do not.
  cli('keys', 'rotate');
  await waitFor(() => (server.log().match(/signing keys reloaded/g) ?? []).length === 2);
  assert.equal((await me(session)).status, 401);
  assert.equal((await me(fresh)).status, 200);
});

async function waitFor(predicate, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
