// The workbench queue: tabs built from status filters for the caller's role
// (a dispatcher verifies and dispatches, a department signs and handles, an
// inspector checks), each a page of /api/v1/cases within the caller's scope.
// New and changed cases arrive live and move between tabs.

import { api, session } from '../api';
import { age, clear, h, lightDot, shortTime, duration } from '../format';
import { t, label } from '../i18n';
import { subscribe } from '../live';
import { areaLabel, areaLabelNow, categoryName, loadCategories, loadDistricts } from '../lookup';
import { navigate } from '../nav';
import { notices, workbenchHeader } from '../shell';
import type { CaseDto, UserDto } from '../types';

interface Tab {
  key: string;
  label: string;
  statuses?: string[];
  open?: boolean;
}

const PAGE_ROWS = 50;
const COUNTS_AFTER_EVENT_MS = 3_000;

const tab = (key: string, statuses?: string[], title = statuses ? label('status', statuses[0]) : t('queue.all')): Tab =>
  statuses ? { key, label: title, statuses } : { key, label: title, open: true };

/** The tabs of a role, in the order of the loop. */
export function tabsFor(role: string): Tab[] {
  switch (role) {
    case 'operator':
      return [
        tab('reported', ['reported']),
        tab('verified', ['verified']),
        tab('accepted', ['accepted']),
        tab('dispatch', ['registered', 'returned'], `${t('status.registered')}/${t('status.returned')}`),
        tab('replied', ['replied']),
        tab('callback', ['callback', 'follow_up'], `${t('status.callback')}/${t('status.follow_up')}`),
        tab('hung', ['hung']),
        tab('open'),
      ];
    case 'handler':
    case 'dept_lead':
      return [tab('dispatched', ['dispatched']), tab('handling', ['handling']), tab('hung', ['hung']), tab('open')];
    case 'supervisor':
      return [tab('checking', ['checking']), tab('reported', ['reported']), tab('open')];
    case 'admin':
    case 'auditor':
      return [tab('open'), tab('closed', ['closed'])];
    default:
      return [];
  }
}

/** Whether a case from the live stream belongs in this user's scope. */
export function inScope(user: UserDto, item: CaseDto): boolean {
  if (user.role === 'handler' || user.role === 'dept_lead') return Boolean(user.department && item.units.includes(user.department));
  if (user.role === 'operator' || user.role === 'supervisor') return user.areas.some((area) => item.area_path.includes(area));
  return user.role === 'admin' || user.role === 'auditor';
}

function matches(tabDef: Tab, item: CaseDto): boolean {
  if (tabDef.statuses) return tabDef.statuses.includes(item.status);
  return item.open;
}

