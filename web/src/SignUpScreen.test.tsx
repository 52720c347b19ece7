import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { createFaceGate } from '@facegate/sdk';
import { errorReply, fakeServer, obama, okDetection } from '../test/fakeServer';
import { FAKE_FRAME } from '../test/setup';
import { SignUpScreen } from './SignUpScreen';

const session = { user: obama, token: 'jwt', expires_at: '2026-11-29T10:00:00Z' };

function renderSignUp(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer(routes);
  const onSignedUp = vi.fn();
  render(<SignUpScreen client={createFaceGate({ fetch: server.fetch })} onSignedUp={onSignedUp} />);
  return { server, onSignedUp };
}

function fillForm(username = 'obama', displayName = 'Barack Obama') {
  fireEvent.change(screen.getByLabelText('Username'), { target: { value: username } });
  fireEvent.change(screen.getByLabelText('Display name (optional)'), { target: { value: displayName } });
  fireEvent.click(screen.getByRole('button', { name: 'Continue: scan my face' }));
}

describe('<SignUpScreen>', () => {
  it('asks for a username first', () => {
    const { server } = renderSignUp({});
    fireEvent.click(screen.getByRole('button', { name: 'Continue: scan my face' }));
    expect(screen.getByRole('alert').textContent).toBe('Choose a username.');
    expect(server.calls).toHaveLength(0);
  });

  it('takes three good pictures by itself, showing progress, then creates the account', async () => {
    const { server, onSignedUp } = renderSignUp({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/users': () => ({ status: 201, body: session }),
    });
    fillForm();
    expect(await screen.findByText('0 of 3 pictures')).toBeTruthy();
    expect(await screen.findByText('1 of 3 pictures')).toBeTruthy();
    await waitFor(() => expect(onSignedUp).toHaveBeenCalledWith(obama), { timeout: 4000 });
    const [request] = server.of('POST', '/api/v1/users');
    expect(request.body).toEqual({
      username: 'obama',
      display_name: 'Barack Obama',
      images: [FAKE_FRAME, FAKE_FRAME, FAKE_FRAME],
    });
  });

  it('shows the detect guidance while the face is not right', async () => {
    renderSignUp({ 'POST /api/v1/detect': () => ({ body: { ...okDetection, hint: 'move_closer' } }) });
    fillForm();
    expect(await screen.findByText('Move closer')).toBeTruthy();
    expect(screen.getByText('0 of 3 pictures')).toBeTruthy();
  });

  it('sends a taken username back to the form with the reason next to the field', async () => {
    renderSignUp({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/users': () => errorReply(409, 'username_taken', 'username "obama" is taken'),
    });
    fillForm();
    const alert = await screen.findByRole('alert', {}, { timeout: 4000 });
    expect(alert.textContent).toContain('That username is taken');
    expect(screen.getByLabelText('Username').getAttribute('aria-invalid')).toBe('true');
  });

  it('says plainly when the face already has an account', async () => {
    renderSignUp({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/users': () => errorReply(409, 'face_already_enrolled', 'matches user obama'),
    });
    fillForm('barack');
    expect(await screen.findByText('This face already has an account', {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Log in instead' }).getAttribute('href')).toBe('#/login');
  });
});
