// The SDK example: a third-party page that adds "log in with your face" with <FaceLogin>.
// Built to dist/example/, so `facegate serve --web-root web/dist` shows it at /example/index.html.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { FaceLogin, createFaceGate, type FaceGateUser } from '@facegate/sdk';
import '../sdk/src/facegate.css';

// The facegate server: this page's own origin, or ?server=https://login.example.com when the page
// is served from another origin (that server must list this page's origin in --cors-origin).
const facegate = createFaceGate({
  baseUrl: new URLSearchParams(window.location.search).get('server') ?? window.location.origin,
});

function ExampleShop() {
  const [user, setUser] = useState<FaceGateUser | null>(null);
  const [token, setToken] = useState('');
  if (user) {
    return (
      <>
        <h1>Hello, {user.display_name || user.username}!</h1>
        <p>Your backend can verify this session token against /.well-known/jwks.json:</p>
        <p className="token">{token}</p>
        <button type="button" onClick={() => void facegate.logout().then(() => setUser(null))}>
          Log out
        </button>
      </>
    );
  }
  return (
    <>
      <h1>Example shop</h1>
      <p>
        Log in with your face (sign up first in the facegate app at <a href="/#/signup">/#/signup</a>).
      </p>
      <FaceLogin
        client={facegate}
        onLogin={(who, jwt) => {
          setUser(who);
          setToken(jwt);
        }}
      />
    </>
  );
}

const root = document.getElementById('root');
if (root) createRoot(root).render(<ExampleShop />);
