// Admin: the accept threshold the server applies to the people enrolled now, and how often the
// enrolled faces would be accepted as somebody else under it (leave-one-out).

import type { ThresholdReport } from '@facegate/sdk';

export interface ThresholdPanelProps {
  report: ThresholdReport;
}

const percent = (x: number) => `${(100 * x).toFixed(x > 0 && x < 0.001 ? 3 : 2)}%`;

function basisText(report: ThresholdReport): string {
  if (report.basis === 'fixed') return 'Fixed threshold (--policy fixed).';
  if (report.basis === 'fallback')
    return `Too few users to estimate from (${report.users} of ${report.min_users}): the conservative fallback applies.`;
  return `Estimated from the ${report.users} enrolled users: each decision is normalised against them (S-norm).`;
}

export function ThresholdPanel({ report }: ThresholdPanelProps) {
  return (
    <section className="card" aria-label="Accept threshold">
      <h2>Accept threshold</h2>
      <p>{basisText(report)}</p>
      <dl className="threshold">
        <dt>Threshold (median)</dt>
        <dd>
          {report.threshold.toFixed(3)}
          {report.basis === 'estimated' &&
            ` (5–95%: ${report.threshold_low.toFixed(3)}–${report.threshold_high.toFixed(3)})`}
        </dd>
        <dt>Estimated false-accept rate</dt>
        <dd>
          {report.impostor_pairs > 0
            ? `${percent(report.estimated_far)} (${report.impostor_accepts} of ${report.impostor_pairs} enrolled faces tried as other users)`
            : 'not enough users to measure'}
        </dd>
        <dt>Target</dt>
        <dd>
          {percent(report.target_far)}, never above {report.ceiling.toFixed(3)}
        </dd>
      </dl>
    </section>
  );
}
