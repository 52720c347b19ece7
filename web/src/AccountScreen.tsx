// Account: who I am (GET /api/v1/me), my enrolled faces, add a face, log out, delete my account.

import { useEffect, useState } from 'react';
import { ErrorNotice, FaceGateError, Spinner, type FaceGateClient, type FaceGateUser } from '@facegate/sdk';
import { AddFacePanel } from './AddFacePanel';
import { DeleteAccountPanel } from './DeleteAccountPanel';
import { ScreenHeading } from './ScreenHeading';

export interface AccountScreenProps {
  client: FaceGateClient;
  /** What the app already knows (from log-in); refreshed from the server on open. */
  user: FaceGateUser | null;
  onUser: (user: FaceGateUser) => void;
  onSignedOut: () => void;
}

export function AccountScreen({ client, user, onUser, onSignedOut }: AccountScreenProps) {
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [loggingOut, setLoggingOut] = useState(false);

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    client.me().then(
      (me) => {
        if (!current) return;
        onUser(me);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [client, onUser, attempt]);

  const logOut = async () => {
    setLoggingOut(true);
    try {
      await client.logout();
    } catch {
      // The session is dropped on this side either way; the cookie expires on its own.
    }
    onSignedOut();
  };

  const signedOut = error instanceof FaceGateError && error.code === 'unauthorized';
  return (
    <>
      <ScreenHeading>Your account</ScreenHeading>
      {loading && !user && <Spinner label="Loading your account…" />}
      {signedOut && (
        <div className="card">
          <p className="lead">You are not logged in.</p>
          <div className="fg-actions">
            <a className="link-button primary" href="#/login">
              Log in
            </a>
            <a className="link-button" href="#/signup">
              Sign up
            </a>
          </div>
        </div>
      )}
      {error && !signedOut && <ErrorNotice error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {user && !error && (
        <>
          <section className="card profile" aria-labelledby="profile-title">
            <h2 id="profile-title">
              Welcome, <span className="who">{user.display_name || user.username}</span>
            </h2>
            <dl>
              <dt>Username</dt>
              <dd data-testid="username">{user.username}</dd>
              <dt>Display name</dt>
              <dd>{user.display_name || '—'}</dd>
              <dt>Faces enrolled</dt>
              <dd data-testid="faces">{user.faces}</dd>
              <dt>Member since</dt>
              <dd>{formatDate(user.created_at)}</dd>
            </dl>
            <div className="fg-actions">
              <button type="button" className="fg-button" onClick={() => void logOut()} disabled={loggingOut}>
                {loggingOut ? 'Logging out…' : 'Log out'}
              </button>
            </div>
          </section>
          <AddFacePanel client={client} onAdded={onUser} />
          <DeleteAccountPanel client={client} username={user.username} onDeleted={onSignedOut} />
        </>
      )}
    </>
  );
}

function formatDate(iso: string): string {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleDateString(undefined, { dateStyle: 'long' });
}
