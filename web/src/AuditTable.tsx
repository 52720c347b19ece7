// Admin: the audit log (sign-ups, log-ins, failures, deletions), newest first as the server sends it.

import type { AuditEvent } from '@facegate/sdk';
import { formatTime } from './UsersTable';

export interface AuditTableProps {
  events: AuditEvent[];
}

export function AuditTable({ events }: AuditTableProps) {
  if (events.length === 0) return <p>No audit events yet.</p>;
  return (
    <div className="table-scroll">
      <table>
        <caption>Audit log (latest {events.length})</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">User</th>
            <th scope="col">Client</th>
            <th scope="col">Outcome</th>
            <th scope="col">Distance</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event, index) => (
            <tr key={`${event.time}-${index}`}>
              <td>{formatTime(event.time)}</td>
              <td>{event.event}</td>
              <td>{event.username ?? '—'}</td>
              <td>{event.client ?? '—'}</td>
              <td>
                <span className={`outcome outcome-${event.outcome}`}>{event.outcome}</span>
              </td>
              <td>{typeof event.distance === 'number' ? event.distance.toFixed(3) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
