import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { errorReply, fakeServer, noFaceDetection, obama, okDetection } from '../../test/fakeServer';
import { FAKE_FRAME, setCamera } from '../../test/setup';
import { createFaceGate } from './client.js';
import { FaceLogin } from './FaceLogin.js';

const session = { user: obama, token: 'jwt.abc', expires_at: '2026-11-29T10:00:00Z', distance: 0.3 };

function renderLogin(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer(routes);
  const onLogin = vi.fn();
  const client = createFaceGate({ fetch: server.fetch });
  render(<FaceLogin client={client} onLogin={onLogin} intervalMs={20} />);
  return { server, onLogin };
}

describe('<FaceLogin>', () => {
  it('logs in with the first good frame and reports the user and token', async () => {
    const { server, onLogin } = renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => ({ body: session }),
    });
    await waitFor(() => expect(onLogin).toHaveBeenCalledTimes(1));
    expect(onLogin).toHaveBeenCalledWith(obama, 'jwt.abc', session);
    expect(server.of('POST', '/api/v1/login')[0].body).toEqual({ image: FAKE_FRAME });
  });

  it('shows guidance while no face is found and does not log in', async () => {
    const { server } = renderLogin({ 'POST /api/v1/detect': () => ({ body: noFaceDetection }) });
    expect(await screen.findByText(/No face found — look at the camera/)).toBeTruthy();
    await waitFor(() => expect(server.of('POST', '/api/v1/detect').length).toBeGreaterThan(2));
    expect(server.of('POST', '/api/v1/login')).toHaveLength(0);
  });

  it('never has more than one detect request in flight', async () => {
    let inFlight = 0;
    let most = 0;
    renderLogin({
      'POST /api/v1/detect': async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 50));
        inFlight -= 1;
        return { body: noFaceDetection };
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(most).toBe(1);
  });

  it('says so plainly on no_match and scans again on Try again', async () => {
    let attempts = 0;
    const { onLogin } = renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => (++attempts === 1 ? errorReply(401, 'no_match') : { body: session }),
    });
    expect(await screen.findByText('We could not recognise you')).toBeTruthy();
    expect(screen.getByRole('alert').getAttribute('data-code')).toBe('no_match');
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(onLogin).toHaveBeenCalled());
  });

  it('shows the wait on 429 and keeps Try again disabled meanwhile', async () => {
    renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => errorReply(429, 'rate_limited', 'too many', { 'Retry-After': '30' }),
    });
    expect(await screen.findByText('Too many attempts')).toBeTruthy();
    expect(screen.getByText(/Try again in 30 seconds/)).toBeTruthy();
    const retry = screen.getByRole('button', { name: /Try again \(in 30 seconds\)/ }) as HTMLButtonElement;
    expect(retry.disabled).toBe(true);
  });

  it('explains a locked account', async () => {
    renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => errorReply(423, 'locked_out', 'locked', { 'Retry-After': '900' }),
    });
    expect(await screen.findByText('Account locked')).toBeTruthy();
    expect(screen.getByText(/Try again in 15 minutes/)).toBeTruthy();
  });

  it('explains a denied camera permission', async () => {
    setCamera(() => Promise.reject(new DOMException('Permission denied', 'NotAllowedError')));
    renderLogin({});
    expect(await screen.findByText('Camera permission denied')).toBeTruthy();
  });

  it('explains a missing camera', async () => {
    setCamera(() => Promise.reject(new DOMException('Requested device not found', 'NotFoundError')));
    renderLogin({});
    expect(await screen.findByText('No camera found')).toBeTruthy();
  });

  it('explains a server that is down', async () => {
    renderLogin({ 'POST /api/v1/detect': () => new TypeError('Failed to fetch') });
    expect(await screen.findByText('The server is not reachable')).toBeTruthy();
  });

  it('explains a server error', async () => {
    renderLogin({ 'POST /api/v1/detect': () => errorReply(500, 'internal', 'boom') });
    expect(await screen.findByText('The server had a problem')).toBeTruthy();
  });

  it('ignores the answer of a 1:N log-in left behind by switching to the username', async () => {
    let release: () => void = () => undefined;
    const { server, onLogin } = renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': (call) =>
        (call.body as { username?: string }).username
          ? { body: session }
          : new Promise((resolve) => {
              release = () => resolve({ body: session });
            }),
    });
    await waitFor(() => expect(server.of('POST', '/api/v1/login')).toHaveLength(1));
    fireEvent.click(screen.getByLabelText('Log in with my username'));
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(onLogin).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'obama' } });
    fireEvent.click(screen.getByRole('button', { name: 'Scan my face' }));
    await waitFor(() => expect(onLogin).toHaveBeenCalledTimes(1));
    const logins = server.of('POST', '/api/v1/login');
    expect(logins[logins.length - 1].body).toEqual({ image: FAKE_FRAME, username: 'obama' });
  });

  it('sends the username for 1:1 log-in', async () => {
    const { server, onLogin } = renderLogin({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => ({ body: session }),
    });
    fireEvent.click(screen.getByLabelText('Log in with my username'));
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'obama' } });
    fireEvent.click(screen.getByRole('button', { name: 'Scan my face' }));
    await waitFor(() => expect(onLogin).toHaveBeenCalled());
    const logins = server.of('POST', '/api/v1/login');
    expect(logins[logins.length - 1].body).toEqual({ image: FAKE_FRAME, username: 'obama' });
  });
});
