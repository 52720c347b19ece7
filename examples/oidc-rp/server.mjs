// A relying party: a separate web app (its own origin) that signs people in with facegate over
// OpenID Connect, the way Grafana, Nextcloud or any "Log in with ..." app would. It uses the
// openid-client library as it comes: discovery, authorization code + PKCE (S256), state and
// nonce, the ID token's signature checked against facegate's JWKS, then userinfo.
//
//   FACEGATE_ISSUER=http://127.0.0.1:8080 CLIENT_ID=demo PORT=3000 node server.mjs
//
// Environment: FACEGATE_ISSUER (facegate's issuer URL), CLIENT_ID, CLIENT_SECRET (leave unset
// for a public client), PORT (default 3000), HOST (default 127.0.0.1). Register the client
// first: facegate client add --name Demo --redirect-uri http://127.0.0.1:3000/callback --public
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const issuer = new URL(process.env.FACEGATE_ISSUER ?? 'http://127.0.0.1:8080');
const clientId = process.env.CLIENT_ID ?? 'demo';
const clientSecret = process.env.CLIENT_SECRET || undefined;
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
const redirectUri = `http://${host}:${port}/callback`;

// http:// is for a machine of one's own; in production the issuer is https:// and this goes.
const config = await oidc.discovery(
  issuer,
  clientId,
  clientSecret,
  clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
  { execute: [oidc.allowInsecureRequests] },
);
// Verify the ID token's signature against the published keys (JWKS), not only TLS.
oidc.enableNonRepudiationChecks(config);

const flows = new Map(); // cookie -> { verifier, state, nonce }: sign-ins under way
const sessions = new Map(); // cookie -> { claims, userinfo }: people signed in here

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cookie(req, name) {
  const match = new RegExp(`(?:^|;\\s*)${name}=([^;]+)`).exec(req.headers.cookie ?? '');
  return match ? match[1] : null;
}

function page(res, status, title, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>` +
      `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`,
  );
}

async function login(req, res) {
  const verifier = oidc.randomPKCECodeVerifier();
  const flow = {
    verifier,
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
  };
  const id = randomBytes(16).toString('hex');
  flows.set(id, flow);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  });
  res.writeHead(302, { Location: url.href, 'Set-Cookie': `rp_flow=${id}; Path=/; HttpOnly; SameSite=Lax` });
  res.end();
}

async function callback(req, res) {
  const id = cookie(req, 'rp_flow');
  const flow = id && flows.get(id);
  if (!flow) return page(res, 400, 'Sign-in failed', '<p id="error">No sign-in is under way here.</p>');
  flows.delete(id); // one try per flow
  try {
    const tokens = await oidc.authorizationCodeGrant(config, new URL(req.url, redirectUri), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    const session = randomBytes(16).toString('hex');
    sessions.set(session, { claims, userinfo, idToken: tokens.id_token });
    res.writeHead(302, { Location: '/', 'Set-Cookie': `rp_session=${session}; Path=/; HttpOnly; SameSite=Lax` });
    res.end();
  } catch (error) {
    // An OAuth error from facegate (access_denied, ...) has `error`; a check of ours failed
    // otherwise (state, nonce, signature...): the cause says which.
    const code = error.error ?? error.code ?? 'error';
    const why = [error.message, error.error_description, error.cause?.message].filter(Boolean).join(': ');
    page(
      res,
      400,
      'Sign-in failed',
      `<p id="error" data-code="${escape(code)}">${escape(why)}</p><p><a href="/login">Try again</a></p>`,
    );
  }
}

function home(req, res) {
  const session = sessions.get(cookie(req, 'rp_session'));
  if (!session) {
    return page(res, 200, 'Example app', '<p>You are not signed in.</p><p><a href="/login">Sign in with facegate</a></p>');
  }
  const { claims, userinfo } = session;
  page(
    res,
    200,
    `Hello, ${userinfo.name ?? claims.sub}!`,
    `<p>facegate says you are <strong id="username">${escape(userinfo.preferred_username ?? '')}</strong>` +
      ` (subject <code id="sub">${escape(claims.sub)}</code>), signed in by <span id="amr">${escape(
        (claims.amr ?? []).join(' '),
      )}</span> (<span id="acr">${escape(claims.acr ?? '')}</span>).</p>` +
      `<pre id="claims">${escape(JSON.stringify(claims, null, 2))}</pre>`,
  );
}

// The ID token of a signed-in session, for tests that check it against the JWKS themselves.
function idToken(req, res) {
  const session = sessions.get(cookie(req, 'rp_session'));
  res.writeHead(session ? 200 : 401, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(session ? { id_token: session.idToken, userinfo: session.userinfo } : {}));
}

const routes = { '/': home, '/login': login, '/callback': callback, '/id-token': idToken };

createServer((req, res) => {
  const route = routes[new URL(req.url, redirectUri).pathname];
  if (!route) return page(res, 404, 'Not found', '');
  Promise.resolve(route(req, res)).catch((error) => page(res, 500, 'Error', `<p>${escape(error.message)}</p>`));
}).listen(port, host, () => {
  console.log(`example app listening on http://${host}:${port}/ (issuer ${issuer.href})`);
});
