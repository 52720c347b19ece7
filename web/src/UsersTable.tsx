// Admin: every account, with a two-step delete per row.

import { useState } from 'react';
import type { FaceGateUser } from '@facegate/sdk';

export interface UsersTableProps {
  users: FaceGateUser[];
  onDelete: (username: string) => void;
  deleting: string | null;
}

export function UsersTable({ users, onDelete, deleting }: UsersTableProps) {
  const [confirming, setConfirming] = useState<string | null>(null);
  if (users.length === 0) return <p>No users yet.</p>;
  return (
    <div className="table-scroll">
      <table>
        <caption>Users ({users.length})</caption>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Display name</th>
            <th scope="col">Faces</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.username}>
              <th scope="row">{user.username}</th>
              <td>{user.display_name || '—'}</td>
              <td>{user.faces}</td>
              <td>{formatTime(user.created_at)}</td>
              <td>
                <div className="row-actions">
                  {confirming === user.username ? (
                    <>
                      <button
                        type="button"
                        className="fg-button danger small"
                        disabled={deleting === user.username}
                        onClick={() => {
                          setConfirming(null);
                          onDelete(user.username);
                        }}
                      >
                        Confirm delete
                      </button>
                      <button
                        type="button"
                        className="fg-button secondary small"
                        onClick={() => setConfirming(null)}
                      >
                        Cancel
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="fg-button danger small"
                      aria-label={`Delete ${user.username}`}
                      disabled={deleting === user.username}
                      onClick={() => setConfirming(user.username)}
                    >
                      {deleting === user.username ? 'Deleting…' : 'Delete'}
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const when = new Date(iso);
  return Number.isNaN(when.getTime())
    ? iso
    : when.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}
