// The webcam: opening it with errors a person can act on, and grabbing a JPEG frame from it.

import { FaceGateError } from './errors.js';

/** Opens the user-facing camera. Rejects with FaceGateError code `camera_denied`, `camera_missing`,
 *  `camera_busy` or `camera_unsupported`. The caller stops the tracks when done (stopStream). */
export async function openCamera(): Promise<MediaStream> {
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
  if (!devices || typeof devices.getUserMedia !== 'function') {
    throw new FaceGateError(
      'camera_unsupported',
      0,
      'This browser cannot use a camera here (it needs HTTPS or localhost).',
    );
  }
  try {
    return await devices.getUserMedia({
      audio: false,
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (cause) {
    throw cameraError(cause);
  }
}

export function cameraError(cause: unknown): FaceGateError {
  const name = cause instanceof Error || cause instanceof DOMException ? cause.name : '';
  const detail = cause instanceof Error ? cause.message : String(cause);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return new FaceGateError('camera_denied', 0, `Camera permission denied: ${detail}`, { cause });
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return new FaceGateError('camera_missing', 0, `No camera found: ${detail}`, { cause });
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new FaceGateError('camera_busy', 0, `The camera could not be started: ${detail}`, { cause });
    default:
      return new FaceGateError('camera_error', 0, `The camera failed: ${detail}`, { cause });
  }
}

export function stopStream(stream: MediaStream | null): void {
  stream?.getTracks().forEach((track) => track.stop());
}

/** The current video frame as a JPEG data URL, at most `maxWidth` wide; null until the video has
 *  a frame. One canvas is reused per video element. */
export function captureFrame(video: HTMLVideoElement, quality = 0.9, maxWidth = 640): string | null {
  const { videoWidth, videoHeight } = video;
  if (!videoWidth || !videoHeight) return null;
  const scale = Math.min(1, maxWidth / videoWidth);
  const canvas = frameCanvas(video);
  canvas.width = Math.round(videoWidth * scale);
  canvas.height = Math.round(videoHeight * scale);
  const context = canvas.getContext('2d');
  if (!context) return null;
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL('image/jpeg', quality);
}

const canvases = new WeakMap<HTMLVideoElement, HTMLCanvasElement>();

function frameCanvas(video: HTMLVideoElement): HTMLCanvasElement {
  let canvas = canvases.get(video);
  if (!canvas) {
    canvas = document.createElement('canvas');
    canvases.set(video, canvas);
  }
  return canvas;
}
