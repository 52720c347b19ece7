// Admin: enter the admin token, then see the accept threshold, see and delete users and read
// the audit log.

import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  ErrorNotice,
  FaceGateError,
  Spinner,
  type AuditEvent,
  type FaceGateClient,
  type FaceGateUser,
  type ThresholdReport,
} from '@facegate/sdk';
import { AdminTokenForm } from './AdminTokenForm';
import { AuditTable } from './AuditTable';
import { ScreenHeading } from './ScreenHeading';
import { ThresholdPanel } from './ThresholdPanel';
import { UsersTable } from './UsersTable';
import { loadAdminToken, saveAdminToken } from './adminToken';

export interface AdminScreenProps {
  client: FaceGateClient;
}

const AUDIT_LIMIT = 50;

export function AdminScreen({ client }: AdminScreenProps) {
  const [token, setToken] = useState(loadAdminToken);
  const [users, setUsers] = useState<FaceGateUser[] | null>(null);
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [threshold, setThreshold] = useState<ThresholdReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [rejected, setRejected] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const admin = useMemo(() => (token ? client.admin(token) : null), [client, token]);

  const applyToken = useCallback((next: string) => {
    saveAdminToken(next);
    setRejected(null);
    setToken(next);
  }, []);

  const handle = useCallback(
    (failure: unknown) => {
      if (failure instanceof FaceGateError && failure.code === 'unauthorized') {
        applyToken('');
        setRejected('That admin token was not accepted.');
        return;
      }
      setError(failure);
    },
    [applyToken],
  );

  useEffect(() => {
    if (!admin) return undefined;
    let current = true;
    setError(null);
    Promise.all([admin.listUsers(), admin.audit(AUDIT_LIMIT), admin.threshold()]).then(
      ([nextUsers, nextEvents, nextThreshold]) => {
        if (!current) return;
        setUsers(nextUsers);
        setEvents(nextEvents);
        setThreshold(nextThreshold);
      },
      (failure: unknown) => current && handle(failure),
    );
    return () => {
      current = false;
    };
  }, [admin, refresh, handle]);

  const remove = async (username: string) => {
    if (!admin) return;
    setDeleting(username);
    try {
      await admin.deleteUser(username);
      setRefresh((n) => n + 1);
    } catch (failure) {
      handle(failure);
    } finally {
      setDeleting(null);
    }
  };

  return (
    <>
      <ScreenHeading>Admin</ScreenHeading>
      {!admin ? (
        <AdminTokenForm onToken={applyToken} problem={rejected} />
      ) : (
        <>
          <div className="fg-actions toolbar">
            <button type="button" className="fg-button" onClick={() => setRefresh((n) => n + 1)}>
              Refresh
            </button>
            <button
              type="button"
              className="fg-button secondary"
              onClick={() => {
                applyToken('');
                setUsers(null);
                setEvents(null);
                setThreshold(null);
              }}
            >
              Forget admin token
            </button>
          </div>
          {error !== null && <ErrorNotice error={error} onRetry={() => setRefresh((n) => n + 1)} />}
          {users === null && error === null && <Spinner label="Loading…" />}
          {threshold !== null && <ThresholdPanel report={threshold} />}
          {users !== null && (
            <section className="card" aria-label="Users">
              <UsersTable users={users} onDelete={(name) => void remove(name)} deleting={deleting} />
            </section>
          )}
          {events !== null && (
            <section className="card" aria-label="Audit log">
              <AuditTable events={events} />
            </section>
          )}
        </>
      )}
    </>
  );
}
