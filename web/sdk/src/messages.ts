// Plain words for every failure and every detection hint, shared by the SDK's components and the app.

import { FaceGateError } from './errors';
import type { DetectHint } from './types';

export interface ErrorText {
  title: string;
  detail: string;
}

const texts: Record<string, ErrorText> = {
  camera_denied: {
    title: 'Camera permission denied',
    detail:
      'Allow camera access for this site in your browser (the camera icon in the address bar), then try again.',
  },
  camera_missing: { title: 'No camera found', detail: 'Connect a camera, then try again.' },
  camera_busy: {
    title: 'The camera is busy',
    detail: 'Another app or tab may be using it. Close it, then try again.',
  },
  camera_unsupported: {
    title: 'No camera access in this browser',
    detail: 'Open this page over HTTPS (or on localhost) in a current browser.',
  },
  camera_error: { title: 'The camera failed', detail: 'Reload the page and try again.' },
  network: {
    title: 'The server is not reachable',
    detail: 'facegate may be down or your connection lost. Try again in a moment.',
  },
  server_error: {
    title: 'The server had a problem',
    detail: 'Something went wrong on our side. Try again in a moment.',
  },
  internal: {
    title: 'The server had a problem',
    detail: 'Something went wrong on our side. Try again in a moment.',
  },
  rate_limited: { title: 'Too many attempts', detail: 'Please wait a little, then try again.' },
  locked_out: {
    title: 'Account locked',
    detail: 'There were too many failed log-ins for this account, so it is locked for a while.',
  },
  no_match: {
    title: 'We could not recognise you',
    detail: 'Your face did not match an account. Face the camera in good light and try again — or sign up.',
  },
  no_face: { title: 'No face found', detail: 'Make sure your whole face is in view and well lit.' },
  multiple_faces: { title: 'More than one face', detail: 'Only one person should be in view.' },
  face_too_small: { title: 'Your face is too small in the picture', detail: 'Move closer to the camera.' },
  username_taken: { title: 'That username is taken', detail: 'Pick another username.' },
  face_already_enrolled: {
    title: 'This face already has an account',
    detail: 'You are already signed up. Log in instead.',
  },
  invalid_username: { title: 'That username is not allowed', detail: '' },
  unauthorized: { title: 'You are not logged in', detail: 'Log in with your face to continue.' },
  unsupported_image: { title: 'The camera picture could not be used', detail: '' },
  corrupt_image: { title: 'The camera picture could not be used', detail: '' },
  image_too_large: { title: 'The camera picture is too large', detail: '' },
  body_too_large: { title: 'The camera picture is too large', detail: '' },
  not_found: { title: 'Not found', detail: '' },
};

/** Title and detail for an error; the server's own message fills in where we have no better one. */
export function describeError(error: unknown): ErrorText {
  if (!(error instanceof FaceGateError)) {
    return { title: 'Something went wrong', detail: error instanceof Error ? error.message : String(error) };
  }
  const known = texts[error.code];
  if (!known) return { title: 'Something went wrong', detail: error.message };
  let detail = known.detail || error.message;
  if ((error.code === 'rate_limited' || error.code === 'locked_out') && error.retryAfter !== null) {
    detail += ` Try again in ${formatSeconds(error.retryAfter)}.`;
  }
  return { title: known.title, detail };
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

const hints: Record<DetectHint, string> = {
  ok: 'Hold still',
  no_face: 'No face found — look at the camera',
  multiple_faces: 'Only one face please',
  move_closer: 'Move closer',
  off_center: 'Center your face',
};

export function hintText(hint: DetectHint | string): string {
  return (hints as Record<string, string>)[hint] ?? 'Look at the camera';
}
