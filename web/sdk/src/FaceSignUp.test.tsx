import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { errorReply, fakeServer, obama, okDetection } from '../../test/fakeServer';
import { createFaceGate } from './client.js';
import { FaceLogin } from './FaceLogin.js';
import { FaceSignUp } from './FaceSignUp.js';
import type { FaceGateTexts } from './messages.js';

const session = { user: obama, token: 'jwt.signup', expires_at: '2026-11-29T10:00:00Z' };

const german: Partial<FaceGateTexts> = {
  username: 'Benutzername',
  displayName: 'Anzeigename (optional)',
  continueToScan: 'Weiter: Gesicht scannen',
  chooseUsername: 'Wähle einen Benutzernamen.',
  picturesProgress: (done, total) => `${done} von ${total} Bildern`,
  signingUpAs: (username) => `Registrierung als ${username}.`,
  errors: { username_taken: { title: 'Benutzername vergeben', detail: 'Wähle einen anderen.' } },
  hints: { ok: 'Stillhalten' } as FaceGateTexts['hints'],
  loginWithUsername: 'Mit Benutzernamen anmelden',
};

describe('<FaceSignUp>', () => {
  it('signs up with the number of pictures asked for and reports the session', async () => {
    const server = fakeServer({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/users': () => ({ status: 201, body: session }),
    });
    const onSignUp = vi.fn();
    render(
      <FaceSignUp
        client={createFaceGate({ fetch: server.fetch })}
        onSignUp={onSignUp}
        frames={2}
        intervalMs={20}
      />,
    );
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: ' obama ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue: scan my face' }));
    expect(await screen.findByText('0 of 2 pictures')).toBeTruthy();
    await waitFor(() => expect(onSignUp).toHaveBeenCalledWith(obama, 'jwt.signup', session), {
      timeout: 4000,
    });
    const [request] = server.of('POST', '/api/v1/users');
    expect((request.body as { username: string; images: string[] }).username).toBe('obama');
    expect((request.body as { images: string[] }).images).toHaveLength(2);
  });

  it('speaks another language through `texts`, keeping the defaults for what is not given', async () => {
    const server = fakeServer({
      'POST /api/v1/detect': () => ({ body: okDetection }),
      'POST /api/v1/users': () => errorReply(409, 'username_taken', 'taken'),
    });
    render(
      <FaceSignUp
        client={createFaceGate({ fetch: server.fetch })}
        onSignUp={vi.fn()}
        texts={german}
        intervalMs={20}
      />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Weiter: Gesicht scannen' }));
    expect(screen.getByRole('alert').textContent).toBe('Wähle einen Benutzernamen.');
    fireEvent.change(screen.getByLabelText('Benutzername'), { target: { value: 'obama' } });
    expect(screen.getByText('Letters, digits, dot, dash and underscore.')).toBeTruthy(); // a default
    fireEvent.click(screen.getByRole('button', { name: 'Weiter: Gesicht scannen' }));
    expect(screen.getByText('Registrierung als obama.')).toBeTruthy();
    expect(await screen.findByText('0 von 3 Bildern')).toBeTruthy();
    expect(await screen.findByText('Stillhalten')).toBeTruthy();
    const alert = await screen.findByRole('alert', {}, { timeout: 4000 });
    expect(alert.textContent).toBe('Benutzername vergeben. Wähle einen anderen.');
  });

  it('<FaceLogin> takes the same texts', () => {
    render(
      <FaceLogin client={createFaceGate({ fetch: fakeServer({}).fetch })} onLogin={vi.fn()} texts={german} />,
    );
    expect(screen.getByLabelText('Mit Benutzernamen anmelden')).toBeTruthy();
  });
});

describe('facegate.css', () => {
  it('takes every colour from a --fg-* custom property (the hex values are only fallbacks)', () => {
    const css = readFileSync(path.join(process.cwd(), 'sdk/src/facegate.css'), 'utf8').replace(
      /\/\*[\s\S]*?\*\//g,
      '',
    );
    const colours = css.match(/#[0-9a-fA-F]{3,8}\b/g) ?? [];
    const fallbacks = css.match(/var\(--fg-[a-z-]+, #[0-9a-fA-F]{3,8}\)/g) ?? [];
    expect(colours.length).toBeGreaterThan(10);
    expect(fallbacks.length).toBe(colours.length);
  });
});
