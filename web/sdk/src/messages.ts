// Plain words for every failure, every detection hint and every label of the SDK's components.
// All of it can be replaced (another language, another tone): pass `texts` to a component, or to
// describeError / hintText; what is not given keeps the English default.

import { FaceGateError } from './errors.js';
import type { DetectHint } from './types.js';

export interface ErrorText {
  title: string;
  detail: string;
}

/** Every text the SDK shows. Functions build the texts that hold a value. */
export interface FaceGateTexts {
  /** Titles and details per error code (the server's codes and the SDK's own). */
  errors: Record<string, ErrorText>;
  /** Shown for codes without an entry; the detail is then the server's message. */
  unknownErrorTitle: string;
  /** Camera guidance per detection hint. */
  hints: Record<DetectHint, string>;
  lookAtCamera: string;
  cameraLabel: string;
  cameraStarting: string;
  cameraUnavailable: string;
  lookingForFace: string;
  tryAgain: string;
  /** " Try again in 5 seconds." after a rate limit or lockout. */
  retryIn: (wait: string) => string;
  /** The button while a Retry-After runs: "Try again (in 5 seconds)". */
  retryAfterLabel: (label: string, wait: string) => string;
  seconds: (n: number) => string;
  minutes: (n: number) => string;
  // <FaceLogin>
  loginRegion: string;
  loginWithUsername: string;
  username: string;
  scanMyFace: string;
  checkingFace: string;
  // <FaceSignUp>
  signUpRegion: string;
  signUpIntro: string;
  usernameHelp: string;
  displayName: string;
  continueToScan: string;
  chooseUsername: string;
  signingUpAs: (username: string, displayName: string) => string;
  picturesTaken: string;
  picturesProgress: (done: number, total: number) => string;
  creatingAccount: string;
  back: string;
  changeUsername: string;
}

const errorTexts: Record<string, ErrorText> = {
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
    detail:
      'There were too many failed log-ins for this account from your network, so it is locked here for a while.',
  },
  busy: {
    title: 'The server is busy',
    detail: 'Many people are logging in right now. Try again in a moment.',
  },
  forbidden_origin: {
    title: 'This page may not use facegate',
    detail: 'Its address is not on the facegate server’s list of allowed sites.',
  },
  no_match: {
    title: 'We could not recognise you',
    detail: 'Your face did not match an account. Face the camera in good light and try again — or sign up.',
  },
  no_face: { title: 'No face found', detail: 'Make sure your whole face is in view and well lit.' },
  multiple_faces: { title: 'More than one face', detail: 'Only one person should be in view.' },
  face_too_small: { title: 'Your face is too small in the picture', detail: 'Move closer to the camera.' },
  face_blurred: { title: 'The picture is blurred', detail: 'Hold still, or clean the camera lens.' },
  face_too_dark: { title: 'Your face is too dark', detail: 'Turn towards a light.' },
  face_overexposed: { title: 'Your face is overexposed', detail: 'Move out of direct light.' },
  face_turned: { title: 'Your head is turned away', detail: 'Look straight at the camera.' },
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

/** The English texts. */
export const defaultTexts: FaceGateTexts = {
  errors: errorTexts,
  unknownErrorTitle: 'Something went wrong',
  hints: {
    ok: 'Hold still',
    no_face: 'No face found — look at the camera',
    multiple_faces: 'Only one face please',
    move_closer: 'Move closer',
    off_center: 'Center your face',
    blurred: 'Hold still',
    too_dark: 'More light please',
    overexposed: 'Too bright — move out of direct light',
    turned: 'Look straight at the camera',
  },
  lookAtCamera: 'Look at the camera',
  cameraLabel: 'Camera preview',
  cameraStarting: 'Starting the camera…',
  cameraUnavailable: 'The camera is not available.',
  lookingForFace: 'Looking for your face…',
  tryAgain: 'Try again',
  retryIn: (wait) => ` Try again in ${wait}.`,
  retryAfterLabel: (label, wait) => `${label} (in ${wait})`,
  seconds: (n) => (n === 1 ? '1 second' : `${n} seconds`),
  minutes: (n) => (n === 1 ? '1 minute' : `${n} minutes`),
  loginRegion: 'Log in with your face',
  loginWithUsername: 'Log in with my username',
  username: 'Username',
  scanMyFace: 'Scan my face',
  checkingFace: 'Checking your face…',
  signUpRegion: 'Sign up with your face',
  signUpIntro: 'Choose a username, then look at the camera: it takes three pictures by itself.',
  usernameHelp: 'Letters, digits, dot, dash and underscore.',
  displayName: 'Display name (optional)',
  continueToScan: 'Continue: scan my face',
  chooseUsername: 'Choose a username.',
  signingUpAs: (username, displayName) =>
    `Signing up as ${username}${displayName ? ` (${displayName})` : ''}.`,
  picturesTaken: 'Pictures taken',
  picturesProgress: (done, total) => `${done} of ${total} pictures`,
  creatingAccount: 'Creating your account…',
  back: 'Back',
  changeUsername: 'Change username',
};

/** The defaults with `overrides` laid over them (errors and hints merged key by key). */
export function mergeTexts(overrides?: Partial<FaceGateTexts>): FaceGateTexts {
  if (!overrides) return defaultTexts;
  return {
    ...defaultTexts,
    ...overrides,
    errors: { ...defaultTexts.errors, ...overrides.errors },
    hints: { ...defaultTexts.hints, ...overrides.hints },
  };
}

/** Title and detail for an error; the server's own message fills in where we have no better one. */
export function describeError(error: unknown, texts: FaceGateTexts = defaultTexts): ErrorText {
  if (!(error instanceof FaceGateError)) {
    return { title: texts.unknownErrorTitle, detail: error instanceof Error ? error.message : String(error) };
  }
  const known = texts.errors[error.code];
  if (!known) return { title: texts.unknownErrorTitle, detail: error.message };
  let detail = known.detail || error.message;
  if (['rate_limited', 'locked_out', 'busy'].includes(error.code) && error.retryAfter !== null) {
    detail += texts.retryIn(formatSeconds(error.retryAfter, texts));
  }
  return { title: known.title, detail };
}

export function formatSeconds(seconds: number, texts: FaceGateTexts = defaultTexts): string {
  return seconds < 60 ? texts.seconds(seconds) : texts.minutes(Math.ceil(seconds / 60));
}

export function hintText(hint: DetectHint | string, texts: FaceGateTexts = defaultTexts): string {
  return (texts.hints as Record<string, string>)[hint] ?? texts.lookAtCamera;
}
