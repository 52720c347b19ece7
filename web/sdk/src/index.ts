// @facegate/sdk: log in with your face, in any web app.
export { createFaceGate } from './client';
export type {
  AuthorizationStep,
  AuthorizeOptions,
  FaceGateAdmin,
  FaceGateClient,
  FaceGateOptions,
  ImageData64,
  LoginRequest,
  SignUpRequest,
} from './client';
export { FaceGateError, isFaceGateError, parseRetryAfter } from './errors';
export type {
  AuditEvent,
  Detection,
  DetectedFace,
  DetectHint,
  FaceBox,
  FaceGateUser,
  Session,
} from './types';
export { captureFrame, openCamera, stopStream } from './camera';
export { describeError, formatSeconds, hintText } from './messages';
export type { ErrorText } from './messages';
export { useCamera } from './useCamera';
export type { CameraState, CameraStatus } from './useCamera';
export { useDetectLoop, DEFAULT_DETECT_INTERVAL_MS } from './useDetectLoop';
export type { DetectLoopOptions } from './useDetectLoop';
export { CameraView } from './CameraView';
export type { CameraViewProps } from './CameraView';
export { ErrorNotice } from './ErrorNotice';
export type { ErrorNoticeProps } from './ErrorNotice';
export { Spinner } from './Spinner';
export type { SpinnerProps } from './Spinner';
export { FaceLogin } from './FaceLogin';
export type { FaceLoginProps } from './FaceLogin';
