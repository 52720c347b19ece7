import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { errorReply, fakeServer, obama, type Recorded } from '../../test/fakeServer';
import { FAKE_FRAME } from '../../test/setup';
import { createFaceGate } from './client.js';
import { FaceLogin } from './FaceLogin.js';
import { FaceSignUp } from './FaceSignUp.js';
import { LivenessChallenge } from './LivenessChallenge.js';
import type { LivenessState } from './types.js';

const ID = 'a'.repeat(32);
const SECRET = 'b'.repeat(64);

function state(over: Partial<LivenessState>): LivenessState {
  return {
    id: ID,
    state: 'running',
    done: false,
    step: 'turn_left',
    instruction: 'Turn your head to your left.',
    step_index: 0,
    steps: 2,
    completed: 0,
    revealed: true,
    progress: 0,
    hint: null,
    message: '',
    failure: null,
    expires_at: '2026-12-01T10:00:00Z',
    ...over,
  };
}

const start = { ...state({ revealed: false }), secret: SECRET, step_seconds: 5, max_frames: 8 };

/** A server whose frames route answers `replies` in turn (the last one again after that). */
function livenessServer(replies: LivenessState[], extra: Parameters<typeof fakeServer>[0] = {}) {
  let n = 0;
  return fakeServer({
    'POST /api/v1/liveness': () => ({ status: 201, body: start }),
    [`POST /api/v1/liveness/${ID}/frames`]: () => ({ body: replies[Math.min(n++, replies.length - 1)] }),
    ...extra,
  });
}

const passed = state({
  state: 'passed',
  done: true,
  step: null,
  step_index: 2,
  completed: 2,
  revealed: false,
  progress: 1,
});

describe('<LivenessChallenge>', () => {
  it('walks through the steps in the person’s own words and reports the proof', async () => {
    // Each reply is held until the test has looked at the screen it produces.
    const gates: (() => void)[] = [];
    const replies = [
      state({ revealed: false, hint: 'face_camera' }),
      state({ hint: 'go_further', progress: 0.5 }),
      state({ step: 'turn_right', step_index: 1, completed: 1 }),
      state({ step: 'blink', step_index: 1, completed: 1, steps: 2 }),
      passed,
    ];
    let n = 0;
    const server = fakeServer({
      'POST /api/v1/liveness': () => ({ status: 201, body: start }),
      [`POST /api/v1/liveness/${ID}/frames`]: () =>
        new Promise((resolve) => gates.push(() => resolve({ body: replies[n++] }))),
    });
    const release = async () => {
      await waitFor(() => expect(gates.length).toBeGreaterThan(0));
      gates.shift()!();
    };
    const onPassed = vi.fn();
    const onFailed = vi.fn();
    const client = createFaceGate({ fetch: server.fetch });
    const { container } = render(
      <LivenessChallenge client={client} onPassed={onPassed} onFailed={onFailed} fps={100} batch={2} />,
    );

    await release();
    expect(await screen.findByText('Look straight at the camera and hold still')).toBeTruthy();
    expect(await screen.findByText('Look straight at the camera')).toBeTruthy(); // the hint
    expect(screen.getByText('Step 1 of 2')).toBeTruthy();
    expect(container.querySelector('.fg-liveness-arrow')).toBeNull(); // not revealed yet

    await release();
    expect(await screen.findByText('Turn your head to your left')).toBeTruthy();
    expect(await screen.findByText('A little further')).toBeTruthy();
    expect(screen.getByText('5 seconds left')).toBeTruthy();
    // On the mirrored preview the person's left is the screen's left: the arrow points left,
    // on the left side.
    const arrow = container.querySelector('.fg-liveness-arrow') as SVGElement;
    expect(arrow.getAttribute('data-direction')).toBe('turn_left');
    expect(arrow.style.transform).toBe('rotate(180deg)');
    expect(container.querySelector('.fg-liveness-sign-box')!.getAttribute('data-step')).toBe('turn_left');
    const prompt = screen.getByRole('status');
    expect(prompt.getAttribute('aria-live')).toBe('polite');

    await release();
    expect(await screen.findByText('Turn your head to your right')).toBeTruthy();
    expect(screen.getByText('Step 2 of 2')).toBeTruthy();
    expect((container.querySelector('.fg-liveness-arrow') as SVGElement).style.transform).toBe(
      'rotate(0deg)',
    );

    await release();
    expect(await screen.findByText('Blink')).toBeTruthy();
    expect(container.querySelector('.fg-liveness-eye')).not.toBeNull();

    await release();
    await waitFor(() => expect(onPassed).toHaveBeenCalledTimes(1));
    expect(onPassed.mock.calls[0][0]).toEqual({ id: ID, secret: SECRET });
    expect(onFailed).not.toHaveBeenCalled();

    // Frames: the session's secret, JPEG frames, capture times increasing across requests.
    const sent = server.of('POST', `/api/v1/liveness/${ID}/frames`).map(
      (c: Recorded) =>
        c.body as {
          secret: string;
          frames: { t: number; image: string }[];
        },
    );
    expect(sent).toHaveLength(5);
    const times = sent.flatMap((b) => b.frames.map((f) => f.t));
    expect(sent.every((b) => b.secret === SECRET && b.frames.length >= 2 && b.frames.length <= 8)).toBe(true);
    expect(sent.every((b) => b.frames.every((f) => f.image === FAKE_FRAME))).toBe(true);
    expect(times.every((t, i) => i === 0 || t > times[i - 1])).toBe(true);
  });

  it('reports a failed session with its own code', async () => {
    const server = livenessServer([
      state({
        state: 'failed',
        step: null,
        failure: { code: 'step_timeout', message: 'The step was not done in time.' },
      }),
    ]);
    const onFailed = vi.fn();
    render(
      <LivenessChallenge
        client={createFaceGate({ fetch: server.fetch })}
        onPassed={vi.fn()}
        onFailed={onFailed}
        fps={100}
        batch={2}
      />,
    );
    await waitFor(() => expect(onFailed).toHaveBeenCalledTimes(1));
    expect(onFailed.mock.calls[0][0].code).toBe('liveness_step_timeout');
  });

  it('hands over to the photo flow on a server without liveness', async () => {
    const server = fakeServer({ 'POST /api/v1/liveness': () => errorReply(404, 'liveness_off') });
    const onUnavailable = vi.fn();
    render(
      <LivenessChallenge
        client={createFaceGate({ fetch: server.fetch })}
        onPassed={vi.fn()}
        onFailed={vi.fn()}
        onUnavailable={onUnavailable}
      />,
    );
    await waitFor(() => expect(onUnavailable).toHaveBeenCalledTimes(1));
  });
});

