// "2 of 3": how many good pictures have been taken, as a bar and in words.

import { mergeTexts, type FaceGateTexts } from './messages.js';

export interface CaptureProgressProps {
  done: number;
  total: number;
  texts?: Partial<FaceGateTexts>;
}

export function CaptureProgress({ done, total, texts }: CaptureProgressProps) {
  const t = mergeTexts(texts);
  return (
    <div className="fg-progress">
      <progress max={total} value={done} aria-label={t.picturesTaken} />
      <span aria-live="polite">{t.picturesProgress(done, total)}</span>
    </div>
  );
}
