// "2 of 3": how many good pictures have been taken, as a bar and in words.

export interface CaptureProgressProps {
  done: number;
  total: number;
}

export function CaptureProgress({ done, total }: CaptureProgressProps) {
  return (
    <div className="capture-progress">
      <progress max={total} value={done} aria-label="Pictures taken" />
      <span aria-live="polite">
        {done} of {total} pictures
      </span>
    </div>
  );
}
