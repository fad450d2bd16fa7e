// The data catalogue (数据目录): the datasets departments have brought into
// the hub, found by words; one dataset's fields with their classification,
// its lineage (every import with its counts and quality per field), the
// quarantined lines of each import for the owner department, a preview of
// its rows (in the clear for the owner, masked through a grant for another
// department) and, when refused, a request for a grant.

import { ApiError, hub, query, session } from '../api';
import { clear, fullTime, h, shortTime } from '../format';
import { CLASSIFICATIONS, classificationBadge, day, fieldLabel, kindLabel, loadStandards, pctBar } from '../hub';
import { lang, label, t } from '../i18n';
import { loadDepartments } from '../lookup';
import { isDepartmentStaff, mayBrowseData, navigate } from '../nav';
import { notices, workbenchHeader } from '../shell';
import type { DatasetDto, DatasetField, GrantDto, ImportDto, StandardDto, UserDto } from '../types';

/** Rows in the preview. */
export const PREVIEW_ROWS = 20;
/** The longest grant the server allows, in days. */
const GRANT_DAYS_MAX = 366;
/** The default period of a new request, in days. */
const GRANT_DAYS_DEFAULT = 90;
const PURPOSE_CHARS_MAX = 200;
const DAY_MS = 86_400_000;

const datasetHref = (id: string) => `#/data/${encodeURIComponent(id)}`;

function standardName(standards: Map<string, StandardDto>, id: string, version: string): string {
  const standard = standards.get(id);
  const name = standard ? (lang() === 'en' ? standard.title_en || standard.name : standard.name) : id;
  return `${name} · v${version}`;
}

/** The most protected class among the fields. */
function highestClass(fields: DatasetField[]): string {
  let best = -1;
  for (const field of fields) best = Math.max(best, CLASSIFICATIONS.indexOf(field.classification));
  return best >= 0 ? CLASSIFICATIONS[best] : 'public';
}

function frequencyLabel(frequency: string): string {
  return label('freq', frequency);
}

/** The page for a role that may not read the catalogue (citizens). */
function notForRole(main: HTMLElement): void {
  main.append(h('div', { class: 'card empty', id: 'data-forbidden' }, h('p', {}, t('data.staffOnly'))));
}

// ---------------------------------------------------------------------------
// #/data?q=words

export async function renderCatalogue(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  document.body.className = 'theme-light page-data';
  const user = session()!.user;
  const header = workbenchHeader('data', () => navigate(location.hash));
  const notice = notices();
  const q = (params.q ?? '').trim();
  const input = h('input', { type: 'search', id: 'data-q', name: 'q', value: q, placeholder: t('data.search.placeholder'), 'aria-label': t('data.search.placeholder') });
  const form = h('form', { class: 'search-bar', id: 'data-search', role: 'search' },
    input,
    h('button', { type: 'submit', class: 'btn btn-primary', id: 'data-search-submit' }, t('data.search')),
    q ? h('a', { class: 'btn btn-ghost', href: '#/data', id: 'data-search-clear' }, t('data.search.clear')) : null);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(`#/data${query({ q: input.value.trim() })}`);
  });
  const main = h('main', { class: 'wb-main' },
    h('div', { class: 'wb-title' }, h('h1', {}, t('data.title')), h('span', { class: 'muted' }, t('data.subtitle'))),
    notice.element);
  root.append(header.element, main);
  if (!mayBrowseData(user.role)) {
    notForRole(main);
    return header.dispose;
  }
  const tbody = h('tbody', { id: 'dataset-rows' });
  const status = h('div', { class: 'muted', id: 'data-status' }, t('common.loading'));
  main.append(form, h('div', { class: 'card table-card' },
    h('table', { class: 'queue-table data-table', id: 'datasets', 'data-q': q },
      h('thead', {}, h('tr', {},
        h('th', {}, t('data.col.title')),
        h('th', {}, t('data.col.owner')),
        h('th', {}, t('data.col.standard')),
        h('th', {}, t('data.col.class')),
        h('th', { class: 'num' }, t('data.col.rows')),
        h('th', {}, t('data.col.frequency')),
        h('th', {}, t('data.col.updated')))),
      tbody),
    h('div', { class: 'table-foot' }, status)));

  try {
    const [datasets, standards] = await Promise.all([hub.datasets(q || undefined), loadStandards()]);
    document.body.dataset.datasets = String(datasets.length);
    clear(tbody, datasets.map((d) => h('tr', {
      'data-dataset-id': d.id,
      'data-owner': d.owner,
      tabindex: 0,
      onclick: () => navigate(datasetHref(d.id)),
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key === 'Enter') navigate(datasetHref(d.id));
      },
    },
      h('td', { class: 'c-title' }, h('a', { href: datasetHref(d.id) }, d.title), h('small', { class: 'mono muted block' }, d.id),
        d.description ? h('div', { class: 'muted small clamp' }, d.description) : null),
      h('td', { class: 'c-owner' }, d.owner_name || d.owner),
      h('td', { class: 'c-standard' }, standardName(standards, d.standard, d.standard_version)),
      h('td', { class: 'c-class' }, classificationBadge(highestClass(d.fields))),
      h('td', { class: 'num mono c-rows' }, d.rows.toLocaleString()),
      h('td', { class: 'c-frequency' }, frequencyLabel(d.update_frequency)),
      h('td', { class: 'c-updated' }, shortTime(d.updated_at)))));
    status.textContent = datasets.length ? t('data.count', { n: datasets.length }) : (q ? t('data.emptyFor', { q }) : t('data.empty'));
  } catch (error) {
    status.textContent = '';
    notice.show('error', error instanceof ApiError ? `${t('common.error')}: ${error.detail}` : `${t('common.error')}: ${String(error)}`, 'error');
  }
  return header.dispose;
}

