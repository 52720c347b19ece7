// Delete my account and all my face data, after an explicit confirmation step.

import { useEffect, useRef, useState } from 'react';
import { ErrorNotice, type FaceGateClient } from '@facegate/sdk';

export interface DeleteAccountPanelProps {
  client: FaceGateClient;
  username: string;
  onDeleted: () => void;
}

type Phase = 'idle' | 'confirming' | 'deleting' | 'failed';

export function DeleteAccountPanel({ client, username, onDeleted }: DeleteAccountPanelProps) {
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<unknown>(null);
  const cancelRef = useRef<HTMLButtonElement | null>(null);

  // The safe choice gets the focus, so Enter on the confirmation does not delete by accident.
  useEffect(() => {
    if (phase === 'confirming') cancelRef.current?.focus();
  }, [phase]);

  const remove = async () => {
    setPhase('deleting');
    try {
      await client.deleteAccount();
      onDeleted();
    } catch (failure) {
      setError(failure);
      setPhase('failed');
    }
  };

  return (
    <section className="card danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete my account</h2>
      {phase === 'idle' && (
        <>
          <p>Removes your account and every face template we keep for you.</p>
          <button type="button" className="fg-button danger" onClick={() => setPhase('confirming')}>
            Delete my account…
          </button>
        </>
      )}
      {(phase === 'confirming' || phase === 'deleting') && (
        <div role="alertdialog" aria-labelledby="delete-confirm-text" className="confirm">
          <p id="delete-confirm-text">
            Delete <strong>{username}</strong> and all its face data for good? This cannot be undone.
          </p>
          <div className="fg-actions">
            <button
              type="button"
              className="fg-button danger"
              onClick={() => void remove()}
              disabled={phase === 'deleting'}
            >
              {phase === 'deleting' ? 'Deleting…' : 'Yes, delete my account'}
            </button>
            <button
              ref={cancelRef}
              type="button"
              className="fg-button secondary"
              onClick={() => setPhase('idle')}
            >
              Cancel
            </button>
          </div>
        </div>
      )}
      {phase === 'failed' && <ErrorNotice error={error} onRetry={() => setPhase('confirming')} />}
    </section>
  );
}
