// 谁用了我的数据: a citizen sees every read of personal data about them —
// when, which department, which dataset, for what purpose and which
// fields (GET /api/v1/me/data-access). The account must have been bound to
// the citizen's identity (after real-name verification); until then the
// server answers 404 and the page says how to get bound.

import { ApiError, hub, session } from '../api';
import { fullTime, h } from '../format';
import { fieldLabel } from '../hub';
import { t } from '../i18n';
import { navigate } from '../nav';
import { notices, workbenchHeader } from '../shell';

/** The tracker's fields are personal data, which the population standard names. */
const PERSON_STANDARD = 'population';

export async function renderMyData(root: HTMLElement): Promise<() => void> {
  document.body.className = 'theme-light page-my-data';
  const user = session()!.user;
  const header = workbenchHeader('my-data', () => navigate(location.hash));
  const notice = notices();
  const main = h('main', { class: 'wb-main my-data' },
    h('div', { class: 'wb-title' }, h('h1', {}, t('mydata.title')), h('span', { class: 'muted' }, user.display_name)),
    h('p', { class: 'muted intro' }, t('mydata.intro')),
    notice.element);
  root.append(header.element, main);
  if (user.role !== 'citizen') {
    main.append(h('div', { class: 'card empty', id: 'my-data-citizens-only' }, h('p', {}, t('mydata.citizensOnly'))));
    return header.dispose;
  }
  try {
    const accesses = await hub.myDataAccess();
    accesses.sort((a, b) => b.at.localeCompare(a.at));
    const departments = new Set(accesses.map((a) => a.department ?? a.department_name ?? ''));
    document.body.dataset.accesses = String(accesses.length);
    main.append(h('div', { class: 'card summary-line', id: 'my-data-summary', 'data-count': accesses.length },
      accesses.length ? t('mydata.count', { n: accesses.length, d: departments.size }) : t('mydata.empty')));
    if (!accesses.length) return header.dispose;
    main.append(h('div', { class: 'card table-card' },
      h('table', { class: 'queue-table access-table', id: 'my-data-table' },
        h('thead', {}, h('tr', {},
          h('th', {}, t('mydata.col.at')),
          h('th', {}, t('mydata.col.department')),
          h('th', {}, t('mydata.col.dataset')),
          h('th', { class: 'c-desc' }, t('mydata.col.purpose')),
          h('th', {}, t('mydata.col.fields')))),
        h('tbody', { id: 'access-rows' }, accesses.map((a) => h('tr', { 'data-dataset': a.dataset, 'data-department': a.department ?? '' },
          h('td', { class: 'mono c-at' }, fullTime(a.at)),
          h('td', { class: 'c-department' }, a.department_name || a.department || t('common.unknown')),
          h('td', { class: 'c-dataset' }, a.dataset_title || a.dataset),
          h('td', { class: 'c-desc c-purpose' }, a.purpose),
          h('td', { class: 'c-fields' }, h('div', { class: 'chips' }, a.fields.map((f) => h('span', { class: 'chip', title: f }, fieldLabel(PERSON_STANDARD, f)))))))))));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && !error.missingEndpoint) {
      main.append(h('div', { class: 'card empty', id: 'my-data-unbound' },
        h('h2', {}, t('mydata.unbound.title')),
        h('p', {}, t('mydata.unbound')),
        h('p', { class: 'muted small' }, error.detail)));
    } else if (error instanceof ApiError && error.missingEndpoint) {
      notice.show('missing', t('notice.missing', { path: '/api/v1/me/data-access', what: t('mydata.title') }));
    } else {
      notice.show('error', `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
  }
  return header.dispose;
}
