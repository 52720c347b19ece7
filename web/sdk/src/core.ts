// @facegate/sdk/client: everything that works without React (and without a DOM framework at all):
// the HTTP client, its errors and types, the texts, and the camera helpers.
export { createFaceGate } from './client.js';
export type {
  AuthorizationStep,
  AuthorizeOptions,
  FaceGateAdmin,
  FaceGateClient,
  FaceGateOptions,
  ImageData64,
  LoginRequest,
  SignUpRequest,
} from './client.js';
export { FaceGateError, isFaceGateError, parseRetryAfter } from './errors.js';
export type {
  AuditEvent,
  Detection,
  DetectedFace,
  FaceMeasures,
  DetectHint,
  FaceBox,
  FaceGateUser,
  Session,
  ThresholdReport,
} from './types.js';
export { captureFrame, openCamera, stopStream } from './camera.js';
export { defaultTexts, describeError, formatSeconds, hintText, mergeTexts } from './messages.js';
export type { ErrorText, FaceGateTexts } from './messages.js';
