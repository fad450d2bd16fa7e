// The parts every signed-in screen shares: the top bar with the screens the
// role may use, the user menu (language switch, log-out), the live
// indicator and the notices that say which server feature is missing.

import { api, clearSession, session } from './api';
import { h } from './format';
import { lang, setLang, t, label } from './i18n';
import { liveState, stopLive, subscribe, type LiveState } from './live';
import { homeFor, mayBrowseData, mayReadGrants } from './nav';

export function liveBadge(): { element: HTMLElement; dispose: () => void } {
  const element = h('span', { class: 'live-badge', id: 'live-badge' });
  const paint = (state: LiveState) => {
    element.dataset.state = state;
    const key = state === 'connected' ? 'live.connected' : state === 'connecting' ? 'live.connecting' : 'live.offline';
    element.textContent = t(key);
    element.title = state === 'connected' ? '/api/v1/events' : t('notice.missing.events');
  };
  paint(liveState());
  const dispose = subscribe({ state: paint });
  return { element, dispose };
}

// One listener closes any open menu on a click elsewhere.
document.addEventListener('click', () => {
  for (const open of document.querySelectorAll<HTMLElement>('.user-dropdown')) open.hidden = true;
});

export function userMenu(onLanguage: () => void): HTMLElement {
  const current = session();
  const menu = h('div', { class: 'user-menu' });
  if (!current) return menu;
  const button = h(
    'button',
    { class: 'user-button', id: 'user-menu-button', type: 'button', 'aria-haspopup': 'true', 'aria-expanded': 'false' },
    h('span', { class: 'user-name' }, current.user.display_name),
    h('span', { class: 'user-role', 'data-role': current.user.role }, label('role', current.user.role)),
  );
  const list = h(
    'div',
    { class: 'user-dropdown', role: 'menu', hidden: true },
    h('button', {
      type: 'button',
      role: 'menuitem',
      id: 'lang-toggle',
      onclick: () => {
        setLang(lang() === 'zh' ? 'en' : 'zh');
        list.hidden = true;
        onLanguage();
      },
    }, t('menu.lang')),
    h('a', { role: 'menuitem', href: '/citizen' }, t('menu.citizen')),
    h('a', { role: 'menuitem', href: '/transparency/performance' }, t('menu.performance')),
    // Log-out revokes this browser's token on the server. Revoking every
    // token of the user (a wall screen signed in as the same user too) is a
    // separate, explicit choice.
    h('button', {
      type: 'button',
      role: 'menuitem',
      id: 'logout',
      onclick: async () => {
        try {
          await api.logout();
        } catch {
          // The token is dropped here either way.
        }
        clearSession();
        stopLive();
        location.hash = '#/login';
      },
    }, t('menu.logout')),
    h('button', {
      type: 'button',
      role: 'menuitem',
      id: 'logout-everywhere',
      onclick: async () => {
        if (!confirm(t('menu.logoutEverywhere.confirm'))) return;
        try {
          await api.logout(true);
        } catch {
          // The token is dropped here either way.
        }
        clearSession();
        stopLive();
        location.hash = '#/login';
      },
    }, t('menu.logoutEverywhere')),
  );
  button.addEventListener('click', (event) => {
    event.stopPropagation();
    list.hidden = !list.hidden;
    button.setAttribute('aria-expanded', String(!list.hidden));
  });
  menu.append(button, list);
  return menu;
}

/** A notice bar that says what is missing and why; one per key. */
export function notices(): { element: HTMLElement; show: (key: string, text: string, level?: 'warn' | 'info' | 'error') => void; hide: (key: string) => void } {
  const element = h('div', { class: 'notices', id: 'notices', 'aria-live': 'polite' });
  const shown = new Map<string, HTMLElement>();
  return {
    element,
    show(key, text, level = 'warn') {
      let item = shown.get(key);
      if (!item) {
        item = h('div', { class: `notice notice-${level}`, 'data-notice': key });
        shown.set(key, item);
        element.append(item);
      }
      item.className = `notice notice-${level}`;
      item.textContent = text;
    },
    hide(key) {
      shown.get(key)?.remove();
      shown.delete(key);
    },
  };
}

export type Section = 'queue' | 'case' | 'data' | 'grants' | 'my-data';

/** The workbench's top bar: brand, navigation (only the screens the role may use), live badge, user menu. */
export function workbenchHeader(active: Section, onLanguage: () => void): { element: HTMLElement; dispose: () => void } {
  const live = liveBadge();
  const current = session();
  const user = current?.user;
  const role = user?.role ?? '';
  const link = (section: Section | 'dashboard', href: string, text: string) =>
    h('a', { href, id: `nav-${section}`, class: section === active ? 'active' : '' }, text);
  const staff = role !== '' && role !== 'citizen';
  const element = h(
    'header',
    { class: 'wb-header' },
    h('a', { class: 'brand', href: homeFor(role) }, h('span', { class: 'brand-mark' }, 'CL'), t('app.title')),
    h(
      'nav',
      { class: 'wb-nav' },
      staff && role !== 'handler' ? link('dashboard', '#/dashboard', t('app.dashboard')) : null,
      staff ? link('queue', '#/queue', t('app.workbench')) : null,
      user && mayBrowseData(role) ? link('data', '#/data', t('app.data')) : null,
      user && mayReadGrants(user) ? link('grants', '#/grants', t('app.grants')) : null,
      role === 'citizen' ? link('my-data', '#/my-data', t('app.myData')) : null,
    ),
    h('div', { class: 'spacer' }),
    staff ? live.element : null,
    userMenu(onLanguage),
  );
  return { element, dispose: live.dispose };
}
