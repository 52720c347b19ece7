// Sessions belong to an account, not to a username: a token names the account by an id that is
// never reused (sub), so deleting an account and signing the same name up again, even within
// the same second, does not hand the old sessions to the new account.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, call, photo, dataUrl, adminToken, dataDirWithSigningKey } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));

test('an old token does not open a re-created account (6 tries, same second)', async () => {
  const server = await startServer();
  servers.push(server);
  const admin = { authorization: `Bearer ${adminToken(server)}` };
  const image = dataUrl(photo('obama/obama.jpg'));
  const seen = new Set();
  for (let i = 0; i < 6; i++) {
    let res = await call(server, 'POST', '/api/v1/users', { json: { username: 'xavier', image } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const old = res.body.token;
    const claims = claimsOf(old);
    assert.match(claims.sub, /^[0-9a-f]{32}$/, 'sub is the account id');
    assert.equal(claims.preferred_username, 'xavier');
    assert.ok(!seen.has(claims.sub), 'account ids are never reused');
    seen.add(claims.sub);
    res = await call(server, 'DELETE', '/api/v1/users/xavier', { headers: admin });
    assert.equal(res.status, 200);
    res = await call(server, 'POST', '/api/v1/users', { json: { username: 'xavier', image } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const fresh = res.body.token;
    res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${old}` } });
    assert.equal(res.status, 401, `try ${i + 1}: the deleted account's token opened the new one`);
    assert.equal(res.body.error.code, 'unauthorized');
    res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${fresh}` } });
    assert.equal(res.status, 200);
    res = await call(server, 'DELETE', '/api/v1/users/xavier', { headers: admin });
    assert.equal(res.status, 200);
  }
});

test('a token of the previous format (sub = username) is not honoured by an account created in its second or later', async () => {
  const { dataDir, seed } = dataDirWithSigningKey();
  const server = await startServer({ dataDir });
  servers.push(server);
  const admin = { authorization: `Bearer ${adminToken(server)}` };
  const image = dataUrl(photo('obama/obama.jpg'));
  const key = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const b64url = (text) => Buffer.from(text).toString('base64url');
  const { kid } = (await call(server, 'GET', '/.well-known/jwks.json')).body.keys[0];
  const legacy = (iat) => {
    const h = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }));
    const p = b64url(JSON.stringify({ sub: 'yvonne', name: 'Y', iat, exp: iat + 600, iss: 'facegate', jti: `legacy-${iat}` }));
    return `${h}.${p}.${crypto.sign(null, Buffer.from(`${h}.${p}`), key).toString('base64url')}`;
  };
  let res = await call(server, 'POST', '/api/v1/users', { json: { username: 'yvonne', image } });
  assert.equal(res.status, 201);
  const created = Math.floor(Date.parse(res.body.user.created_at) / 1000);
  const later = legacy(created + 1);
  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${later}` } });
  assert.equal(res.status, 200, 'issued after the account was created: honoured');
  res = await call(server, 'DELETE', '/api/v1/users/yvonne', { headers: admin });
  res = await call(server, 'POST', '/api/v1/users', { json: { username: 'yvonne', image } });
  assert.equal(res.status, 201);
  const recreated = Math.floor(Date.parse(res.body.user.created_at) / 1000);
  for (const iat of [recreated, recreated - 1]) {
    res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${legacy(iat)}` } });
    assert.equal(res.status, 401, `a previous-format token of ${iat - recreated} s opened the re-created account`);
  }
});
