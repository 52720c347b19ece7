// Sign in to another application (OpenID Connect): the server sent the browser here with the
// application's request; the person logs in with the same <FaceLogin> as on the log-in screen,
// and the server answers where to go back to (the application's redirect URI with a code).

import { useEffect, useRef, useState } from 'react';
import { ErrorNotice, FaceGateError, FaceLogin, Spinner, type FaceGateClient } from '@facegate/sdk';
import { ScreenHeading } from './ScreenHeading';

export interface AuthorizeScreenProps {
  client: FaceGateClient;
  /** The authorization request's parameters (client_id, redirect_uri, state, ...). */
  params: Record<string, string>;
  /** Leaves for the application; tests pass a recorder. */
  navigate?: (url: string) => void;
}

type Phase = 'checking' | 'login' | 'leaving' | 'failed';

export function AuthorizeScreen({
  client,
  params,
  navigate = (url) => window.location.assign(url),
}: AuthorizeScreenProps) {
  const [phase, setPhase] = useState<Phase>('checking');
  const [appName, setAppName] = useState('');
  const [error, setError] = useState<FaceGateError | null>(null);
  const request = useRef(params);
  const leave = useRef(navigate);
  leave.current = navigate;

  const step = async (options?: { token?: string; cancel?: boolean }) => {
    try {
      const next = await client.authorize(request.current, options);
      if (next.redirectTo) {
        setPhase('leaving');
        leave.current(next.redirectTo);
        return;
      }
      setAppName(next.client?.name || next.client?.client_id || '');
      setPhase('login');
    } catch (failure) {
      setError(
        failure instanceof FaceGateError ? failure : new FaceGateError('internal', 0, String(failure)),
      );
      setPhase('failed');
    }
  };

  // Check the request once; nothing is issued before the person shows their face.
  useEffect(() => {
    void step();
  }, []);

  const app = appName || 'an application';
  return (
    <>
      <ScreenHeading>{appName ? `Sign in to ${appName}` : 'Sign in'}</ScreenHeading>
      {phase === 'checking' && <Spinner label="Checking the sign-in request…" />}
      {phase === 'leaving' && <Spinner label={`Returning to ${app}…`} />}
      {phase === 'failed' && error && <ErrorNotice error={error} />}
      {phase === 'login' && (
        <>
          <p className="lead">
            Look at the camera. {app} will learn which facegate account is yours, and nothing else.
          </p>
          <FaceLogin
            client={client}
            onLogin={(_user, token) => void step({ token })}
            failureActions={
              <a className="link-button" href="#/signup">
                New here? Sign up
              </a>
            }
          />
          <p className="aside">
            <button type="button" className="link-button" onClick={() => void step({ cancel: true })}>
              Cancel and go back to {app}
            </button>
          </p>
        </>
      )}
    </>
  );
}
