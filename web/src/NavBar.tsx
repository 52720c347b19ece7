// The top bar: product name and the four screens, with the current one marked for screen readers.

import type { FaceGateUser } from '@facegate/sdk';
import type { Route } from './useHashRoute';

export interface NavBarProps {
  route: Route;
  user: FaceGateUser | null;
}

const links: { route: Route; label: string }[] = [
  { route: 'login', label: 'Log in' },
  { route: 'signup', label: 'Sign up' },
  { route: 'account', label: 'Account' },
  { route: 'admin', label: 'Admin' },
];

export function NavBar({ route, user }: NavBarProps) {
  return (
    <header className="topbar">
      <a className="brand" href="#/login">
        <span aria-hidden="true" className="brand-mark">
          ◉
        </span>{' '}
        facegate
      </a>
      <nav aria-label="Main">
        <ul>
          {links.map((link) => (
            <li key={link.route}>
              <a href={`#/${link.route}`} aria-current={route === link.route ? 'page' : undefined}>
                {link.route === 'account' && user ? user.username : link.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
    </header>
  );
}
