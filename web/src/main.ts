// The app's entry: a hash router (so the server needs no fallback route:
// /app/#/dashboard, /app/#/queue, /app/#/cases/123, /app/#/data,
// /app/#/data/ID, /app/#/grants, /app/#/my-data), the session, and the
// live connection shared by every screen.

import './styles/base.css';
import { clearSession, session, setUnauthorizedHandler } from './api';
import { startLive, stopLive } from './live';
import { homeFor, type Cleanup, type Page } from './nav';
import { renderLogin } from './pages/login';


const root = document.getElementById('app')!;
let cleanup: Cleanup | void = undefined;
let generation = 0;

async function route(): Promise<void> {
  const mine = ++generation;
  const hash = location.hash || '#/';
  const [path, search = ''] = hash.slice(1).split('?');
  const params: Record<string, string> = Object.fromEntries(new URLSearchParams(search));
  const current = session();
  try {
    cleanup?.();
  } catch (error) {
    console.warn('cleanup failed', error);
  }
  cleanup = undefined;
  root.replaceChildren();
  if (!current) {
    stopLive();
    document.body.className = 'theme-dark page-login';
    cleanup = renderLogin(root, { next: path === '/login' || path === '/' ? '' : hash });
    return;
  }
  // The event stream is for staff (cases and alarms); the server refuses citizens.
  if (current.user.role === 'citizen') stopLive();
  else startLive(current.token);
  let page: Page;
  const caseMatch = path.match(/^\/cases\/(\d+)$/);
  const datasetMatch = path.match(/^\/data\/([^/]+)$/);
  if (path === '/dashboard') {
    page = (await import('./pages/dashboard')).renderDashboard;
  } else if (path === '/queue') {
    page = (await import('./pages/queue')).renderQueue;
  } else if (caseMatch) {
    params.id = caseMatch[1];
    page = (await import('./pages/case')).renderCase;
  } else if (path === '/data') {
    page = (await import('./pages/data')).renderCatalogue;
  } else if (datasetMatch) {
    try {
      params.id = decodeURIComponent(datasetMatch[1]);
    } catch {
      params.id = datasetMatch[1];
    }
    page = (await import('./pages/data')).renderDataset;
  } else if (path === '/grants') {
    page = (await import('./pages/grants')).renderGrants;
  } else if (path === '/my-data') {
    page = (await import('./pages/mydata')).renderMyData;
  } else {
    location.replace(homeFor(current.user.role));
    return;
  }
  if (mine !== generation) return;
  const result = await page(root, params);
  if (mine !== generation) {
    result?.();
    return;
  }
  cleanup = result;
}

setUnauthorizedHandler(() => {
  clearSession();
  stopLive();
  void route();
});

window.addEventListener('hashchange', () => void route());
void route();
