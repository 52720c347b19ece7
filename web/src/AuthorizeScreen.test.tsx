import { render, screen, waitFor, fireEvent } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { createFaceGate } from '@facegate/sdk';
import { errorReply, fakeServer, obama, okDetection, type Recorded } from '../test/fakeServer';
import { AuthorizeScreen } from './AuthorizeScreen';
import { hashParams, parseRoute } from './useHashRoute';

const params = {
  response_type: 'code',
  client_id: 'grafana',
  redirect_uri: 'https://grafana.example.com/login/generic_oauth',
  scope: 'openid profile',
  state: 's 1',
};

/** The server's side of the authorize step: asks for a log-in until it gets a Bearer session. */
function authorizeRoute(call: Recorded) {
  if (!call.headers.Authorization) {
    return { body: { login_required: true, client: { client_id: 'grafana', name: 'Grafana' } } };
  }
  return { body: { redirect_to: 'https://grafana.example.com/login/generic_oauth?code=c0de&state=s%201' } };
}

describe('hash parameters', () => {
  it('routes #/authorize?... to the authorize screen with its parameters', () => {
    expect(parseRoute('#/authorize?client_id=a&state=x%20y')).toBe('authorize');
    expect(hashParams('#/authorize?client_id=a&state=x%20y')).toEqual({ client_id: 'a', state: 'x y' });
    expect(hashParams('#/login')).toEqual({});
  });
});

describe('<AuthorizeScreen>', () => {
  it('logs in with the face, then sends the browser back with the code', async () => {
    const server = fakeServer({
      'POST /oauth2/authorize': authorizeRoute,
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/login': () => ({ body: { user: obama, token: 'session-token', expires_at: 'x' } }),
    });
    const navigate = vi.fn();
    render(
      <AuthorizeScreen
        client={createFaceGate({ fetch: server.fetch })}
        params={params}
        navigate={navigate}
      />,
    );

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in to Grafana' })).toBeTruthy();
    await waitFor(() =>
      expect(navigate).toHaveBeenCalledWith(
        'https://grafana.example.com/login/generic_oauth?code=c0de&state=s%201',
      ),
    );
    const [check, complete] = server.of('POST', '/oauth2/authorize');
    expect(check.body).toEqual(params);
    expect(check.headers.Authorization).toBeUndefined();
    expect(complete.headers.Authorization).toBe('Bearer session-token');
    expect(server.of('POST', '/api/v1/login')).toHaveLength(1);
  });

  it('never uses a session the client already holds: the face is asked for every time', async () => {
    const server = fakeServer({ 'POST /oauth2/authorize': authorizeRoute });
    const client = createFaceGate({ fetch: server.fetch, token: 'old-session' });
    render(<AuthorizeScreen client={client} params={params} navigate={vi.fn()} />);
    await screen.findByRole('heading', { level: 1, name: 'Sign in to Grafana' });
    expect(server.of('POST', '/oauth2/authorize')[0].headers.Authorization).toBeUndefined();
  });

  it('cancel sends the browser back with the server-made access_denied answer', async () => {
    const server = fakeServer({
      'POST /oauth2/authorize': (call) =>
        (call.body as { cancel?: boolean }).cancel
          ? { body: { redirect_to: 'https://grafana.example.com/cb?error=access_denied' } }
          : authorizeRoute(call),
      'POST /api/v1/detect': () => new Promise(() => undefined),
    });
    const navigate = vi.fn();
    render(
      <AuthorizeScreen
        client={createFaceGate({ fetch: server.fetch })}
        params={params}
        navigate={navigate}
      />,
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel and go back to Grafana' }));
    await waitFor(() =>
      expect(navigate).toHaveBeenCalledWith('https://grafana.example.com/cb?error=access_denied'),
    );
  });

  it('a request the server refuses is shown, and nobody is sent anywhere', async () => {
    const server = fakeServer({
      'POST /oauth2/authorize': () =>
        errorReply(400, 'invalid_client', 'no client "grafana" is registered here'),
    });
    const navigate = vi.fn();
    render(
      <AuthorizeScreen
        client={createFaceGate({ fetch: server.fetch })}
        params={params}
        navigate={navigate}
      />,
    );
    expect(await screen.findByText('no client "grafana" is registered here')).toBeTruthy();
    expect(navigate).not.toHaveBeenCalled();
    expect(screen.queryByLabelText('Camera preview')).toBeNull();
  });
});
