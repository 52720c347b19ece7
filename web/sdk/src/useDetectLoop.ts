// React hook: while `enabled`, grabs a frame from the video every `intervalMs` and asks the server
// where the face is. Never more than one request in flight: the next tick is scheduled only after
// the previous answer, so a slow server slows the loop instead of queueing requests.

import { useEffect, useRef, useState, type RefObject } from 'react';
import { captureFrame } from './camera.js';
import type { FaceGateClient } from './client.js';
import type { Detection } from './types.js';

export interface DetectLoopOptions {
  client: FaceGateClient;
  videoRef: RefObject<HTMLVideoElement | null>;
  enabled: boolean;
  intervalMs?: number;
  /** Every answer, with the JPEG frame it was computed on. */
  onDetection?: (detection: Detection, image: string) => void;
  /** A failed detect call; the loop stops until `enabled` goes false and true again. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_DETECT_INTERVAL_MS = 400;

export function useDetectLoop({
  client,
  videoRef,
  enabled,
  intervalMs = DEFAULT_DETECT_INTERVAL_MS,
  onDetection,
  onError,
}: DetectLoopOptions): Detection | null {
  const [detection, setDetection] = useState<Detection | null>(null);
  // Callbacks through refs, so a parent re-render does not restart the loop.
  const onDetectionRef = useRef(onDetection);
  const onErrorRef = useRef(onError);
  onDetectionRef.current = onDetection;
  onErrorRef.current = onError;

  useEffect(() => {
    if (!enabled) {
      setDetection(null);
      return undefined;
    }
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const started = Date.now();
      const video = videoRef.current;
      const image = video ? captureFrame(video) : null;
      if (image) {
        let result: Detection;
        try {
          result = await client.detect(image);
        } catch (error) {
          if (!cancelled) onErrorRef.current?.(error);
          return;
        }
        if (cancelled) return;
        setDetection(result);
        onDetectionRef.current?.(result, image);
        if (cancelled) return;
      }
      timer = setTimeout(tick, Math.max(0, intervalMs - (Date.now() - started)));
    };
    timer = setTimeout(tick, 0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [enabled, client, videoRef, intervalMs]);

  return detection;
}
