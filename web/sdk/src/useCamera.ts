// React hook: the webcam stream attached to a <video>, started while `active`, stopped otherwise.

import { useEffect, useRef, useState, type RefObject } from 'react';
import { cameraError, openCamera, stopStream } from './camera.js';
import { FaceGateError } from './errors.js';

export type CameraStatus = 'off' | 'starting' | 'live' | 'error';

export interface CameraState {
  videoRef: RefObject<HTMLVideoElement | null>;
  status: CameraStatus;
  error: FaceGateError | null;
}

export function useCamera(active: boolean): CameraState {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const [status, setStatus] = useState<CameraStatus>('off');
  const [error, setError] = useState<FaceGateError | null>(null);

  useEffect(() => {
    if (!active) {
      setStatus('off');
      return undefined;
    }
    let cancelled = false;
    let stream: MediaStream | null = null;
    setStatus('starting');
    setError(null);
    openCamera().then(
      (opened) => {
        if (cancelled) {
          stopStream(opened);
          return;
        }
        stream = opened;
        const video = videoRef.current;
        if (!video) return;
        video.srcObject = opened;
        const live = () => {
          if (!cancelled) setStatus('live');
        };
        if (video.readyState >= 2) live();
        else video.addEventListener('loadeddata', live, { once: true });
        // Autoplay of a muted inline video is allowed; a refusal here only delays the first frame.
        Promise.resolve(video.play()).catch(() => undefined);
      },
      (failure: unknown) => {
        if (cancelled) return;
        setError(failure instanceof FaceGateError ? failure : cameraError(failure));
        setStatus('error');
      },
    );
    return () => {
      cancelled = true;
      stopStream(stream);
      const video = videoRef.current;
      if (video) video.srcObject = null;
    };
  }, [active]);

  return { videoRef, status, error };
}
