// <FaceSignUp onSignUp={(user, token) => ...} />: the whole sign-up, droppable into any React app.
// A username and display name, then the server's liveness challenge on the camera, and the
// account is created with the face of the passed session (POST /api/v1/users); on a server without
// liveness (`--liveness off`) the camera takes `frames` good pictures by itself instead. A taken or
// invalid username goes back to the form with the reason next to the field; other failures show
// with a way to try again.

import { useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { CameraView } from './CameraView.js';
import { CaptureProgress } from './CaptureProgress.js';
import { createFaceGate, type FaceGateClient } from './client.js';
import { ErrorNotice } from './ErrorNotice.js';
import { FaceGateError } from './errors.js';
import { LivenessChallenge } from './LivenessChallenge.js';
import { describeError, mergeTexts, type FaceGateTexts } from './messages.js';
import { Spinner } from './Spinner.js';
import type { FaceGateUser, LivenessProof, Session } from './types.js';

export const DEFAULT_SIGNUP_FRAMES = 3;

export interface FaceSignUpProps {
  /** Called once the account exists. `token` is its first session (JWT). */
  onSignUp: (user: FaceGateUser, token: string, session: Session) => void;
  /** A client to share with the rest of the app; otherwise one is made for `baseUrl`. */
  client?: FaceGateClient;
  baseUrl?: string;
  /** Pictures to take (1 to 5) on a server without liveness. Default 3. */
  frames?: number;
  /** Every failure, for logging; the component shows it to the user anyway. */
  onError?: (error: FaceGateError) => void;
  intervalMs?: number;
  /** Actions offered when the face already has an account, e.g. a link to log in. */
  enrolledActions?: ReactNode;
  /** Replacement texts (another language); see FaceGateTexts. */
  texts?: Partial<FaceGateTexts>;
}

type Phase = 'form' | 'scanning' | 'submitting' | 'failed';

/** Errors about the username send the person back to the form, next to the field. */
const usernameErrors = new Set(['username_taken', 'invalid_username']);

export function FaceSignUp({
  onSignUp,
  client: givenClient,
  baseUrl,
  frames: needed = DEFAULT_SIGNUP_FRAMES,
  onError,
  intervalMs,
  enrolledActions,
  texts,
}: FaceSignUpProps) {
  const client = useMemo(() => givenClient ?? createFaceGate({ baseUrl }), [givenClient, baseUrl]);
  const t = useMemo(() => mergeTexts(texts), [texts]);
  const ids = useId();
  const [phase, setPhase] = useState<Phase>('form');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [taken, setTaken] = useState<string[]>([]);
  const [error, setError] = useState<FaceGateError | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const collected = useRef<string[]>([]);
  const [photoMode, setPhotoMode] = useState(false);
  const [attempt, setAttempt] = useState(0);

  const startScan = () => {
    collected.current = [];
    setAttempt((n) => n + 1);
    setTaken([]);
    setError(null);
    setPhase('scanning');
  };

  const fail = (failure: unknown) => {
    const wrapped =
      failure instanceof FaceGateError ? failure : new FaceGateError('internal', 0, String(failure));
    onError?.(wrapped);
    if (usernameErrors.has(wrapped.code)) {
      const { title, detail } = describeError(wrapped, t);
      setFieldError(
        wrapped.code === 'invalid_username' ? `${title}: ${wrapped.message}` : `${title}. ${detail}`,
      );
      setPhase('form');
      return;
    }
    setError(wrapped);
    setPhase('failed');
  };

  const submit = async (face: string[] | LivenessProof) => {
    setPhase('submitting');
    const account = { username: username.trim(), displayName: displayName.trim() || undefined };
    try {
      const session = await client.signUp(
        Array.isArray(face) ? { ...account, images: face } : { ...account, liveness: face },
      );
      onSignUp(session.user, session.token, session);
    } catch (failure) {
      fail(failure);
    }
  };

  const addFrame = (image: string) => {
    if (collected.current.length >= needed) return;
    collected.current = [...collected.current, image];
    setTaken(collected.current);
    if (collected.current.length === needed) void submit(collected.current);
  };

  if (phase === 'form') {
    return (
      <form
        className="fg-facesignup fg-signup-form"
        aria-label={t.signUpRegion}
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (!username.trim()) {
            setFieldError(t.chooseUsername);
            return;
          }
          setFieldError(null);
          startScan();
        }}
      >
        <p className="fg-lead">{t.signUpIntro}</p>
        <div className="fg-field">
          <label htmlFor={`${ids}-username`}>{t.username}</label>
          <input
            id={`${ids}-username`}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            maxLength={64}
            value={username}
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={`${ids}-username-help${fieldError ? ` ${ids}-username-error` : ''}`}
            onChange={(event) => setUsername(event.target.value)}
          />
          <small id={`${ids}-username-help`}>{t.usernameHelp}</small>
          {fieldError && (
            <p id={`${ids}-username-error`} className="fg-field-error" role="alert">
              {fieldError}
            </p>
          )}
        </div>
        <div className="fg-field">
          <label htmlFor={`${ids}-display`}>{t.displayName}</label>
          <input
            id={`${ids}-display`}
            name="display_name"
            autoComplete="name"
            maxLength={100}
            value={displayName}
            onChange={(event) => setDisplayName(event.target.value)}
          />
        </div>
        <button type="submit" className="fg-button">
          {t.continueToScan}
        </button>
      </form>
    );
  }

  const back = (
    <button type="button" className="fg-button fg-secondary" onClick={() => setPhase('form')}>
      {phase === 'failed' ? t.changeUsername : t.back}
    </button>
  );
  return (
    <section className="fg-facesignup" aria-label={t.signUpRegion}>
      <p className="fg-lead">{t.signingUpAs(username.trim(), displayName.trim())}</p>
      {phase === 'failed' && error ? (
        <ErrorNotice
          error={error}
          onRetry={error.code === 'face_already_enrolled' ? undefined : startScan}
          texts={t}
        >
          {error.code === 'face_already_enrolled' && enrolledActions}
          {back}
        </ErrorNotice>
      ) : photoMode ? (
        <>
          <CaptureProgress done={taken.length} total={needed} texts={t} />
          <CameraView
            client={client}
            scanning={phase === 'scanning'}
            intervalMs={intervalMs}
            onGoodFrame={addFrame}
            onError={fail}
            caption={phase === 'submitting' ? <Spinner label={t.creatingAccount} /> : undefined}
            texts={t}
          />
          <div className="fg-actions">{back}</div>
        </>
      ) : (
        <>
          <LivenessChallenge
            key={attempt}
            client={client}
            onPassed={(proof) => void submit(proof)}
            onFailed={fail}
            onUnavailable={() => setPhotoMode(true)}
            passedCaption={<Spinner label={t.creatingAccount} />}
            texts={t}
          />
          <div className="fg-actions">{back}</div>
        </>
      )}
    </section>
  );
}
