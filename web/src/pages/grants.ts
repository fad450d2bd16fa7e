// Data grants (数据授权): requests to read another department's dataset,
// to and from the caller's department (administrators, supervisors and
// auditors see all). The owner department's lead approves or refuses a
// request (a refusal says why) and revokes an approved grant; the
// grantee's lead may revoke its own department's grant too. What the
// server allows is checked again there; these buttons only spare the
// refusals.

import { ApiError, hub, query, session } from '../api';
import { clear, fullTime, h, shortTime } from '../format';
import { day, fieldLabel } from '../hub';
import { label, t } from '../i18n';
import { loadDepartments } from '../lookup';
import { mayReadGrants, navigate } from '../nav';
import { notices, workbenchHeader } from '../shell';
import type { DatasetDto, DepartmentDto, GrantDto, UserDto } from '../types';

const STATUSES = ['requested', 'approved', 'refused', 'revoked'] as const;
type Decision = 'approve' | 'refuse' | 'revoke';

/** Whether the user decides on requests for this dataset (its owner's lead, or an administrator). */
function mayDecide(user: UserDto, owner: string | undefined): boolean {
  return user.role === 'admin' || (user.role === 'dept_lead' && Boolean(user.department) && user.department === owner);
}

/** Whether the user may revoke this grant (the owner's or the grantee's lead, or an administrator). */
function mayRevoke(user: UserDto, owner: string | undefined, grant: GrantDto): boolean {
  return user.role === 'admin' || (user.role === 'dept_lead' && Boolean(user.department) && (user.department === owner || user.department === grant.department));
}