export async function renderQueue(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  document.body.className = 'theme-light page-queue';
  const user = session()!.user;
  const tabs = tabsFor(user.role);
  const active = tabs.find((x) => x.key === params.tab) ?? tabs[0];
  const header = workbenchHeader('queue', () => navigate(location.hash));
  const notice = notices();
  const tabBar = h('nav', { class: 'wb-tabs', id: 'queue-tabs' });
  const tbody = h('tbody', { id: 'queue-rows' });
  const status = h('div', { class: 'queue-status muted', id: 'queue-status' });
  const more = h('button', { type: 'button', class: 'btn', id: 'queue-more', hidden: true }, t('common.more'));
  const main = h('main', { class: 'wb-main' },
    h('div', { class: 'wb-title' }, h('h1', {}, t('queue.title')), h('span', { class: 'muted' }, `${user.display_name} · ${label('role', user.role)}`)),
    notice.element,
    tabBar);
  root.append(header.element, main);
  if (!active) {
    main.append(h('p', { class: 'empty' }, t('queue.noRole')));
    if (user.role === 'citizen') main.append(h('a', { href: '/citizen' }, t('menu.citizen')));
    return header.dispose;
  }
  document.body.dataset.queueTab = active.key;
  const table = h('table', { class: 'queue-table', 'data-tab': active.key },
    h('thead', {}, h('tr', {},
      h('th', { class: 'c-light' }, t('queue.col.light')),
      h('th', {}, t('queue.col.id')),
      h('th', {}, t('queue.col.category')),
      h('th', {}, t('queue.col.area')),
      h('th', {}, t('queue.col.status')),
      h('th', {}, t('queue.col.due')),
      h('th', {}, t('queue.col.age')),
      h('th', { class: 'c-desc' }, t('queue.col.desc')))),
    tbody);
  main.append(h('div', { class: 'card table-card' }, table, h('div', { class: 'table-foot' }, status, more)));

  const counts = new Map<string, number>();
  function renderTabs(): void {
    clear(tabBar, tabs.map((x) =>
      h('a', { href: `#/queue?tab=${x.key}`, class: x.key === active.key ? 'wb-tab active' : 'wb-tab', 'data-tab': x.key },
        x.label, h('span', { class: 'count' }, counts.has(x.key) ? String(counts.get(x.key)) : '…'))));
  }
  renderTabs();

  async function loadCounts(): Promise<void> {
    await Promise.all(tabs.map(async (x) => {
      try {
        const page = await api.cases({ status: x.statuses?.join(','), open: x.open, limit: 1 });
        counts.set(x.key, page.total);
      } catch {
        counts.delete(x.key);
      }
    }));
    renderTabs();
  }

  await Promise.all([loadCategories().catch(() => undefined), loadDistricts()]);
  const rows = new Map<number, HTMLTableRowElement>();
  let total = 0;
  let offset = 0;

  function row(item: CaseDto): HTMLTableRowElement {
    const due = item.due_at ? new Date(item.due_at).getTime() - Date.now() : null;
    const tr = h('tr', {
      'data-case-id': item.id,
      'data-status': item.status,
      'data-light': item.light ?? 'none',
      tabindex: 0,
      onclick: () => navigate(`#/cases/${item.id}`),
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key === 'Enter') navigate(`#/cases/${item.id}`);
      },
    },
      h('td', { class: 'c-light' }, lightDot(item.light)),
      h('td', { class: 'mono' }, h('a', { href: `#/cases/${item.id}` }, `#${item.id}`), item.urgency === 'urgent' ? h('span', { class: 'tag tag-urgent' }, t('urgency.urgent')) : null),
      h('td', { class: 'c-cat' }, item.category),
      h('td', { class: 'c-area' }, areaLabelNow(item.area_path)),
      h('td', {}, h('span', { class: `status status-${item.status}` }, label('status', item.status))),
      h('td', { class: due !== null && due < 0 ? 'c-due overdue' : 'c-due' }, item.due_at ? shortTime(item.due_at) : '—',
        due !== null ? h('small', {}, due < 0 ? t('case.overdueBy', { d: duration(-due) }) : t('case.remaining', { d: duration(due) })) : null),
      h('td', { class: 'c-age' }, age(item.created_at)),
      h('td', { class: 'c-desc' }, h('div', { class: 'clamp', title: item.description }, item.description)));
    void categoryName(item.category).then((name) => (tr.querySelector('.c-cat')!.textContent = name));
    void areaLabel(item.area_path).then((name) => (tr.querySelector('.c-area')!.textContent = name));
    return tr;
  }

  function renderStatus(): void {
    status.textContent = rows.size ? t('common.shown', { shown: rows.size, total }) : t('queue.empty');
    more.hidden = rows.size >= total;
  }

  async function loadPage(): Promise<void> {
    const page = await api.cases({ status: active.statuses?.join(','), open: active.open, limit: PAGE_ROWS, offset });
    total = page.total;
    offset += page.items.length;
    for (const item of page.items) {
      if (rows.has(item.id)) continue;
      const tr = row(item);
      rows.set(item.id, tr);
      tbody.append(tr);
    }
    renderStatus();
  }

  more.addEventListener('click', () => void loadPage().catch((e) => notice.show('error', String(e), 'error')));

  try {
    await loadPage();
  } catch (error) {
    notice.show('error', `${t('common.error')}: ${String(error)}`, 'error');
  }
  void loadCounts();

  let countsTimer: number | undefined;
  const countsSoon = () => {
    countsTimer ??= window.setTimeout(() => {
      countsTimer = undefined;
      void loadCounts();
    }, COUNTS_AFTER_EVENT_MS);
  };
  const refreshAges = window.setInterval(() => {
    for (const tr of rows.values()) tr.classList.remove('flash');
  }, 5_000);

  const unsubscribe = subscribe({
    case: (item) => {
      if (!inScope(user, item)) return;
      const known = rows.get(item.id);
      if (matches(active, item)) {
        const fresh = row(item);
        fresh.classList.add('flash');
        if (known) known.replaceWith(fresh);
        else {
          tbody.prepend(fresh);
          total += 1;
        }
        rows.set(item.id, fresh);
      } else if (known) {
        known.remove();
        rows.delete(item.id);
        total = Math.max(0, total - 1);
      }
      renderStatus();
      countsSoon();
    },
    resync: () => navigate(location.hash),
    state: (state) => {
      if (state === 'offline') notice.show('events', t('notice.missing', { path: '/api/v1/events', what: t('notice.missing.events') }));
      else if (state === 'connected') notice.hide('events');
    },
  });
  if (document.body.dataset.live === 'offline') notice.show('events', t('notice.missing', { path: '/api/v1/events', what: t('notice.missing.events') }));

  return () => {
    unsubscribe();
    header.dispose();
    window.clearTimeout(countsTimer);
    window.clearInterval(refreshAges);
  };
}
