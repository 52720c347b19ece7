// Add a face to my account (POST /api/v1/me/faces): the liveness challenge on the camera, then the
// face of the passed session; on a server without liveness, one good picture.

import { useRef, useState } from 'react';
import {
  CameraView,
  ErrorNotice,
  LivenessChallenge,
  Spinner,
  type FaceGateClient,
  type FaceGateUser,
  type LivenessProof,
} from '@facegate/sdk';

export interface AddFacePanelProps {
  client: FaceGateClient;
  onAdded: (user: FaceGateUser) => void;
}

type Phase = 'idle' | 'scanning' | 'saving' | 'done' | 'failed';

export function AddFacePanel({ client, onAdded }: AddFacePanelProps) {
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<unknown>(null);
  const [faces, setFaces] = useState(0);
  const [photoMode, setPhotoMode] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const busy = useRef(false);

  const save = async (face: string | LivenessProof) => {
    if (busy.current) return;
    busy.current = true;
    setPhase('saving');
    try {
      const user = await client.addFace(face);
      setFaces(user.faces);
      onAdded(user);
      setPhase('done');
    } catch (failure) {
      setError(failure);
      setPhase('failed');
    } finally {
      busy.current = false;
    }
  };

  const start = () => {
    setError(null);
    setAttempt((n) => n + 1);
    setPhase('scanning');
  };
  const failed = (failure: unknown) => {
    setError(failure);
    setPhase('failed');
  };

  return (
    <section className="card" aria-labelledby="add-face-title">
      <h2 id="add-face-title">Add a face</h2>
      <p>More pictures (new glasses, a beard, other light) make log-in more reliable.</p>
      {phase === 'idle' && (
        <button type="button" className="fg-button" onClick={start}>
          Add a face
        </button>
      )}
      {(phase === 'scanning' || phase === 'saving') && (
        <>
          {photoMode ? (
            <CameraView
              client={client}
              scanning={phase === 'scanning'}
              onGoodFrame={(image) => void save(image)}
              onError={failed}
              caption={phase === 'saving' ? <Spinner label="Saving your face…" /> : undefined}
            />
          ) : (
            <LivenessChallenge
              key={attempt}
              client={client}
              onPassed={(proof) => void save(proof)}
              onFailed={failed}
              onUnavailable={() => setPhotoMode(true)}
              passedCaption={<Spinner label="Saving your face…" />}
            />
          )}
          <div className="fg-actions">
            <button type="button" className="fg-button secondary" onClick={() => setPhase('idle')}>
              Cancel
            </button>
          </div>
        </>
      )}
      {phase === 'done' && (
        <div className="notice success" role="status">
          <p>Face added. You now have {faces} faces enrolled.</p>
          <button type="button" className="fg-button secondary" onClick={start}>
            Add another
          </button>
        </div>
      )}
      {phase === 'failed' && error !== null && <ErrorNotice error={error} onRetry={start} />}
    </section>
  );
}
