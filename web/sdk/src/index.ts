// @facegate/sdk: log in with your face, in any web app. React components on top of the
// framework-free client (also importable alone as @facegate/sdk/client).
export * from './core.js';
export { useCamera } from './useCamera.js';
export type { CameraState, CameraStatus } from './useCamera.js';
export { useDetectLoop, DEFAULT_DETECT_INTERVAL_MS } from './useDetectLoop.js';
export type { DetectLoopOptions } from './useDetectLoop.js';
export { CameraView } from './CameraView.js';
export type { CameraViewProps } from './CameraView.js';
export { CaptureProgress } from './CaptureProgress.js';
export type { CaptureProgressProps } from './CaptureProgress.js';
export { ErrorNotice } from './ErrorNotice.js';
export type { ErrorNoticeProps } from './ErrorNotice.js';
export { Spinner } from './Spinner.js';
export type { SpinnerProps } from './Spinner.js';
export { LivenessChallenge } from './LivenessChallenge.js';
export type { LivenessChallengeProps } from './LivenessChallenge.js';
export { FaceLogin } from './FaceLogin.js';
export type { FaceLoginProps } from './FaceLogin.js';
export { FaceSignUp, DEFAULT_SIGNUP_FRAMES } from './FaceSignUp.js';
export type { FaceSignUpProps } from './FaceSignUp.js';
