import { describe, expect, it } from 'vitest';
import { FaceGateError, parseRetryAfter } from './errors.js';
import { describeError, hintText } from './messages.js';

describe('describeError', () => {
  it('has its own words for each failure state', () => {
    const title = (code: string, status = 0) => describeError(new FaceGateError(code, status, 'x')).title;
    expect(title('camera_denied')).toBe('Camera permission denied');
    expect(title('camera_missing')).toBe('No camera found');
    expect(title('network')).toBe('The server is not reachable');
    expect(title('server_error', 503)).toBe('The server had a problem');
    expect(title('no_match', 401)).toBe('We could not recognise you');
    expect(title('locked_out', 423)).toBe('Account locked');
    expect(title('no_face', 400)).toBe('No face found');
    expect(title('busy', 503)).toBe('The server is busy');
    expect(title('forbidden_origin', 403)).toBe('This page may not use facegate');
  });

  it('says how long to wait when rate limited', () => {
    const text = describeError(new FaceGateError('rate_limited', 429, 'x', { retryAfter: 30 }));
    expect(text.detail).toContain('Try again in 30 seconds');
    const locked = describeError(new FaceGateError('locked_out', 423, 'x', { retryAfter: 600 }));
    expect(locked.detail).toContain('Try again in 10 minutes');
    const busy = describeError(new FaceGateError('busy', 503, 'x', { retryAfter: 1 }));
    expect(busy.detail).toContain('Try again in 1 second');
  });

  it('falls back to the server message for codes it does not know', () => {
    expect(describeError(new FaceGateError('weird', 400, 'the server says why'))).toEqual({
      title: 'Something went wrong',
      detail: 'the server says why',
    });
  });
});

describe('hintText', () => {
  it('turns detect hints into plain guidance', () => {
    expect(hintText('move_closer')).toBe('Move closer');
    expect(hintText('multiple_faces')).toBe('Only one face please');
    expect(hintText('turned')).toBe('Look straight at the camera');
    expect(hintText('too_dark')).toBe('More light please');
    expect(hintText('off_center')).toBe('Center your face');
    expect(hintText('ok')).toBe('Hold still');
    expect(hintText('no_face')).toMatch(/No face found/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(null)).toBeNull();
    const now = Date.parse('2026-11-28T10:00:00Z');
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon')).toBeNull();
  });
});
