// <LivenessChallenge>: the server's liveness challenge on the camera. An oval guide over the
// mirrored preview, the current step in the person's own words with an arrow that points the way
// their head moves on the mirror, the steps done, a countdown, and the server's hint. The server
// decides every check; this shows where it stands. Mount it again (a new `key`) to retry.

import { useEffect, useRef, useState, type CSSProperties, type ReactNode } from 'react';
import type { FaceGateClient } from './client.js';
import { FaceGateError } from './errors.js';
import { livenessFailure, runLiveness } from './liveness.js';
import { mergeTexts, type FaceGateTexts } from './messages.js';
import type { LivenessProof, LivenessStart, LivenessState, LivenessStep } from './types.js';
import { useCamera } from './useCamera.js';

export interface LivenessChallengeProps {
  client: FaceGateClient;
  /** The session passed: send `proof` with the sign-up, log-in or added face (once). */
  onPassed: (proof: LivenessProof, state: LivenessState) => void;
  /** The session failed (codes `liveness_step_timeout`, `liveness_face_lost`, ...), or the
   *  camera or the server did. */
  onFailed: (error: FaceGateError) => void;
  /** The server runs without liveness (`--liveness off`): use the photo flow instead. */
  onUnavailable?: () => void;
  /** Shown instead of the prompt once passed (e.g. "Checking your face…"). */
  passedCaption?: ReactNode;
  fps?: number;
  batch?: number;
  texts?: Partial<FaceGateTexts>;
}

const mirrored: CSSProperties = { transform: 'scaleX(-1)' };

/** Degrees to rotate a right-pointing arrow so it shows the step's way on the mirrored preview:
 *  the person's left is the screen's left in a mirror. */
const arrowAngle: Record<Exclude<LivenessStep, 'blink'>, number> = {
  turn_left: 180,
  turn_right: 0,
  look_up: -90,
  look_down: 90,
};