// ---------------------------------------------------------------------------
// #/data/{id}

export async function renderDataset(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  document.body.className = 'theme-light page-dataset';
  const user = session()!.user;
  const header = workbenchHeader('data', () => navigate(location.hash));
  const notice = notices();
  const main = h('main', { class: 'wb-main dataset-page' }, notice.element);
  root.append(header.element, main);
  if (!mayBrowseData(user.role)) {
    notForRole(main);
    return header.dispose;
  }
  const id = params.id;
  let dataset: DatasetDto;
  let standards: Map<string, StandardDto>;
  try {
    [dataset, standards] = await Promise.all([hub.dataset(id), loadStandards()]);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
      main.append(h('div', { class: 'card empty', id: 'dataset-missing' }, h('h1', {}, t('data.notFound')), h('p', { class: 'muted' }, error.detail), h('a', { href: '#/data' }, t('data.back'))));
      return header.dispose;
    }
    notice.show('error', `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
    return header.dispose;
  }
  document.body.dataset.datasetId = dataset.id;
  const owner = isDepartmentStaff(user) && user.department === dataset.owner;
  // Quarantined lines hold raw personal data: the owner department and administrators.
  const seesQuarantine = owner || user.role === 'admin';

  main.append(
    h('div', { class: 'case-title' },
      h('a', { href: '#/data', class: 'btn btn-ghost', id: 'dataset-back' }, `← ${t('data.back')}`),
      h('h1', { id: 'dataset-title' }, dataset.title),
      classificationBadge(highestClass(dataset.fields)),
      h('span', { class: 'muted' }, dataset.owner_name || dataset.owner),
      owner ? h('span', { class: 'tag tag-own', id: 'dataset-own' }, t('data.own')) : null),
    h('section', { class: 'card', id: 'dataset-summary' },
      h('dl', { class: 'kv-grid' },
        kv(t('data.id'), h('span', { class: 'mono' }, dataset.id)),
        kv(t('data.owner'), `${dataset.owner_name || dataset.owner} (${dataset.owner})`),
        kv(t('data.standard'), standardName(standards, dataset.standard, dataset.standard_version)),
        kv(t('data.frequency'), frequencyLabel(dataset.update_frequency)),
        kv(t('data.rows'), h('span', { class: 'mono', id: 'dataset-row-count' }, dataset.rows.toLocaleString())),
        kv(t('data.updated'), fullTime(dataset.updated_at))),
      dataset.description ? h('div', { class: 'description', id: 'dataset-description' }, dataset.description) : null),
    fieldsCard(dataset),
    lineageCard(dataset, seesQuarantine, notice),
    rowsCard(dataset, user, owner),
  );
  return header.dispose;
}

function kv(term: string, value: Node | string): HTMLElement {
  return h('div', { class: 'kv' }, h('dt', {}, term), h('dd', {}, value));
}

function fieldsCard(dataset: DatasetDto): HTMLElement {
  return h('section', { class: 'card', id: 'dataset-fields' },
    h('h2', {}, t('data.fields'), h('span', { class: 'muted small' }, ` (${dataset.fields.length})`)),
    h('div', { class: 'table-scroll' },
      h('table', { class: 'queue-table fields-table', id: 'fields-table' },
        h('thead', {}, h('tr', {},
          h('th', {}, t('data.field.name')),
          h('th', {}, t('data.field.label')),
          h('th', {}, t('data.field.kind')),
          h('th', {}, t('data.field.required')),
          h('th', {}, t('data.field.classification')),
          h('th', {}, t('data.field.codeTable')),
          h('th', {}, t('data.field.unit')),
          h('th', { class: 'c-desc' }, t('data.field.description')))),
        h('tbody', {}, dataset.fields.map((field) => h('tr', { 'data-field': field.name, 'data-classification': field.classification, 'data-kind': field.kind },
          h('td', { class: 'mono' }, field.name),
          h('td', {}, fieldLabel(dataset.standard, field.name)),
          h('td', {}, kindLabel(field.kind)),
          h('td', {}, field.required ? t('common.yes') : t('common.no')),
          h('td', { class: 'c-class' }, classificationBadge(field.classification)),
          h('td', { class: 'mono' }, field.code_table ?? '—'),
          h('td', {}, field.unit ?? '—'),
          h('td', { class: 'c-desc' }, field.description ?? '')))))),
    h('p', { class: 'muted small legend-line' }, t('data.classes.legend'), ' ', CLASSIFICATIONS.map((c) => classificationBadge(c))));
}

// ---------------------------------------------------------------------------
// Lineage and quarantine

function lineageCard(dataset: DatasetDto, seesQuarantine: boolean, notice: ReturnType<typeof notices>): HTMLElement {
  const imports = dataset.imports ?? [];
  const card = h('section', { class: 'card', id: 'dataset-lineage' }, h('h2', {}, t('data.lineage')));
  if (!imports.length) {
    card.append(h('p', { class: 'muted' }, t('data.lineage.none')));
    return card;
  }
  const list = h('ol', { class: 'lineage' });
  for (const item of imports) list.append(importEntry(dataset, item, seesQuarantine, notice));
  card.append(list);
  return card;
}

function importEntry(dataset: DatasetDto, item: ImportDto, seesQuarantine: boolean, notice: ReturnType<typeof notices>): HTMLElement {
  const quality = item.quality;
  const count = (key: string, value: number, text: string) =>
    h('div', { class: `count-box count-${key}`, 'data-count': key }, h('strong', { class: 'mono' }, value.toLocaleString()), h('span', {}, text));
  const entry = h('li', { class: 'import', 'data-import-id': item.id, 'data-status': item.status },
    h('div', { class: 'import-head' },
      h('strong', {}, t('data.import', { id: item.id })),
      h('span', { class: `status import-status import-${item.status}` }, label('importStatus', item.status)),
      h('span', { class: 'muted' }, `${fullTime(item.started_at)}${item.finished_at ? ` → ${fullTime(item.finished_at)}` : ''}`),
      item.fixes ? h('span', { class: 'tag' }, t('data.import.fixes', { id: item.fixes })) : null),
    h('dl', { class: 'kv-grid import-meta' },
      kv(t('data.import.file'), item.file_name),
      kv(t('data.import.mapping'), h('span', { class: 'mono' }, `${item.mapping} · v${item.mapping_version}`)),
      kv(t('data.import.sha'), h('span', { class: 'mono', title: item.file_sha256 }, `${item.file_sha256.slice(0, 16)}…`))),
    h('div', { class: 'counts' },
      quality ? count('rows', quality.rows, t('data.import.rows')) : null,
      count('accepted', item.accepted, t('data.import.accepted')),
      count('rejected', item.rejected, t('data.import.rejected')),
      quality ? count('duplicates', quality.duplicates, t('data.import.duplicates')) : null));
  if (quality?.fields?.length) {
    entry.append(h('table', { class: 'queue-table quality-table' },
      h('thead', {}, h('tr', {},
        h('th', {}, t('data.quality.field')),
        h('th', {}, t('data.quality.completeness')),
        h('th', {}, t('data.quality.validity')),
        h('th', { class: 'num' }, t('data.quality.invalid')))),
      h('tbody', {}, quality.fields.map((q) => h('tr', { 'data-field': q.field, 'data-completeness': q.completeness_pct, 'data-validity': q.validity_pct },
        h('td', {}, h('span', { class: 'mono' }, q.field), h('span', { class: 'muted small' }, ` ${fieldLabel(dataset.standard, q.field)}`)),
        h('td', { class: 'c-pct' }, pctBar(q.completeness_pct), h('small', { class: 'muted' }, ` ${q.present}/${q.total}`)),
        h('td', { class: 'c-pct' }, pctBar(q.validity_pct), h('small', { class: 'muted' }, ` ${q.valid}/${q.present}`)),
        h('td', { class: 'num mono' }, String(q.invalid)))))));
  } else {
    entry.append(h('p', { class: 'muted small' }, t('data.quality.none')));
  }
  if (seesQuarantine) entry.append(quarantineExpander(item, notice));
  return entry;
}

/** The open quarantined lines as a file in the department's own format
 *  (the server answers 400 for XLSX and JSON imports). */
async function downloadQuarantine(importId: number, notice: ReturnType<typeof notices>): Promise<void> {
  const response = await fetch(`/api/v1/hub/imports/${importId}/quarantine.csv`, {
    headers: { Authorization: `Bearer ${session()?.token ?? ''}` },
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => null) as { detail?: string } | null;
    notice.show('quarantine', problem?.detail ?? `${response.status}`, 'error');
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h('a', { href: url, download: `quarantine-${importId}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

function quarantineExpander(item: ImportDto, notice: ReturnType<typeof notices>): HTMLElement {
  const body = h('div', { class: 'quarantine-body' });
  const all = h('input', { type: 'checkbox', id: `quarantine-all-${item.id}` });
  const details = h('details', { class: 'quarantine', id: `quarantine-${item.id}`, 'data-import-id': item.id },
    h('summary', {}, t('data.quarantine', { n: item.rejected })),
    h('p', { class: 'muted small' }, t('data.quarantine.hint')),
    h('label', { class: 'inline-check' }, all, t('data.quarantine.all')),
    body);
  let loaded = false;
  const load = async () => {
    clear(body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const lines = await hub.quarantine(item.id, all.checked);
      details.dataset.lines = String(lines.length);
      if (!lines.length) {
        clear(body, h('p', { class: 'muted', 'data-empty': 'true' }, t('data.quarantine.empty')));
        return;
      }
      const download = h('button', { type: 'button', class: 'btn btn-small', id: `quarantine-csv-${item.id}` }, t('data.quarantine.csv'));
      download.addEventListener('click', () => void downloadQuarantine(item.id, notice));
      clear(body, h('p', { class: 'muted small' }, download, ' ', t('data.quarantine.csvHint', { id: item.id })), h('div', { class: 'table-scroll' }, h('table', { class: 'queue-table quarantine-table' },
        h('thead', {}, h('tr', {},
          h('th', {}, t('data.quarantine.line')),
          h('th', {}, t('data.quarantine.reasons')),
          h('th', {}, t('data.quarantine.raw')))),
        h('tbody', {}, lines.map((line) => h('tr', { 'data-line': line.line, 'data-fixed': line.fixed_by ? 'true' : 'false' },
          h('td', { class: 'mono' }, String(line.line), line.fixed_by ? h('div', { class: 'tag' }, t('data.quarantine.fixedBy', { id: line.fixed_by })) : null),
          h('td', { class: 'c-reasons' }, h('ul', { class: 'reasons' }, line.reasons.map((reason) => h('li', {}, reason)))),
          h('td', { class: 'c-raw' }, h('code', { class: 'raw' }, line.raw))))))));
    } catch (error) {
      clear(body, h('p', { class: 'form-error' }, error instanceof ApiError ? error.detail : String(error)));
      if (!(error instanceof ApiError)) notice.show('quarantine', String(error), 'error');
    }
  };
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) {
      loaded = true;
      void load();
    }
  });
  all.addEventListener('change', () => void load());
  return details;
}

