// The liveness challenge, framework-free: start a session, capture camera frames at a steady rate
// with their capture times, stream them in small batches (one request in flight), and report
// each answer until the server says passed or failed. The server decides every check; this only
// carries frames.

import { captureFrame } from './camera.js';
import type { FaceGateClient } from './client.js';
import { FaceGateError } from './errors.js';
import type { LivenessFrame, LivenessProof, LivenessStart, LivenessState } from './types.js';

export interface LivenessRunOptions {
  /** Every answer of the server (and the session's start). */
  onUpdate?: (state: LivenessState, start: LivenessStart) => void;
  /** Stops capturing and sending (the promise then rejects with an AbortError). */
  signal?: AbortSignal;
  /** Frames per second to capture. Default 15: a blink lasts only a few frames. */
  fps?: number;
  /** Frames per request. Default 4 (about a quarter of a second at 15 fps). */
  batch?: number;
  /** Width of the frames sent, in pixels. Default 480. */
  maxWidth?: number;
}

export interface LivenessOutcome {
  /** The last state: `passed` or `failed`. */
  state: LivenessState;
  /** The proof to send with the sign-up, log-in or added face, when it passed. */
  proof: LivenessProof | null;
}

export const DEFAULT_LIVENESS_FPS = 15;
export const DEFAULT_LIVENESS_BATCH = 4;

function aborted(): DOMException {
  return new DOMException('The liveness check was stopped.', 'AbortError');
}

/** Runs one challenge on the camera shown in `video`. Rejects with the server's FaceGateError
 *  (e.g. `liveness_off` when the server runs without liveness, `too_many_sessions`). */
export async function runLiveness(
  client: FaceGateClient,
  video: HTMLVideoElement,
  options: LivenessRunOptions = {},
): Promise<LivenessOutcome> {
  const {
    onUpdate,
    signal,
    fps = DEFAULT_LIVENESS_FPS,
    batch = DEFAULT_LIVENESS_BATCH,
    maxWidth = 480,
  } = options;
  if (signal?.aborted) throw aborted();
  const start = await client.startLiveness();
  if (signal?.aborted) throw aborted();
  const proof = { id: start.id, secret: start.secret };
  onUpdate?.(start, start);

  const queue: LivenessFrame[] = [];
  let wake: (() => void) | null = null;
  const capture = setInterval(() => {
    const image = captureFrame(video, 0.85, maxWidth);
    if (!image) return;
    queue.push({ t: performance.now(), image });
    if (queue.length >= batch && wake) wake();
  }, 1000 / fps);
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      while (queue.length < batch && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      if (signal?.aborted) throw aborted();
      // A slow answer lets frames pile up: send up to the server's maximum, in capture order.
      const frames = queue.splice(0, Math.min(queue.length, start.max_frames));
      const state = await client.sendLivenessFrames(proof, frames);
      if (signal?.aborted) throw aborted();
      onUpdate?.(state, start);
      if (state.state === 'passed') return { state, proof };
      if (state.state === 'failed') return { state, proof: null };
    }
  } finally {
    clearInterval(capture);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A failed session as an error the components show like any other (`liveness_step_timeout`,
 *  `liveness_face_lost`, ...), with the server's message for the person. */
export function livenessFailure(state: LivenessState): FaceGateError {
  const code = state.failure?.code ?? 'ended';
  return new FaceGateError(`liveness_${code}`, 0, state.failure?.message ?? state.message);
}
