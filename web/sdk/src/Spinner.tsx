// A busy indicator that screen readers announce.

export interface SpinnerProps {
  label: string;
}

export function Spinner({ label }: SpinnerProps) {
  return (
    <div className="fg-spinner" role="status" aria-live="polite">
      <span className="fg-spinner-ring" aria-hidden="true" />
      <span className="fg-spinner-label">{label}</span>
    </div>
  );
}
