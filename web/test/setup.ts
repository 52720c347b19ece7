// Vitest setup: happy-dom has no camera, no canvas pixels and no media playback, so give it small
// stand-ins. Unit tests only; the end-to-end test (tests/e2e/) uses real Chromium and a real server.
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach, vi } from 'vitest';

export const FAKE_FRAME = 'data:image/jpeg;base64,/9j/fakeframe';

const context2d = {
  drawImage: () => undefined,
  clearRect: () => undefined,
  strokeRect: () => undefined,
  beginPath: () => undefined,
  arc: () => undefined,
  fill: () => undefined,
  fillStyle: '#000',
  lineWidth: 1,
  strokeStyle: '#000',
};

Object.defineProperty(HTMLCanvasElement.prototype, 'getContext', {
  configurable: true,
  value: () => context2d,
});
Object.defineProperty(HTMLCanvasElement.prototype, 'toDataURL', {
  configurable: true,
  value: () => FAKE_FRAME,
});
Object.defineProperty(HTMLVideoElement.prototype, 'videoWidth', { configurable: true, get: () => 640 });
Object.defineProperty(HTMLVideoElement.prototype, 'videoHeight', { configurable: true, get: () => 480 });
const streams = new WeakMap<HTMLMediaElement, unknown>();
Object.defineProperty(HTMLMediaElement.prototype, 'srcObject', {
  configurable: true,
  get(this: HTMLMediaElement) {
    return streams.get(this) ?? null;
  },
  set(this: HTMLMediaElement, value: unknown) {
    streams.set(this, value);
  },
});
Object.defineProperty(HTMLMediaElement.prototype, 'play', {
  configurable: true,
  value(this: HTMLMediaElement) {
    setTimeout(() => this.dispatchEvent(new Event('loadeddata')), 0);
    return Promise.resolve();
  },
});

export function fakeStream(): MediaStream {
  const track = { stop: vi.fn() };
  return { getTracks: () => [track] } as unknown as MediaStream;
}

export function setCamera(getUserMedia: () => Promise<MediaStream>): void {
  Object.defineProperty(navigator, 'mediaDevices', {
    configurable: true,
    value: { getUserMedia: vi.fn(getUserMedia) },
  });
}

beforeEach(() => {
  setCamera(async () => fakeStream());
  window.sessionStorage.clear();
  window.location.hash = '';
});

afterEach(() => {
  cleanup();
});
