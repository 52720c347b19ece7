import { describe, expect, it } from 'vitest';
import { setCamera } from '../../test/setup';
import { captureFrame, openCamera } from './camera.js';

const refuse = (name: string) => () => Promise.reject(new DOMException('refused', name));

describe('openCamera', () => {
  it('maps NotAllowedError to camera_denied', async () => {
    setCamera(refuse('NotAllowedError'));
    await expect(openCamera()).rejects.toMatchObject({ code: 'camera_denied', status: 0 });
  });

  it('maps NotFoundError to camera_missing', async () => {
    setCamera(refuse('NotFoundError'));
    await expect(openCamera()).rejects.toMatchObject({ code: 'camera_missing' });
  });

  it('maps NotReadableError to camera_busy', async () => {
    setCamera(refuse('NotReadableError'));
    await expect(openCamera()).rejects.toMatchObject({ code: 'camera_busy' });
  });

  it('says camera_unsupported without navigator.mediaDevices', async () => {
    Object.defineProperty(navigator, 'mediaDevices', { configurable: true, value: undefined });
    await expect(openCamera()).rejects.toMatchObject({ code: 'camera_unsupported' });
  });
});

describe('captureFrame', () => {
  it('returns a JPEG data URL of the current frame', () => {
    expect(captureFrame(document.createElement('video'))).toMatch(/^data:image\/jpeg;base64,/);
  });
});