function StepSign({ step }: { step: LivenessStep }) {
  if (step === 'blink') {
    return (
      <svg className="fg-liveness-sign fg-liveness-eye" viewBox="0 0 48 24" aria-hidden="true">
        <path d="M2 12 Q24 -6 46 12 Q24 30 2 12 Z" fill="none" stroke="currentColor" strokeWidth="3" />
        <circle className="fg-liveness-pupil" cx="24" cy="12" r="5" fill="currentColor" />
      </svg>
    );
  }
  return (
    <svg
      className="fg-liveness-sign fg-liveness-arrow"
      data-direction={step}
      viewBox="0 0 48 48"
      aria-hidden="true"
      style={{ transform: `rotate(${arrowAngle[step]}deg)` }}
    >
      <path
        d="M6 24 H36 M26 12 L40 24 L26 36"
        fill="none"
        stroke="currentColor"
        strokeWidth="5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

export function LivenessChallenge({
  client,
  onPassed,
  onFailed,
  onUnavailable,
  passedCaption,
  fps,
  batch,
  texts,
}: LivenessChallengeProps) {
  const t = mergeTexts(texts);
  const { videoRef, status, error } = useCamera(true);
  const [state, setState] = useState<LivenessState | null>(null);
  const [stepSeconds, setStepSeconds] = useState(0);
  const [stepShownAt, setStepShownAt] = useState(0);
  const [now, setNow] = useState(() => performance.now());
  const callbacks = useRef({ onPassed, onFailed, onUnavailable });
  callbacks.current = { onPassed, onFailed, onUnavailable };
  const shownKey = useRef('');

  useEffect(() => {
    if (error) callbacks.current.onFailed(error);
  }, [error]);

  useEffect(() => {
    const video = videoRef.current;
    if (status !== 'live' || !video) return undefined;
    const controller = new AbortController();
    runLiveness(client, video, {
      signal: controller.signal,
      fps,
      batch,
      onUpdate: (next: LivenessState, start: LivenessStart) => {
        setStepSeconds(start.step_seconds);
        // The countdown of a step runs from when the person can see it (after the neutral pose
        // for the first step).
        const key = next.revealed ? `${next.step_index}:${next.step}` : '';
        if (key && key !== shownKey.current) {
          shownKey.current = key;
          setStepShownAt(performance.now());
        }
        setState(next);
      },
    }).then(
      ({ state: last, proof }) => {
        if (proof) callbacks.current.onPassed(proof, last);
        else callbacks.current.onFailed(livenessFailure(last));
      },
      (failure: unknown) => {
        if (failure instanceof DOMException && failure.name === 'AbortError') return;
        if (failure instanceof FaceGateError && failure.status === 404 && callbacks.current.onUnavailable) {
          callbacks.current.onUnavailable();
          return;
        }
        callbacks.current.onFailed(
          failure instanceof FaceGateError ? failure : new FaceGateError('network', 0, String(failure)),
        );
      },
    );
    return () => controller.abort();
  }, [status, client, videoRef, fps, batch]);

  useEffect(() => {
    const timer = setInterval(() => setNow(performance.now()), 250);
    return () => clearInterval(timer);
  }, []);

  const running = state?.state === 'running';
  const counting = running && state.revealed && state.step !== null && stepShownAt > 0;
  const left = counting ? Math.max(0, Math.ceil(stepSeconds - Math.max(0, now - stepShownAt) / 1000)) : null;
  let prompt: ReactNode;
  if (status !== 'live' || !state) prompt = status === 'error' ? t.cameraUnavailable : t.livenessStarting;
  else if (state.state === 'passed') prompt = passedCaption ?? t.livenessPassed;
  else if (!running) prompt = state.failure?.message ?? state.message;
  else if (!state.revealed || !state.step) prompt = t.livenessGetReady;
  else prompt = t.livenessSteps[state.step];
  // "Further" before any motion reads as a reproach: only once the step's motion has started.
  const hint =
    running && state.hint && !(state.hint === 'go_further' && state.progress === 0)
      ? t.livenessHints[state.hint]
      : '';
  const phase = !state ? 'starting' : state.state === 'running' && !state.revealed ? 'ready' : state.state;

  return (
    <section
      className="fg-liveness"
      aria-label={t.livenessRegion}
      data-phase={phase}
      data-step={running ? (state.step ?? '') : ''}
    >
      <div className="fg-liveness-status">
        {state && (
          <>
            <span className="fg-liveness-count">
              {t.livenessStepOf(Math.min(state.completed + 1, state.steps), state.steps)}
            </span>
            <progress
              max={state.steps}
              value={state.completed}
              aria-label={t.livenessStepOf(state.completed, state.steps)}
            />
          </>
        )}
        {left !== null && (
          <span className="fg-liveness-countdown" data-urgent={left <= 2 ? 'true' : undefined}>
            {t.livenessSecondsLeft(left)}
          </span>
        )}
      </div>
      <div className="fg-camera-frame fg-liveness-frame" style={{ position: 'relative', overflow: 'hidden' }}>
        <video
          ref={videoRef}
          className="fg-camera-video"
          aria-label={t.cameraLabel}
          autoPlay
          muted
          playsInline
          style={{ display: 'block', width: '100%', height: 'auto', ...mirrored }}
        />
        <svg className="fg-liveness-oval" viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
          {/* The picture outside the oval, dimmed: a rectangle with the oval cut out. */}
          <path
            className="fg-liveness-dim"
            d="M0 0H100V100H0Z M28 48a22 36 0 1 0 44 0a22 36 0 1 0-44 0Z"
            fillRule="evenodd"
          />
          <ellipse
            className="fg-liveness-guide"
            cx="50"
            cy="48"
            rx="22"
            ry="36"
            fill="none"
            vectorEffect="non-scaling-stroke"
          />
        </svg>
        {counting && state.step && (
          <div className="fg-liveness-sign-box" data-step={state.step}>
            <StepSign step={state.step} />
          </div>
        )}
      </div>
      <div className="fg-liveness-prompt" role="status" aria-live="polite">
        {prompt}
      </div>
      <p className="fg-liveness-hint" aria-live="polite">
        {hint}
      </p>
      {counting && (
        <progress
          className="fg-liveness-step-progress"
          max={1}
          value={state.progress}
          aria-label={prompt as string}
        />
      )}
    </section>
  );
}
