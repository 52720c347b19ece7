// A fetch stand-in that answers like the facegate server, route by route, and records every call.
import { vi } from 'vitest';

export interface Recorded {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> } | Error;
export type Handler = (call: Recorded) => Reply | Promise<Reply>;

export const obama = {
  username: 'obama',
  display_name: 'Barack Obama',
  faces: 3,
  created_at: '2026-11-28T10:00:00Z',
};

export const okDetection = {
  width: 640,
  height: 480,
  faces: [
    {
      box: { x: 200, y: 120, width: 220, height: 240 },
      score: 0.98,
      landmarks: [
        [260, 200],
        [360, 200],
      ] as [number, number][],
    },
  ],
  hint: 'ok',
  message: 'Face found',
};

export const noFaceDetection = {
  width: 640,
  height: 480,
  faces: [],
  hint: 'no_face',
  message: 'No face found',
};

export function errorReply(
  status: number,
  code: string,
  message = code,
  headers?: Record<string, string>,
): Reply {
  return { status, body: { error: { code, message } }, headers };
}

export function fakeServer(routes: Record<string, Handler>) {
  const calls: Recorded[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://facegate.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const call: Recorded = {
      method,
      path: url.pathname + url.search,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      headers: { ...(init.headers as Record<string, string>) },
    };
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    const reply: Reply = handler ? await handler(call) : errorReply(404, 'not_found');
    if (reply instanceof Error) throw reply;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      headers: { 'Content-Type': 'application/json', ...reply.headers },
    });
  });
  const of = (method: string, path: string) =>
    calls.filter((c) => c.method === method && c.path.startsWith(path));
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls, of };
}