export async function renderGrants(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  document.body.className = 'theme-light page-grants';
  const user = session()!.user;
  const header = workbenchHeader('grants', () => navigate(location.hash));
  const notice = notices();
  const main = h('main', { class: 'wb-main' },
    h('div', { class: 'wb-title' }, h('h1', {}, t('grants.title')), h('span', { class: 'muted' }, `${user.display_name} · ${label('role', user.role)}`)),
    notice.element);
  root.append(header.element, main);
  if (!mayReadGrants(user)) {
    main.append(h('div', { class: 'card empty', id: 'grants-forbidden' }, h('p', {}, t('grants.forbidden'))));
    return header.dispose;
  }
  const status = (STATUSES as readonly string[]).includes(params.status ?? '') ? params.status : '';
  const datasetFilter = params.dataset ?? '';
  const tabHref = (s: string) => `#/grants${query({ status: s, dataset: datasetFilter })}`;
  main.append(h('nav', { class: 'wb-tabs', id: 'grant-tabs' },
    ['', ...STATUSES].map((s) => h('a', { href: tabHref(s), class: s === status ? 'wb-tab active' : 'wb-tab', 'data-status': s || 'all' },
      s ? label('grantStatus', s) : t('grants.filter.all')))));
  if (datasetFilter) {
    main.append(h('div', { class: 'filter-chip', id: 'grants-dataset-filter' },
      t('grants.filter.dataset', { id: datasetFilter }), ' ',
      h('a', { href: `#/grants${query({ status })}`, title: t('grants.filter.clear') }, '×')));
  }
  const tbody = h('tbody', { id: 'grant-rows' });
  const foot = h('div', { class: 'muted', id: 'grants-status' }, t('common.loading'));
  main.append(h('div', { class: 'card table-card' },
    h('table', { class: 'queue-table grants-table', id: 'grants-table' },
      h('thead', {}, h('tr', {},
        h('th', {}, t('grants.col.id')),
        h('th', {}, t('grants.col.dataset')),
        h('th', {}, t('grants.col.direction')),
        h('th', {}, t('grants.col.department')),
        h('th', {}, t('grants.col.fields')),
        h('th', { class: 'c-desc' }, t('grants.col.purpose')),
        h('th', {}, t('grants.col.period')),
        h('th', {}, t('grants.col.status')),
        h('th', {}, t('grants.col.inForce')),
        h('th', {}, t('grants.col.decided')),
        h('th', {}, t('grants.col.actions')))),
      tbody),
    h('div', { class: 'table-foot' }, foot)));

  let datasets = new Map<string, DatasetDto>();
  let departments = new Map<string, DepartmentDto>();
  const departmentName = (id: string) => departments.get(id)?.name ?? id;

  async function load(): Promise<void> {
    try {
      const [grants, list, names] = await Promise.all([
        hub.grants({ status: status || undefined, dataset: datasetFilter || undefined }),
        hub.datasets().catch(() => [] as DatasetDto[]),
        loadDepartments().catch(() => new Map<string, DepartmentDto>()),
      ]);
      datasets = new Map(list.map((d) => [d.id, d]));
      departments = names;
      grants.sort((a, b) => (a.status === 'requested' ? 0 : 1) - (b.status === 'requested' ? 0 : 1) || b.id - a.id);
      clear(tbody, grants.flatMap(row));
      document.body.dataset.grants = String(grants.length);
      foot.textContent = grants.length ? t('grants.count', { n: grants.length }) : t('grants.empty');
    } catch (error) {
      foot.textContent = '';
      notice.show('error', `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    }
  }

  function row(grant: GrantDto): HTMLElement[] {
    const dataset = datasets.get(grant.dataset);
    const owner = dataset?.owner;
    const direction = user.department && owner === user.department ? 'incoming' : user.department === grant.department ? 'outgoing' : 'other';
    const actions = h('div', { class: 'grant-actions' });
    const tr = h('tr', {
      'data-grant-id': grant.id,
      'data-status': grant.status,
      'data-in-force': String(grant.in_force),
      'data-direction': direction,
      'data-dataset': grant.dataset,
    },
      h('td', { class: 'mono' }, `#${grant.id}`),
      h('td', { class: 'c-dataset' },
        h('a', { href: `#/data/${encodeURIComponent(grant.dataset)}` }, dataset?.title ?? grant.dataset),
        h('small', { class: 'muted block' }, dataset ? dataset.owner_name || dataset.owner : grant.dataset)),
      h('td', {}, h('span', { class: `tag dir-${direction}` }, t(`grants.direction.${direction}`))),
      h('td', { class: 'c-department' }, departmentName(grant.department)),
      h('td', { class: 'c-fields' }, h('div', { class: 'chips' }, grant.fields.map((f) => h('span', { class: 'chip', title: f }, fieldLabel(dataset?.standard, f))))),
      h('td', { class: 'c-desc' }, grant.purpose, grant.note ? h('div', { class: 'muted small grant-note' }, `${t('grants.note')}：${grant.note}`) : null),
      h('td', { class: 'c-period', title: `${fullTime(grant.valid_from)} → ${fullTime(grant.valid_until)}` }, day(grant.valid_from), h('small', { class: 'block muted' }, `→ ${day(grant.valid_until)}`)),
      h('td', {}, h('span', { class: `status grant-${grant.status}`, 'data-status': grant.status }, label('grantStatus', grant.status))),
      h('td', { class: 'c-force' }, grant.in_force
        ? h('span', { class: 'tag tag-force', 'data-in-force': 'true' }, t('grants.inForce.yes'))
        : h('span', { class: 'muted', 'data-in-force': 'false' }, t('grants.inForce.no'))),
      h('td', { class: 'c-decided' }, shortTime(grant.requested_at), grant.decided_at ? h('small', { class: 'block muted' }, `${t('grants.decidedAt')} ${shortTime(grant.decided_at)}`) : null),
      h('td', { class: 'c-actions' }, actions));
    const formRow = h('tr', { class: 'grant-form-row', 'data-form-for': grant.id, hidden: true });
    const open = (decision: Decision) => openForm(grant, decision, formRow);
    if (grant.status === 'requested' && mayDecide(user, owner)) {
      actions.append(
        h('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-action': 'approve', onclick: () => open('approve') }, t('grants.approve')),
        h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'refuse', onclick: () => open('refuse') }, t('grants.refuse')));
    }
    if (grant.status === 'approved' && mayRevoke(user, owner, grant)) {
      actions.append(h('button', { type: 'button', class: 'btn btn-danger btn-small', 'data-action': 'revoke', onclick: () => open('revoke') }, t('grants.revoke')));
    }
    if (!actions.childElementCount) actions.append(h('span', { class: 'muted' }, '—'));
    return [tr, formRow];
  }

  /** The note for a decision, under the grant's row; a refusal and a revocation need one. */
  function openForm(grant: GrantDto, decision: Decision, formRow: HTMLTableRowElement): void {
    const required = decision !== 'approve';
    const note = h('textarea', { id: `grant-note-${grant.id}`, rows: 2, maxlength: 500, placeholder: t(required ? 'grants.noteRequired' : 'grants.noteOptional') });
    const error = h('div', { class: 'field-error', 'data-error-for': 'note', hidden: true });
    const confirm = h('button', { type: 'submit', class: decision === 'approve' ? 'btn btn-primary' : 'btn btn-danger', 'data-confirm': decision }, t(`grants.confirm.${decision}`));
    const form = h('form', { class: 'action-form grant-decision', 'data-decision': decision, novalidate: true },
      h('div', { class: 'field' }, h('label', { for: `grant-note-${grant.id}` }, t('grants.note'), required ? h('span', { class: 'req' }, ' *') : null), note, error),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', 'data-cancel': 'true', onclick: () => (formRow.hidden = true) }, t('common.cancel')),
        confirm));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      form.querySelector('.field')!.classList.remove('invalid');
      const text = note.value.trim();
      if (required && !text) {
        error.textContent = t('grants.noteRequired');
        error.hidden = false;
        form.querySelector('.field')!.classList.add('invalid');
        return;
      }
      confirm.disabled = true;
      try {
        const done = decision === 'revoke'
          ? await hub.revokeGrant(grant.id, text)
          : await hub.decideGrant(grant.id, decision === 'approve', text || undefined);
        notice.show('done', t('grants.done', { id: done.id, status: label('grantStatus', done.status) }), 'info');
        await load();
      } catch (caught) {
        error.textContent = caught instanceof ApiError ? `${caught.status}: ${caught.detail}` : String(caught);
        error.hidden = false;
      } finally {
        confirm.disabled = false;
      }
    });
    clear(formRow, h('td', { colspan: 11 }, h('div', { class: 'grant-form-box' }, h('strong', {}, `${t(`grants.${decision}`)} #${grant.id}`), form)));
    formRow.hidden = false;
    note.focus();
  }

  await load();
  return header.dispose;
}
