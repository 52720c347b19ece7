// The admin token lives in sessionStorage: gone when the tab closes, never in a cookie or the URL.

const KEY = 'facegate.adminToken';

export function loadAdminToken(): string {
  try {
    return window.sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveAdminToken(token: string): void {
  try {
    if (token) window.sessionStorage.setItem(KEY, token);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled (private mode): the token then lasts until the page reloads.
  }
}