describe('<FaceLogin> with liveness', () => {
  const session = { user: obama, token: 'jwt.abc', expires_at: '2026-11-29T10:00:00Z', distance: 0.3 };

  it('logs in with the passed session, 1:1 with the username', async () => {
    const server = livenessServer([passed], { 'POST /api/v1/login': () => ({ body: session }) });
    const onLogin = vi.fn();
    render(<FaceLogin client={createFaceGate({ fetch: server.fetch })} onLogin={onLogin} />);
    fireEvent.click(screen.getByLabelText('Log in with my username'));
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'obama' } });
    fireEvent.click(screen.getByRole('button', { name: 'Scan my face' }));
    await waitFor(() => expect(onLogin).toHaveBeenCalledWith(obama, 'jwt.abc', session));
    expect(server.of('POST', '/api/v1/login')[0].body).toEqual({
      liveness: ID,
      liveness_secret: SECRET,
      username: 'obama',
    });
    expect(server.of('POST', '/api/v1/detect')).toHaveLength(0);
  });

  it('explains every kind of failure in words, and starts a new session on Try again', async () => {
    const failures: [LivenessState['failure'], string][] = [
      [{ code: 'face_lost', message: '' }, 'We lost sight of your face'],
      [{ code: 'identity', message: '' }, 'The face changed during the check'],
      [{ code: 'two_faces', message: '' }, 'Someone else came into view'],
    ];
    for (const [failure, title] of failures) {
      const server = livenessServer([state({ state: 'failed', step: null, failure })]);
      const view = render(<FaceLogin client={createFaceGate({ fetch: server.fetch })} onLogin={vi.fn()} />);
      expect(await screen.findByText(title)).toBeTruthy();
      fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
      await waitFor(() => expect(server.of('POST', '/api/v1/liveness').length).toBe(2));
      view.unmount();
    }
  });

  it('says when the server has too many checks open', async () => {
    const server = fakeServer({
      'POST /api/v1/liveness': () =>
        errorReply(429, 'too_many_sessions', 'too many', { 'Retry-After': '30' }),
    });
    render(<FaceLogin client={createFaceGate({ fetch: server.fetch })} onLogin={vi.fn()} />);
    expect(await screen.findByText('Too many checks at once')).toBeTruthy();
  });
});

describe('<FaceSignUp> with liveness', () => {
  it('creates the account from the passed session', async () => {
    const session = { user: obama, token: 'jwt.new', expires_at: '2026-11-29T10:00:00Z' };
    const server = livenessServer([passed], { 'POST /api/v1/users': () => ({ status: 201, body: session }) });
    const onSignUp = vi.fn();
    render(<FaceSignUp client={createFaceGate({ fetch: server.fetch })} onSignUp={onSignUp} />);
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'obama' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue: scan my face' }));
    await waitFor(() => expect(onSignUp).toHaveBeenCalledWith(obama, 'jwt.new', session));
    expect(server.of('POST', '/api/v1/users')[0].body).toEqual({
      username: 'obama',
      liveness: ID,
      liveness_secret: SECRET,
    });
  });
});
