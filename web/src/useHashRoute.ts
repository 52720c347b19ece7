// Hash navigation (#/login, #/signup, #/account, #/admin, and #/authorize?... for OpenID Connect
// sign-ins) without a router library.

import { useCallback, useEffect, useState } from 'react';

export type Route = 'login' | 'signup' | 'account' | 'admin' | 'authorize';

const routes: readonly Route[] = ['login', 'signup', 'account', 'admin', 'authorize'];

export function parseRoute(hash: string): Route {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (routes as readonly string[]).includes(name) ? (name as Route) : 'login';
}

export function useHashRoute(): [Route, (next: Route) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const navigate = useCallback((next: Route) => {
    if (parseRoute(window.location.hash) === next && window.location.hash) {
      setRoute(next);
      return;
    }
    window.location.hash = `#/${next}`;
  }, []);
  return [route, navigate];
}

/** The query part of the hash (`#/authorize?client_id=...`), as parameters. */
export function hashParams(hash: string): Record<string, string> {
  const query = hash.indexOf('?');
  return query < 0 ? {} : Object.fromEntries(new URLSearchParams(hash.slice(query + 1)));
}
