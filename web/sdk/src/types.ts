// The shapes the facegate server sends (docs/API-SKETCH.md).

export interface FaceGateUser {
  username: string;
  display_name: string;
  /** How many face templates are enrolled for this user. */
  faces: number;
  /** ISO 8601 time of sign-up. */
  created_at: string;
}

/** What sign-up and log-in return: the user and a signed session token (also set as a cookie). */
export interface Session {
  user: FaceGateUser;
  token: string;
  expires_at: string;
  /** Log-in only: descriptor distance of the match (smaller is closer). */
  distance?: number;
}

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The fast path's per-frame measures of a face (sent when the server's guidance runs on it). */
export interface FaceMeasures {
  /** FaceMesh's confidence that the crop holds a face, 0..1. */
  confidence: number;
  /** Head pose in degrees: yaw > 0 turns towards the image's left, pitch > 0 looks down,
   * roll > 0 tilts clockwise in the image. */
  pose: { yaw: number; pitch: number; roll: number };
  /** Eye aspect ratio of the subject's right and left eye (compare with the face's own open level). */
  eye_openness: { right: number; left: number };
  /** Inner lip gap over mouth width (0: closed). */
  mouth_openness: number;
}

export interface DetectedFace {
  box: FaceBox;
  score: number;
  /** The 68 facial landmarks as [x, y], when the server sends them. */
  landmarks?: [number, number][];
  /** Present when the server runs the camera guidance on the fast path (the default). */
  measures?: FaceMeasures;
}

export type DetectHint =
  | 'ok'
  | 'no_face'
  | 'multiple_faces'
  | 'move_closer'
  | 'off_center'
  | 'blurred'
  | 'too_dark'
  | 'overexposed'
  | 'turned';

/** Result of POST /api/v1/detect: boxes in the pixels of the image sent, plus guidance. */
export interface Detection {
  width: number;
  height: number;
  faces: DetectedFace[];
  hint: DetectHint;
  message: string;
}

export interface AuditEvent {
  time: string;
  event: string;
  username: string | null;
  client: string | null;
  outcome: string;
  distance: number | null;
}

/** GET /api/v1/threshold: the accept threshold on the enrolled population (admin). */
export interface ThresholdReport {
  /** adaptive (S-normalised against the enrolled users) or fixed. */
  policy: 'adaptive' | 'fixed';
  /** estimated from the enrolled users, the fallback (too few users yet), or fixed. */
  basis: 'estimated' | 'fallback' | 'fixed';
  /** Median threshold an enrolled person faced against the others, and its 5th-95th percentiles. */
  threshold: number;
  threshold_low: number;
  threshold_high: number;
  target_far: number;
  ceiling: number;
  fallback: number;
  min_users: number;
  margin: number;
  users: number;
  templates: number;
  /** Leave-one-out: enrolled faces tried against the other users, and how many were accepted. */
  estimated_far: number;
  impostor_pairs: number;
  impostor_accepts: number;
}

/** A liveness challenge step. Left and right are the person's own (on a mirrored preview, the
 * head turns toward the screen's same side). */
export type LivenessStep = 'turn_left' | 'turn_right' | 'look_up' | 'look_down' | 'blink';

/** Why the last frames did not advance the step. */
export type LivenessHint =
  'no_face' | 'two_faces' | 'face_camera' | 'hold_still' | 'go_further' | 'straighter' | 'back_to_centre';

/** Why a liveness session failed. */
export type LivenessFailureCode =
  'step_timeout' | 'expired' | 'face_lost' | 'two_faces' | 'track_jump' | 'identity' | 'time' | 'ended';

/** Where a liveness session stands (POST /api/v1/liveness and its frames route). */
export interface LivenessState {
  id: string;
  state: 'running' | 'passed' | 'failed';
  done: boolean;
  /** The current step once the client may know it; null once the session ended. */
  step: LivenessStep | null;
  instruction: string | null;
  step_index: number;
  steps: number;
  completed: number;
  /** The current step counts from now on (after a neutral pose at the start). */
  revealed: boolean;
  /** 0..1 within the current step. */
  progress: number;
  hint: LivenessHint | null;
  message: string;
  failure: { code: LivenessFailureCode; message: string } | null;
  expires_at: string;
  frames?: number;
  ignored?: number;
}

/** A new session: its state plus what only its creator gets. */
export interface LivenessStart extends LivenessState {
  secret: string;
  step_seconds: number;
  max_frames: number;
}

/** A passed session, to send once with a sign-up, log-in or added face. */
export interface LivenessProof {
  id: string;
  secret: string;
}

/** One camera frame with its capture time (milliseconds, performance.now()). */
export interface LivenessFrame {
  t: number;
  image: string;
}
