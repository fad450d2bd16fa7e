// Where each role starts, and moving between screens by the URL's hash.

/** Where a role starts after log-in: handlers at their queue, everyone else at the dashboard. */
export function homeFor(role: string): string {
  if (role === 'handler') return '#/queue';
  return '#/dashboard';
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export type Cleanup = () => void;
export type Page = (root: HTMLElement, params: Record<string, string>) => Cleanup | void | Promise<Cleanup | void>;
