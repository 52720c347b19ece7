// Sign up: a username and display name, then the camera takes three good pictures by itself and
// the account is created with them (POST /api/v1/users).

import { useId, useRef, useState } from 'react';
import {
  CameraView,
  ErrorNotice,
  FaceGateError,
  Spinner,
  describeError,
  type FaceGateClient,
  type FaceGateUser,
} from '@facegate/sdk';
import { CaptureProgress } from './CaptureProgress';
import { ScreenHeading } from './ScreenHeading';

export const FRAMES_NEEDED = 3;

export interface SignUpScreenProps {
  client: FaceGateClient;
  onSignedUp: (user: FaceGateUser) => void;
}

type Phase = 'form' | 'scanning' | 'submitting' | 'failed';

/** Errors about the username send the person back to the form, next to the field. */
const usernameErrors = new Set(['username_taken', 'invalid_username']);

export function SignUpScreen({ client, onSignedUp }: SignUpScreenProps) {
  const ids = useId();
  const [phase, setPhase] = useState<Phase>('form');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [frames, setFrames] = useState<string[]>([]);
  const [error, setError] = useState<FaceGateError | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const collected = useRef<string[]>([]);

  const startScan = () => {
    collected.current = [];
    setFrames([]);
    setError(null);
    setPhase('scanning');
  };

  const fail = (failure: unknown) => {
    const wrapped =
      failure instanceof FaceGateError ? failure : new FaceGateError('internal', 0, String(failure));
    if (usernameErrors.has(wrapped.code)) {
      const { title, detail } = describeError(wrapped);
      setFieldError(
        wrapped.code === 'invalid_username' ? `${title}: ${wrapped.message}` : `${title}. ${detail}`,
      );
      setPhase('form');
      return;
    }
    setError(wrapped);
    setPhase('failed');
  };

  const submit = async (images: string[]) => {
    setPhase('submitting');
    try {
      const session = await client.signUp({
        username: username.trim(),
        displayName: displayName.trim() || undefined,
        images,
      });
      onSignedUp(session.user);
    } catch (failure) {
      fail(failure);
    }
  };

  const addFrame = (image: string) => {
    if (collected.current.length >= FRAMES_NEEDED) return;
    collected.current = [...collected.current, image];
    setFrames(collected.current);
    if (collected.current.length === FRAMES_NEEDED) void submit(collected.current);
  };

  return (
    <>
      <ScreenHeading>Sign up</ScreenHeading>
      {phase === 'form' ? (
        <form
          className="card form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (!username.trim()) {
              setFieldError('Choose a username.');
              return;
            }
            setFieldError(null);
            startScan();
          }}
        >
          <p className="lead">
            Choose a username, then look at the camera: it takes three pictures by itself.
          </p>
          <div className="field">
            <label htmlFor={`${ids}-username`}>Username</label>
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
            <small id={`${ids}-username-help`}>Letters, digits, dot, dash and underscore.</small>
            {fieldError && (
              <p id={`${ids}-username-error`} className="field-error" role="alert">
                {fieldError}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor={`${ids}-display`}>Display name (optional)</label>
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
            Continue: scan my face
          </button>
        </form>
      ) : (
        <div className="card">
          <p className="lead">
            Signing up as <strong>{username.trim()}</strong>
            {displayName.trim() && <> ({displayName.trim()})</>}.
          </p>
          {phase === 'failed' && error ? (
            <ErrorNotice
              error={error}
              onRetry={error.code === 'face_already_enrolled' ? undefined : startScan}
            >
              {error.code === 'face_already_enrolled' && (
                <a className="link-button" href="#/login">
                  Log in instead
                </a>
              )}
              <button type="button" className="fg-button secondary" onClick={() => setPhase('form')}>
                Change username
              </button>
            </ErrorNotice>
          ) : (
            <>
              <CaptureProgress done={frames.length} total={FRAMES_NEEDED} />
              <CameraView
                client={client}
                scanning={phase === 'scanning'}
                onGoodFrame={addFrame}
                onError={fail}
                caption={phase === 'submitting' ? <Spinner label="Creating your account…" /> : undefined}
              />
              <div className="fg-actions">
                <button type="button" className="fg-button secondary" onClick={() => setPhase('form')}>
                  Back
                </button>
              </div>
            </>
          )}
        </div>
      )}
    </>
  );
}