// ---------------------------------------------------------------------------
// Rows preview and the request for a grant

function rowsCard(dataset: DatasetDto, user: UserDto, owner: boolean): HTMLElement {
  const body = h('div', { class: 'rows-body', id: 'rows-body' });
  const load = h('button', { type: 'button', class: 'btn btn-primary', id: 'rows-load' }, t('data.preview.load', { n: PREVIEW_ROWS }));
  const card = h('section', { class: 'card', id: 'dataset-rows' },
    h('h2', {}, t('data.preview')),
    h('p', { class: 'muted small' }, owner ? t('data.preview.hintOwner') : t('data.preview.hint')),
    h('div', { class: 'form-actions left' }, load),
    body);
  load.addEventListener('click', async () => {
    load.disabled = true;
    clear(body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const page = await hub.rows(dataset.id, { limit: PREVIEW_ROWS });
      card.dataset.masked = String(page.masked);
      clear(body,
        h('div', { class: 'rows-flags' },
          page.masked
            ? h('span', { class: 'mask-flag masked', id: 'rows-masked', 'data-masked': 'true' }, t('data.preview.masked', { id: page.grant ?? '—' }))
            : h('span', { class: 'mask-flag clear', id: 'rows-masked', 'data-masked': 'false' }, t('data.preview.clear')),
          h('span', { class: 'muted small', id: 'rows-count' }, page.rows.length ? t('data.preview.shown', { n: page.rows.length }) : t('data.preview.empty'))),
        page.rows.length ? h('div', { class: 'table-scroll' }, h('table', { class: 'queue-table rows-table', id: 'rows-table', 'data-masked': String(page.masked) },
          h('thead', {}, h('tr', {}, page.fields.map((name) => h('th', { 'data-field': name, title: name }, fieldLabel(dataset.standard, name), h('small', { class: 'mono muted block' }, name))))),
          h('tbody', {}, page.rows.map((row) => h('tr', {}, page.fields.map((name) => h('td', { 'data-field': name, class: 'mono' }, cell(row[name])))))))) : null);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        card.dataset.masked = '';
        clear(body, h('div', { class: 'forbidden', id: 'rows-forbidden' },
          h('p', {}, h('strong', {}, t('data.preview.forbidden'))),
          h('p', { class: 'muted', id: 'rows-forbidden-detail' }, error.detail)));
        if (isDepartmentStaff(user) && !owner) body.append(requestForm(dataset, user));
        else body.append(h('p', { class: 'muted small', id: 'grant-not-staff' }, t('data.request.notStaff')));
      } else {
        clear(body, h('p', { class: 'form-error' }, `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`));
      }
    } finally {
      load.disabled = false;
    }
  });
  return card;
}

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** YYYY-MM-DD of a moment on Beijing's calendar. */
function beijingDate(ms: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

/** The end of a Beijing day as RFC 3339. */
function endOfDay(date: string): string {
  return `${date}T23:59:59+08:00`;
}

function requestForm(dataset: DatasetDto, user: UserDto): HTMLElement {
  const mine = h('div', { class: 'my-grants', id: 'my-grants' });
  const result = h('div', { class: 'grant-result', id: 'grant-result', hidden: true });
  const error = h('p', { class: 'form-error', id: 'grant-error', role: 'alert', hidden: true });
  const fieldError = (name: string) => h('div', { class: 'field-error', 'data-error-for': name, hidden: true });
  const errors = { fields: fieldError('fields'), purpose: fieldError('purpose'), valid_until: fieldError('valid_until') };
  const boxes = dataset.fields.map((field) =>
    h('label', { class: 'field-pick', 'data-field': field.name },
      h('input', { type: 'checkbox', name: 'field', value: field.name, id: `grant-field-${field.name}` }),
      h('span', {}, fieldLabel(dataset.standard, field.name)),
      h('small', { class: 'mono muted' }, field.name),
      classificationBadge(field.classification)));
  const purpose = h('textarea', { id: 'grant-purpose', name: 'purpose', rows: 2, maxlength: PURPOSE_CHARS_MAX, placeholder: t('data.request.purposePlaceholder') });
  const now = Date.now();
  const until = h('input', {
    type: 'date', id: 'grant-until', name: 'valid_until',
    value: beijingDate(now + GRANT_DAYS_DEFAULT * DAY_MS),
    min: beijingDate(now + DAY_MS),
    max: beijingDate(now + (GRANT_DAYS_MAX - 1) * DAY_MS),
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'grant-submit' }, t('data.request.submit'));
  const form = h('form', { class: 'action-form grant-form', id: 'grant-form', novalidate: true },
    h('h3', {}, t('data.request.title')),
    h('div', { class: 'field', 'data-field': 'fields' }, h('span', { class: 'label' }, t('data.request.fields'), h('span', { class: 'req' }, ' *')), h('div', { class: 'field-picks' }, boxes), errors.fields),
    h('div', { class: 'field', 'data-field': 'purpose' }, h('label', { for: 'grant-purpose' }, t('data.request.purpose'), h('span', { class: 'req' }, ' *')), purpose, h('small', { class: 'muted' }, t('data.request.purposeHint')), errors.purpose),
    h('div', { class: 'field', 'data-field': 'valid_until' }, h('label', { for: 'grant-until' }, t('data.request.until'), h('span', { class: 'req' }, ' *')), until, errors.valid_until),
    error,
    h('div', { class: 'form-actions' }, submit));

  const showError = (name: keyof typeof errors, text: string) => {
    errors[name].textContent = text;
    errors[name].hidden = false;
    errors[name].parentElement?.classList.add('invalid');
  };
  const resetErrors = () => {
    error.hidden = true;
    for (const element of Object.values(errors)) {
      element.hidden = true;
      element.parentElement?.classList.remove('invalid');
    }
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    resetErrors();
    const fields = boxes.map((box) => box.querySelector('input')!).filter((box) => box.checked).map((box) => box.value);
    const text = purpose.value.trim();
    let ok = true;
    if (!fields.length) {
      showError('fields', t('data.request.noFields'));
      ok = false;
    }
    if (!text) {
      showError('purpose', t('form.required'));
      ok = false;
    } else if ([...text].length > PURPOSE_CHARS_MAX) {
      showError('purpose', t('form.tooLong', { n: PURPOSE_CHARS_MAX }));
      ok = false;
    }
    const validUntil = until.value ? endOfDay(until.value) : '';
    const untilMs = validUntil ? new Date(validUntil).getTime() : NaN;
    if (!validUntil || Number.isNaN(untilMs)) {
      showError('valid_until', t('form.required'));
      ok = false;
    } else if (untilMs <= Date.now()) {
      showError('valid_until', t('data.request.untilPast'));
      ok = false;
    } else if (untilMs - Date.now() > GRANT_DAYS_MAX * DAY_MS) {
      showError('valid_until', t('data.request.untilMax', { n: GRANT_DAYS_MAX }));
      ok = false;
    }
    if (!ok) return;
    submit.disabled = true;
    try {
      const grant = await hub.requestGrant(dataset.id, { fields, purpose: text, valid_until: validUntil });
      form.reset();
      until.value = beijingDate(Date.now() + GRANT_DAYS_DEFAULT * DAY_MS);
      result.hidden = false;
      result.dataset.grantId = String(grant.id);
      result.dataset.status = grant.status;
      clear(result,
        h('span', {}, t('data.request.sent', { id: grant.id })),
        h('span', { class: `status grant-${grant.status}` }, label('grantStatus', grant.status)),
        h('a', { href: '#/grants' }, t('data.request.toGrants')));
      void loadMine();
    } catch (caught) {
      if (caught instanceof ApiError && caught.field) {
        const name = caught.field.startsWith('fields') ? 'fields' : caught.field === 'valid_from' ? 'valid_until' : caught.field;
        if (name in errors) {
          showError(name as keyof typeof errors, caught.detail);
          return;
        }
      }
      error.textContent = caught instanceof ApiError ? `${caught.status}: ${caught.detail}` : String(caught);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  // This department's earlier requests for the dataset (pending, refused, revoked, expired).
  async function loadMine(): Promise<void> {
    try {
      const [grants, departments] = await Promise.all([hub.grants({ dataset: dataset.id }), loadDepartments().catch(() => new Map())]);
      const ours = grants.filter((g) => g.department === user.department).sort((a, b) => b.id - a.id);
      if (!ours.length) {
        clear(mine);
        return;
      }
      clear(mine, h('h3', {}, t('data.request.mine', { name: departments.get(user.department ?? '')?.name ?? user.department ?? '' })),
        h('ul', { class: 'grant-list' }, ours.map((g: GrantDto) => h('li', { 'data-grant-id': g.id, 'data-status': g.status },
          h('span', { class: 'mono' }, `#${g.id}`),
          h('span', { class: `status grant-${g.status}` }, label('grantStatus', g.status)),
          g.in_force ? h('span', { class: 'tag tag-force' }, t('grants.inForce.yes')) : null,
          h('span', {}, g.purpose),
          h('span', { class: 'muted small' }, `${day(g.valid_from)} → ${day(g.valid_until)}`),
          g.note ? h('span', { class: 'muted small' }, `（${g.note}）`) : null))));
    } catch {
      clear(mine);
    }
  }
  void loadMine();
  return h('div', { class: 'grant-request' }, mine, result, form);
}
