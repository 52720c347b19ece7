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
