// Live camera preview with the detected face boxes drawn over it and plain guidance beneath.
// It owns the camera while mounted and `active`, and runs the detect loop while `scanning`.

import { useEffect, useRef, type CSSProperties, type ReactNode } from 'react';
import type { FaceGateClient } from './client.js';
import { FaceGateError } from './errors.js';
import { hintText, mergeTexts, type FaceGateTexts } from './messages.js';
import type { Detection } from './types.js';
import { useCamera } from './useCamera.js';
import { useDetectLoop } from './useDetectLoop.js';

export interface CameraViewProps {
  client: FaceGateClient;
  /** Ask the server about frames; false leaves the camera on but idle, e.g. while the server decides. */
  scanning: boolean;
  /** Called with each frame in which the server saw exactly one face, well placed (hint `ok`). */
  onGoodFrame?: (image: string, detection: Detection) => void;
  /** The camera could not start, or the server failed; scanning stops. */
  onError?: (error: FaceGateError) => void;
  intervalMs?: number;
  /** Replaces the guidance line (e.g. "Checking…"). */
  caption?: ReactNode;
  label?: string;
  /** Replacement texts (guidance, camera states); see FaceGateTexts. */
  texts?: Partial<FaceGateTexts>;
}

const mirrored: CSSProperties = { transform: 'scaleX(-1)' };

export function CameraView({
  client,
  scanning,
  onGoodFrame,
  onError,
  intervalMs,
  caption,
  label,
  texts,
}: CameraViewProps) {
  const t = mergeTexts(texts);
  const { videoRef, status, error } = useCamera(true);
  const overlayRef = useRef<HTMLCanvasElement | null>(null);
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;

  useEffect(() => {
    if (error) onErrorRef.current?.(error);
  }, [error]);

  const detection = useDetectLoop({
    client,
    videoRef,
    enabled: scanning && status === 'live',
    intervalMs,
    onDetection: (result, image) => {
      if (result.hint === 'ok' && result.faces.length === 1) onGoodFrame?.(image, result);
    },
    onError: (failure) => {
      const wrapped =
        failure instanceof FaceGateError
          ? failure
          : new FaceGateError('network', 0, String(failure), { cause: failure });
      onErrorRef.current?.(wrapped);
    },
  });

  useEffect(() => {
    if (scanning) drawBoxes(overlayRef.current, detection);
  }, [detection, scanning]);

  let guidance: ReactNode;
  if (caption !== undefined) guidance = caption;
  else if (status === 'starting' || status === 'off') guidance = t.cameraStarting;
  else if (status === 'error') guidance = t.cameraUnavailable;
  else if (!detection) guidance = t.lookingForFace;
  else guidance = hintText(detection.hint, t);

  const hint = detection?.hint ?? 'none';
  return (
    <figure className="fg-camera" data-status={status} data-hint={hint}>
      <div className="fg-camera-frame" style={{ position: 'relative', overflow: 'hidden' }}>
        <video
          ref={videoRef}
          className="fg-camera-video"
          aria-label={label ?? t.cameraLabel}
          autoPlay
          muted
          playsInline
          style={{ display: 'block', width: '100%', height: 'auto', ...mirrored }}
        />
        <canvas
          ref={overlayRef}
          className="fg-camera-overlay"
          aria-hidden="true"
          style={{
            position: 'absolute',
            inset: 0,
            width: '100%',
            height: '100%',
            pointerEvents: 'none',
            ...mirrored,
          }}
        />
      </div>
      <figcaption className="fg-camera-guidance" aria-live="polite" data-hint={hint}>
        {guidance}
      </figcaption>
    </figure>
  );
}

function drawBoxes(canvas: HTMLCanvasElement | null, detection: Detection | null): void {
  if (!canvas) return;
  const context = canvas.getContext('2d');
  if (!context) return;
  if (!detection) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  canvas.width = detection.width;
  canvas.height = detection.height;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.lineWidth = Math.max(2, Math.round(detection.width / 160));
  context.strokeStyle = detection.hint === 'ok' ? '#22c55e' : '#f59e0b';
  for (const { box } of detection.faces) context.strokeRect(box.x, box.y, box.width, box.height);
  // Landmarks as small dots: they show the person the server really found their eyes and mouth.
  context.fillStyle = 'rgba(255, 255, 255, 0.75)';
  const radius = context.lineWidth / 2 + 0.5;
  for (const { landmarks } of detection.faces) {
    for (const [x, y] of landmarks ?? []) {
      context.beginPath();
      context.arc(x, y, radius, 0, 2 * Math.PI);
      context.fill();
    }
  }
}
