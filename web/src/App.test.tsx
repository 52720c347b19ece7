import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createFaceGate } from '@facegate/sdk';
import { errorReply, fakeServer, obama, okDetection } from '../test/fakeServer';
import { App } from './App';
import { parseRoute } from './useHashRoute';

function renderApp(routes: Parameters<typeof fakeServer>[0], hash = '#/login') {
  window.location.hash = hash;
  const server = fakeServer(routes);
  render(<App client={createFaceGate({ fetch: server.fetch })} />);
  return server;
}

async function go(hash: string) {
  await act(async () => {
    window.location.hash = hash;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
}

const unauthorized = () => errorReply(401, 'unauthorized', 'no session');

describe('parseRoute', () => {
  it('knows the four screens and falls back to log in', () => {
    expect(parseRoute('#/signup')).toBe('signup');
    expect(parseRoute('#/admin?x=1')).toBe('admin');
    expect(parseRoute('')).toBe('login');
    expect(parseRoute('#/nowhere')).toBe('login');
  });
});

describe('<App>', () => {
  it('logs in with the camera and lands on the account page', async () => {
    let loggedIn = false;
    renderApp({
      'GET /api/v1/me': () => (loggedIn ? { body: { user: obama } } : unauthorized()),
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => {
        loggedIn = true;
        return { body: { user: obama, token: 't', expires_at: 'x' } };
      },
    });
    expect(screen.getByRole('heading', { level: 1, name: 'Log in' })).toBeTruthy();
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect((await screen.findByTestId('username')).textContent).toBe('obama');
    expect(screen.getByTestId('faces').textContent).toBe('3');
    expect(screen.getByRole('link', { name: 'obama' }).getAttribute('aria-current')).toBe('page');
  });

  it('shows "not logged in" on the account page without a session', async () => {
    renderApp({ 'GET /api/v1/me': unauthorized }, '#/account');
    expect(await screen.findByText('You are not logged in.')).toBeTruthy();
  });

  it('logs out back to the log-in screen', async () => {
    const server = renderApp(
      {
        'GET /api/v1/me': () => ({ body: { user: obama } }),
        'POST /api/v1/logout': () => ({ body: { ok: true } }),
        'POST /api/v1/detect': () => ({ body: { ...okDetection, hint: 'no_face', faces: [] } }),
      },
      '#/account',
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Log out' }));
    await waitFor(() => expect(window.location.hash).toBe('#/login'));
    expect(server.of('POST', '/api/v1/logout')).toHaveLength(1);
  });

  it('deletes the account only after confirmation', async () => {
    const server = renderApp(
      {
        'GET /api/v1/me': () => ({ body: { user: obama } }),
        'DELETE /api/v1/me': () => ({ body: { deleted: 'obama' } }),
        'POST /api/v1/detect': () => ({ body: { ...okDetection, hint: 'no_face', faces: [] } }),
      },
      '#/account',
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Delete my account…' }));
    expect(server.of('DELETE', '/api/v1/me')).toHaveLength(0);
    const dialog = screen.getByRole('alertdialog');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Yes, delete my account' }));
    await waitFor(() => expect(window.location.hash).toBe('#/login'));
    expect(server.of('DELETE', '/api/v1/me')).toHaveLength(1);
  });

  it('adds a face from the account page', async () => {
    renderApp(
      {
        'GET /api/v1/me': () => ({ body: { user: obama } }),
        'POST /api/v1/detect': () => ({ body: okDetection }),
        'POST /api/v1/me/faces': () => ({ status: 201, body: { user: { ...obama, faces: 4 } } }),
      },
      '#/account',
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Add a face' }));
    expect(await screen.findByText('Face added. You now have 4 faces enrolled.')).toBeTruthy();
    expect(screen.getByTestId('faces').textContent).toBe('4');
  });

  it('admin: keeps the token in sessionStorage and lists users and the audit log', async () => {
    const server = renderApp(
      {
        'GET /api/v1/me': unauthorized,
        'GET /api/v1/users': (call) =>
          call.headers.Authorization === 'Bearer s3cret' ? { body: { users: [obama] } } : unauthorized(),
        'GET /api/v1/audit': () => ({
          body: {
            events: [
              {
                time: '2026-11-28T10:00:00Z',
                event: 'login',
                username: 'obama',
                client: '127.0.0.1',
                outcome: 'ok',
                distance: 0.31,
              },
            ],
          },
        }),
        'GET /api/v1/threshold': () => ({
          body: {
            policy: 'adaptive',
            basis: 'estimated',
            threshold: 0.2431,
            threshold_low: 0.2112,
            threshold_high: 0.2796,
            target_far: 0.001,
            ceiling: 0.38,
            fallback: 0.21,
            min_users: 15,
            margin: 0.0224,
            users: 15,
            templates: 15,
            estimated_far: 0.0005,
            impostor_pairs: 210,
            impostor_accepts: 0,
          },
        }),
        'DELETE /api/v1/users/obama': () => ({ body: { deleted: 'obama' } }),
      },
      '#/admin',
    );
    fireEvent.change(screen.getByLabelText('Admin token'), { target: { value: 's3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Open admin' }));
    expect(await screen.findByRole('table', { name: 'Users (1)' })).toBeTruthy();
    const panel = screen.getByRole('region', { name: 'Accept threshold' });
    expect(panel.textContent).toContain('0.243 (5–95%: 0.211–0.280)');
    expect(panel.textContent).toContain('0.050% (0 of 210 enrolled faces tried as other users)');
    expect(panel.textContent).toContain('Estimated from the 15 enrolled users');
    expect(screen.getByText('0.310')).toBeTruthy();
    expect(window.sessionStorage.getItem('facegate.adminToken')).toBe('s3cret');
    fireEvent.click(screen.getByRole('button', { name: 'Delete obama' }));
    fireEvent.click(screen.getByRole('button', { name: 'Confirm delete' }));
    await waitFor(() => expect(server.of('DELETE', '/api/v1/users/obama')).toHaveLength(1));
  });

  it('admin: a rejected token asks again', async () => {
    window.sessionStorage.setItem('facegate.adminToken', 'wrong');
    renderApp(
      {
        'GET /api/v1/me': unauthorized,
        'GET /api/v1/users': unauthorized,
        'GET /api/v1/audit': unauthorized,
        'GET /api/v1/threshold': unauthorized,
      },
      '#/admin',
    );
    expect(await screen.findByText('That admin token was not accepted.')).toBeTruthy();
    expect(window.sessionStorage.getItem('facegate.adminToken')).toBeNull();
  });

  it('navigates between screens by hash', async () => {
    renderApp(
      { 'GET /api/v1/me': unauthorized, 'POST /api/v1/detect': () => ({ body: okDetection }) },
      '#/signup',
    );
    expect(screen.getByRole('heading', { level: 1, name: 'Sign up' })).toBeTruthy();
    await go('#/admin');
    expect(screen.getByRole('heading', { level: 1, name: 'Admin' })).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'Admin' }));
  });
});
