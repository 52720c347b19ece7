// <FaceLogin onLogin={(user, token) => ...} />: the whole face log-in, droppable into any React app.
// Runs the server's liveness challenge on the camera and logs in with the passed session
// (POST /api/v1/login); on a server without liveness (`--liveness off`) it waits for one
// well-placed face and sends that frame instead. Failures (a step not done, no match, rate limit,
// camera, server) show with a "Try again".

import { useCallback, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { CameraView } from './CameraView.js';
import { createFaceGate, type FaceGateClient } from './client.js';
import { ErrorNotice } from './ErrorNotice.js';
import { LivenessChallenge } from './LivenessChallenge.js';
import { mergeTexts, type FaceGateTexts } from './messages.js';
import type { FaceGateError } from './errors.js';
import { Spinner } from './Spinner.js';
import type { FaceGateUser, LivenessProof, Session } from './types.js';

export interface FaceLoginProps {
  /** Called once the server accepted the face. `token` is the signed session (JWT). */
  onLogin: (user: FaceGateUser, token: string, session: Session) => void;
  /** A client to share with the rest of the app; otherwise one is made for `baseUrl`. */
  client?: FaceGateClient;
  baseUrl?: string;
  /** Offer "Log in with my username" (1:1 matching). Default true. */
  allowUsername?: boolean;
  /** Every failure, for logging; the component shows it to the user anyway. */
  onError?: (error: FaceGateError) => void;
  intervalMs?: number;
  /** Extra actions shown under a failed attempt, e.g. a link to sign up. */
  failureActions?: ReactNode;
  /** Replacement texts (another language); see FaceGateTexts. */
  texts?: Partial<FaceGateTexts>;
}

type Phase = 'scanning' | 'checking' | 'failed';

export function FaceLogin({
  onLogin,
  client: givenClient,
  baseUrl,
  allowUsername = true,
  onError,
  intervalMs,
  failureActions,
  texts,
}: FaceLoginProps) {
  const t = useMemo(() => mergeTexts(texts), [texts]);
  const client = useMemo(() => givenClient ?? createFaceGate({ baseUrl }), [givenClient, baseUrl]);
  const [phase, setPhase] = useState<Phase>('scanning');
  const [error, setError] = useState<FaceGateError | null>(null);
  const [withUsername, setWithUsername] = useState(false);
  const [username, setUsername] = useState('');
  const [usernameReady, setUsernameReady] = useState(false);
  const [photoMode, setPhotoMode] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const busy = useRef(false);
  const ids = useId();

  const fail = useCallback(
    (failure: FaceGateError) => {
      busy.current = false;
      setError(failure);
      setPhase('failed');
      onError?.(failure);
    },
    [onError],
  );

  // Bumped whenever the person starts over (e.g. switches to "log in with my username" while a
  // log-in is on its way): the answer of an attempt they left behind is ignored.
  const generation = useRef(0);

  const tryLogin = useCallback(
    async (face: string | LivenessProof) => {
      if (busy.current) return;
      busy.current = true;
      setPhase('checking');
      const mine = generation.current;
      const claim = withUsername ? username.trim() : undefined;
      try {
        const session = await client.login(
          typeof face === 'string' ? { image: face, username: claim } : { liveness: face, username: claim },
        );
        if (mine !== generation.current) return;
        busy.current = false;
        onLogin(session.user, session.token, session);
      } catch (failure) {
        if (mine === generation.current) fail(failure as FaceGateError);
      }
    },
    [client, withUsername, username, onLogin, fail],
  );

  const retry = () => {
    generation.current += 1;
    busy.current = false;
    setError(null);
    setAttempt((n) => n + 1);
    setPhase('scanning');
  };

  const camera = !withUsername || usernameReady;
  return (
    <section className="fg-facelogin" aria-label={t.loginRegion}>
      {allowUsername && (
        <div className="fg-username-option">
          <label className="fg-check">
            <input
              type="checkbox"
              checked={withUsername}
              onChange={(event) => {
                setWithUsername(event.target.checked);
                setUsernameReady(false);
                retry();
              }}
            />
            {t.loginWithUsername}
          </label>
          {withUsername && (
            <form
              className="fg-inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                if (username.trim()) {
                  setUsernameReady(true);
                  retry();
                }
              }}
            >
              <label htmlFor={`${ids}-username`}>{t.username}</label>
              <input
                id={`${ids}-username`}
                name="username"
                autoComplete="username"
                autoCapitalize="none"
                spellCheck={false}
                required
                value={username}
                onChange={(event) => {
                  setUsername(event.target.value);
                  setUsernameReady(false);
                }}
              />
              <button type="submit" className="fg-button">
                {t.scanMyFace}
              </button>
            </form>
          )}
        </div>
      )}
      {phase === 'failed' && error ? (
        <ErrorNotice error={error} onRetry={retry} texts={t}>
          {failureActions}
        </ErrorNotice>
      ) : (
        camera &&
        (photoMode ? (
          <CameraView
            client={client}
            scanning={phase === 'scanning'}
            intervalMs={intervalMs}
            onGoodFrame={(image) => void tryLogin(image)}
            onError={fail}
            caption={phase === 'checking' ? <Spinner label={t.checkingFace} /> : undefined}
            texts={t}
          />
        ) : (
          <LivenessChallenge
            key={attempt}
            client={client}
            onPassed={(proof) => void tryLogin(proof)}
            onFailed={fail}
            onUnavailable={() => setPhotoMode(true)}
            passedCaption={<Spinner label={t.checkingFace} />}
            texts={t}
          />
        ))
      )}
    </section>
  );
}
