// One case: its summary, the SLA clock counting down, a small map, the
// photos, the timeline, and a form for each action the server allows the
// caller now (`allowed_actions`; never guessed here). After an action, or
// when the live stream says the case changed, the page reloads the case.

import { api, ApiError, get, session } from '../api';
import { ACTION_FIELDS, body, DANGEROUS_ACTIONS, SECONDARY_ACTIONS, TEXT_CHARS_MAX, validate, type Field, type Values } from '../actions';
import { clear, duration, fullTime, h, lightDot, shortTime } from '../format';
import { t, label } from '../i18n';
import { subscribe } from '../live';
import { areaLabel, categoryName, departmentName, loadDepartments } from '../lookup';
import { navigate } from '../nav';
import { notices, workbenchHeader } from '../shell';
import type { CaseDetail, ClockDto, DepartmentDto, HistoryEntry } from '../types';
import { webglAvailable } from '../dashboard/map';
import { maplibregl } from '../maplibre';

const CLOCK_TICK_MS = 1000;

export async function renderCase(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  document.body.className = 'theme-light page-case';
  const id = params.id;
  const user = session()!.user;
  const header = workbenchHeader('case', () => navigate(location.hash));
  const notice = notices();
  const titleBar = h('div', { class: 'case-title' });
  const summaryCard = h('section', { class: 'card', id: 'case-summary' });
  const clockCard = h('section', { class: 'card', id: 'case-clock' });
  const actionsCard = h('section', { class: 'card', id: 'case-actions' });
  const timelineCard = h('section', { class: 'card', id: 'case-timeline' });
  const mapCard = h('section', { class: 'card', id: 'case-map' });
  const mediaCard = h('section', { class: 'card', id: 'case-media' });
  const main = h('main', { class: 'wb-main case-page' },
    titleBar,
    notice.element,
    h('div', { class: 'case-grid' },
      h('div', { class: 'case-col-main' }, summaryCard, timelineCard),
      h('div', { class: 'case-col-side' }, clockCard, actionsCard, mapCard, mediaCard)));
  root.append(header.element, main);

  let detail: CaseDetail | null = null;
  let departments = new Map<string, DepartmentDto>();
  let clockTimer: number | undefined;
  let miniMap: InstanceType<typeof maplibregl.Map> | null = null;
  const blobUrls: string[] = [];
  let formDirty = false;
  let selectedAction: string | null = null;

  const toast = h('div', { class: 'toast', id: 'toast', role: 'status', hidden: true });
  main.append(toast);
  let toastTimer: number | undefined;
  const showToast = (text: string) => {
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => (toast.hidden = true), 4000);
  };

  async function load(): Promise<void> {
    try {
      detail = await api.case(id);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
        clear(main, h('div', { class: 'card empty' }, h('h1', {}, t('case.notFound')), h('p', { class: 'muted' }, error.detail), h('a', { href: '#/queue' }, t('common.back'))));
        return;
      }
      throw error;
    }
    departments = await loadDepartments().catch(() => new Map());
    document.body.dataset.caseId = String(detail.id);
    document.body.dataset.caseStatus = detail.status;
    document.body.dataset.caseVersion = String(detail.version);
    renderTitle();
    await renderSummary();
    renderClock();
    renderActions();
    renderTimeline();
    renderMedia();
    renderMap();
  }

  // ---- title and summary -----------------------------------------------------
  function renderTitle(): void {
    const d = detail!;
    clear(titleBar,
      h('a', { class: 'btn btn-ghost', href: '#/queue', id: 'back-to-queue' }, `← ${t('common.back')}`),
      h('h1', {}, t('case.title', { id: d.id })),
      h('span', { class: `status status-${d.status}`, id: 'case-status', 'data-status': d.status }, label('status', d.status)),
      h('span', { class: 'light-chip', id: 'case-light', 'data-light': d.light ?? 'none' }, lightDot(d.light), label('light', d.light ?? 'none')),
      d.urgency === 'urgent' ? h('span', { class: 'tag tag-urgent' }, t('urgency.urgent')) : null);
  }

  async function renderSummary(): Promise<void> {
    const d = detail!;
    const [category, area, lead, routed, units] = await Promise.all([
      categoryName(d.category),
      areaLabel(d.area_path),
      departmentName(d.lead_department),
      departmentName(d.routed_department),
      Promise.all(d.units.map(departmentName)),
    ]);
    const row = (label: string, value: Node | string | null | undefined, id?: string) =>
      value === null || value === undefined || value === '' ? null : h('div', { class: 'kv' }, h('dt', {}, label), h('dd', id ? { id } : {}, value));
    clear(summaryCard,
      h('h2', {}, t('case.summary')),
      h('dl', { class: 'kv-grid' },
        row(t('case.category'), `${category} (${d.category})`, 'case-category'),
        row(t('case.status'), label('status', d.status)),
        row(t('case.urgency'), label('urgency', d.urgency)),
        row(t('case.channel'), label('channel', d.channel)),
        row(t('case.area'), area),
        row(t('case.address'), d.address),
        row(t('case.reporter'), d.reporter_contact),
        row(t('case.routed'), routed),
        row(t('case.lead'), lead),
        row(t('case.units'), units.join('、')),
        row(t('case.created'), fullTime(d.created_at)),
        row(t('case.updated'), fullTime(d.updated_at)),
        d.parent ? row(t('case.parent'), h('a', { href: `#/cases/${d.parent}` }, `#${d.parent}`)) : null),
      d.near_boundary ? h('p', { class: 'warn-line' }, t('case.nearBoundary')) : null,
      h('div', { class: 'description', id: 'case-description' }, d.description),
      d.attributes && Object.keys(d.attributes).length
        ? h('dl', { class: 'kv-grid attrs' }, Object.entries(d.attributes).map(([k, v]) => row(k, Array.isArray(v) ? v.join(', ') : String(v))))
        : null);
  }

  // ---- SLA clock --------------------------------------------------------------
  function renderClock(): void {
    window.clearInterval(clockTimer);
    const d = detail!;
    const clocks = [...d.clocks].sort((a, b) => a.due_at.localeCompare(b.due_at));
    if (!clocks.length) {
      clear(clockCard, h('h2', {}, t('case.clock')), h('p', { class: 'muted' }, t('case.noClock')));
      return;
    }
    const items = clocks.map((clock) => {
      const remaining = h('div', { class: 'clock-remaining', 'data-stage': clock.stage });
      const fraction = Math.max(0, Math.min(1, clock.elapsed_fraction ?? 0));
      const element = h('div', { class: `clock clock-${clock.light}`, 'data-stage': clock.stage, 'data-light': clock.light },
        h('div', { class: 'clock-head' }, lightDot(clock.light), h('b', {}, label('stage', clock.stage)), clock.paused ? h('span', { class: 'tag' }, t('case.paused')) : null),
        remaining,
        h('div', { class: 'bar' }, h('span', { style: `width:${(fraction * 100).toFixed(1)}%` })),
        h('div', { class: 'clock-foot muted' },
          h('span', {}, `${t('case.warnAt')} ${shortTime(clock.warn_at)}`),
          h('span', {}, `${t('case.dueAt')} ${shortTime(clock.due_at)}`),
          clock.elapsed_fraction !== null && clock.elapsed_fraction !== undefined ? h('span', {}, t('case.elapsed', { p: Math.round(clock.elapsed_fraction * 100) })) : null));
      return { clock, remaining, element };
    });
    const paint = () => {
      for (const { clock, remaining } of items) paintRemaining(clock, remaining);
    };
    paint();
    clockTimer = window.setInterval(paint, CLOCK_TICK_MS);
    clear(clockCard, h('h2', {}, t('case.clock')), items.map((i) => i.element));
  }

  function paintRemaining(clock: ClockDto, element: HTMLElement): void {
    if (clock.paused) {
      element.textContent = t('case.paused');
      return;
    }
    // Natural time to the due instant; the server's working-time fraction is on the bar.
    const left = new Date(clock.due_at).getTime() - Date.now();
    element.textContent = left >= 0 ? t('case.remaining', { d: duration(left) }) : t('case.overdueBy', { d: duration(-left) });
    element.classList.toggle('overdue', left < 0);
  }

  // ---- actions ----------------------------------------------------------------
  function renderActions(): void {
    const d = detail!;
    const allowed = d.allowed_actions.filter((a) => ACTION_FIELDS[a]);
    if (!allowed.length) {
      clear(actionsCard, h('h2', {}, t('case.actions')), h('p', { class: 'muted', id: 'no-actions' }, t('case.noActions')));
      return;
    }
    if (!selectedAction || !allowed.includes(selectedAction)) {
      selectedAction = allowed.find((a) => !SECONDARY_ACTIONS.has(a)) ?? allowed[0];
    }
    const formBox = h('div', { class: 'action-form-box' });
    const buttons = allowed.map((action) =>
      h('button', {
        type: 'button',
        class: [action === selectedAction ? 'action-tab active' : 'action-tab', SECONDARY_ACTIONS.has(action) ? 'secondary' : 'primary'].join(' '),
        'data-action': action,
        onclick: () => {
          selectedAction = action;
          formDirty = false;
          renderActions();
        },
      }, label('action', action)));
    clear(actionsCard, h('h2', {}, t('case.actions')), h('div', { class: 'action-tabs', id: 'action-tabs' }, buttons), formBox);
    formBox.append(actionForm(selectedAction));
  }

  function departmentOptions(select: HTMLSelectElement, selected: string[]): void {
    const d = detail!;
    const all = [...departments.values()];
    const local = all.filter((dep) => dep.areas.some((a) => d.area_path.includes(a)) && dep.kind !== 'operations_centre');
    const others = all.filter((dep) => !local.includes(dep));
    const option = (dep: DepartmentDto) => h('option', { value: dep.id, selected: selected.includes(dep.id) }, dep.name);
    select.append(
      h('optgroup', { label: t('form.sameUnit') }, local.map(option)),
      h('optgroup', { label: t('form.otherUnits') }, others.map(option)));
  }

  function actionForm(action: string): HTMLElement {
    const d = detail!;
    const fields = ACTION_FIELDS[action];
    const inputs = new Map<string, () => unknown>();
    const errorSlots = new Map<string, HTMLElement>();
    const general = h('p', { class: 'form-error', role: 'alert', hidden: true, id: 'action-error' });
    const submit = h('button', { type: 'submit', class: DANGEROUS_ACTIONS.has(action) ? 'btn btn-danger' : 'btn btn-primary', id: 'action-submit', 'data-action': action }, `${t('common.submit')}：${label('action', action)}`);
    const form = h('form', { class: 'action-form', id: `form-${action}`, 'data-action': action, novalidate: true });
    const rows: HTMLElement[] = [];

    const slot = (name: string) => {
      const element = h('div', { class: 'field-error', 'data-error-for': name, role: 'alert', hidden: true });
      errorSlots.set(name, element);
      return element;
    };
    const labelled = (field: Field, control: HTMLElement, extra: HTMLElement | null = null) =>
      h('div', { class: 'field', 'data-field': field.name },
        h('label', { for: `f-${action}-${field.name}` }, t(`field.${field.name}`), requiredMark(field)),
        control, extra, slot(field.name));

    for (const field of fields) {
      const fid = `f-${action}-${field.name}`;
      switch (field.kind) {
        case 'text': {
          const area = h('textarea', { id: fid, name: field.name, rows: 3, maxlength: TEXT_CHARS_MAX + 200 });
          area.addEventListener('input', () => (formDirty = true));
          inputs.set(field.name, () => area.value);
          rows.push(labelled(field, area));
          break;
        }
        case 'check': {
          const box = h('input', { type: 'checkbox', id: fid, name: field.name, checked: true });
          inputs.set(field.name, () => box.checked);
          rows.push(h('div', { class: 'field field-check', 'data-field': field.name }, h('label', { for: fid }, box, t(`field.${field.name}`)), slot(field.name)));
          break;
        }
        case 'bool': {
          const name = `${action}-${field.name}`;
          const yes = h('input', { type: 'radio', name, value: 'true', id: `${fid}-true` });
          const no = h('input', { type: 'radio', name, value: 'false', id: `${fid}-false` });
          inputs.set(field.name, () => (yes.checked ? true : no.checked ? false : undefined));
          const label = (value: 'true' | 'false') => {
            const key = `field.${field.name}.${value}`;
            const text = t(key);
            return text === key ? t(value === 'true' ? 'common.yes' : 'common.no') : text;
          };
          rows.push(h('div', { class: 'field', 'data-field': field.name },
            h('span', { class: 'label' }, t(`field.${field.name}`), requiredMark(field)),
            h('div', { class: 'radio-row' }, h('label', { for: `${fid}-true` }, yes, label('true')), h('label', { for: `${fid}-false` }, no, label('false'))),
            slot(field.name)));
          break;
        }
        case 'optionalBool': {
          const select = h('select', { id: fid, name: field.name },
            h('option', { value: '' }, t('field.reasonable.unset')),
            h('option', { value: 'true' }, t('field.reasonable.true')),
            h('option', { value: 'false' }, t('field.reasonable.false')));
          inputs.set(field.name, () => (select.value === '' ? undefined : select.value === 'true'));
          rows.push(labelled(field, select));
          break;
        }
        case 'enum': {
          const select = h('select', { id: fid, name: field.name },
            h('option', { value: '' }, t('form.pickOne')),
            field.options.map((o) => h('option', { value: o }, t(`${field.labelPrefix}.${o}`))));
          inputs.set(field.name, () => select.value || undefined);
          rows.push(labelled(field, select));
          break;
        }
        case 'department': {
          const select = h('select', { id: fid, name: field.name }, h('option', { value: '' }, t('form.pickOne')));
          // The responsibility list's answer is the suggestion, when there is one.
          const suggested = field.name === 'lead' || field.name === 'responsible' ? d.routed_department : null;
          departmentOptions(select, suggested ? [suggested] : []);
          inputs.set(field.name, () => select.value || undefined);
          rows.push(labelled(field, select));
          break;
        }
        case 'departments': {
          const select = h('select', { id: fid, name: field.name, multiple: true, size: 6 });
          departmentOptions(select, d.routed_department ? [d.routed_department] : []);
          inputs.set(field.name, () => [...select.selectedOptions].map((o) => o.value));
          rows.push(labelled(field, select));
          break;
        }
        case 'int': {
          const input = h('input', { type: 'number', id: fid, name: field.name, min: field.min, max: field.max === Number.MAX_SAFE_INTEGER ? undefined : field.max, step: 1, inputmode: 'numeric' });
          inputs.set(field.name, () => (input.value === '' ? undefined : Number(input.value)));
          rows.push(labelled(field, input));
          break;
        }
        case 'photos': {
          const input = h('input', { type: 'file', id: fid, name: field.name, accept: 'image/jpeg,image/png,image/webp', multiple: true });
          inputs.set(field.name, () => [...(input.files ?? [])]);
          rows.push(labelled(field, input, h('small', { class: 'muted' }, t('form.photos'))));
          break;
        }
      }
    }
    form.append(...rows, general, h('div', { class: 'form-actions' }, submit));

    const showErrors = (errors: Record<string, string>) => {
      for (const [name, element] of errorSlots) {
        const message = errors[name];
        element.hidden = !message;
        element.textContent = message ?? '';
        element.closest('.field')?.classList.toggle('invalid', Boolean(message));
      }
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      general.hidden = true;
      const values: Values = {};
      for (const [name, read] of inputs) values[name] = read();
      const errors = validate(action, values, user.role === 'citizen');
      showErrors(errors);
      if (Object.keys(errors).length) {
        form.dataset.state = 'invalid';
        return;
      }
      submit.disabled = true;
      form.dataset.state = 'sending';
      try {
        const payload = body(action, values);
        const photos = (values.evidence as File[] | undefined) ?? [];
        if (action === 'reply' && photos.length) {
          const uploaded = await api.uploadMedia(d.id, photos);
          payload.evidence = uploaded.map((u) => u.reference);
        }
        await api.act(d.id, action, payload);
        form.dataset.state = 'done';
        formDirty = false;
        selectedAction = null;
        showToast(t('case.done', { action: label('action', action) }));
        await load();
      } catch (error) {
        form.dataset.state = 'error';
        if (error instanceof ApiError) {
          // The problem names the field: show it there; else above the button.
          const field = error.field?.replace(/\[\d+\]$/, '') ?? '';
          if (field && errorSlots.has(field)) showErrors({ [field]: error.detail });
          else {
            general.textContent = `${error.status} · ${error.detail}`;
            general.hidden = false;
          }
        } else {
          general.textContent = String(error);
          general.hidden = false;
        }
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function requiredMark(field: Field): HTMLElement | null {
    const required = field.kind === 'text' ? field.required === true : !['check', 'optionalBool', 'photos'].includes(field.kind);
    return required ? h('span', { class: 'req', title: t('form.required') }, ' *') : null;
  }

  // ---- timeline ---------------------------------------------------------------
  function renderTimeline(): void {
    const d = detail!;
    const entries = [...d.history].sort((a, b) => b.seq - a.seq);
    clear(timelineCard, h('h2', {}, t('case.timeline'), h('span', { class: 'muted small' }, ` (${entries.length})`)),
      h('ol', { class: 'timeline', id: 'timeline' }, entries.map(entry)));
  }

  function entry(e: HistoryEntry): HTMLElement {
    const data = e.data ?? {};
    const details: (HTMLElement | string)[] = [];
    const text = (key: string) => (typeof data[key] === 'string' && data[key] ? String(data[key]) : null);
    for (const key of ['note', 'reason', 'text', 'comment']) {
      const value = text(key);
      if (value) details.push(h('div', { class: 'tl-note' }, value));
    }
    const dept = (idValue: unknown) => departments.get(String(idValue))?.name ?? String(idValue);
    if (Array.isArray(data.units)) details.push(h('div', {}, `${t('case.units')}：${(data.units as string[]).map(dept).join('、')}`));
    if (data.lead) details.push(h('div', {}, `${t('case.lead')}：${dept(data.lead)}`));
    for (const key of ['to', 'responsible']) if (data[key]) details.push(h('div', {}, `${t(`field.${key}`)}：${dept(data[key])}`));
    if (typeof data.reason_code === 'string') details.push(h('div', {}, label('return', data.reason_code)));
    if (typeof data.approve === 'boolean') details.push(h('div', {}, t(`field.approve.${data.approve}`)));
    if (typeof data.approved === 'boolean') details.push(h('div', {}, t(`field.approve.${data.approved}`)));
    if (typeof data.passed === 'boolean') details.push(h('div', {}, t(`field.passed.${data.passed}`)));
    if (typeof data.level === 'string') details.push(h('div', {}, label('rating', data.level)));
    if (typeof data.reasonable === 'boolean') details.push(h('div', {}, t(`field.reasonable.${data.reasonable}`)));
    if (data.closing && typeof data.closing === 'object') details.push(h('div', {}, label('closing', (data.closing as { kind: string }).kind)));
    if (typeof data.minutes === 'number') details.push(h('div', {}, `${t('field.minutes')}：${data.minutes}`));
    if (typeof data.stage === 'string') details.push(h('div', {}, label('stage', data.stage)));
    if (Array.isArray(data.evidence) && data.evidence.length) details.push(h('div', { class: 'muted' }, `${t('field.evidence')}：${data.evidence.length}`));
    if (Array.isArray(data.clocks) && data.clocks.length) {
      details.push(h('div', { class: 'tl-clocks muted' }, (data.clocks as { stage: string; due_at: string; limit: string }[]).map((c) =>
        h('span', { class: 'tag' }, `${label('stage', c.stage)} ${c.limit} → ${shortTime(c.due_at)}`))));
    }
    const actor = [e.actor_role ? label('role', e.actor_role) : null, e.actor_department ? departments.get(e.actor_department)?.name ?? e.actor_department : null].filter(Boolean).join(' · ');
    return h('li', { class: `tl tl-${e.kind}`, 'data-kind': e.kind, 'data-seq': e.seq },
      h('div', { class: 'tl-head' }, h('b', {}, label('event', e.kind)), h('time', { datetime: e.at }, fullTime(e.at))),
      actor ? h('div', { class: 'tl-actor muted' }, actor) : null,
      details);
  }

  // ---- map and photos -----------------------------------------------------------
  let mapFor = '';
  function renderMap(): void {
    const d = detail!;
    // The place rarely changes: keep the map (and its WebGL context) when it did not.
    const key = `${d.lon},${d.lat}`;
    if (miniMap && key === mapFor) {
      const pin = mapCard.querySelector<HTMLElement>('.case-pin');
      if (pin) pin.dataset.light = d.light ?? 'none';
      return;
    }
    mapFor = key;
    if (typeof d.lon !== 'number' || typeof d.lat !== 'number') {
      clear(mapCard, h('h2', {}, t('case.map')), h('p', { class: 'muted' }, d.address ?? '—'));
      return;
    }
    const box = h('div', { class: 'mini-map', id: 'case-mini-map' });
    clear(mapCard, h('h2', {}, t('case.map')), box, h('div', { class: 'muted small' }, `${d.lon.toFixed(5)}, ${d.lat.toFixed(5)}`));
    miniMap?.remove();
    miniMap = null;
    if (!webglAvailable()) {
      box.textContent = t('notice.webgl');
      return;
    }
    const map = new maplibregl.Map({
      container: box,
      style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#e8eef5' } }] },
      center: [d.lon, d.lat],
      zoom: 12.5,
      attributionControl: false,
      dragRotate: false,
      fadeDuration: 0,
    });
    miniMap = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    const district = d.area_path[1];
    map.on('load', async () => {
      if (district) {
        try {
          const shape = await get<GeoJSON.Feature>(`/api/v1/areas/${district}/shape`);
          if (miniMap !== map) return;
          map.addSource('district', { type: 'geojson', data: shape });
          map.addLayer({ id: 'district-fill', type: 'fill', source: 'district', paint: { 'fill-color': '#c7d7ea', 'fill-opacity': 0.6 } });
          map.addLayer({ id: 'district-line', type: 'line', source: 'district', paint: { 'line-color': '#3b6ea5', 'line-width': 1.5 } });
        } catch {
          // The point alone still says where.
        }
      }
      const element = h('div', { class: 'case-pin', 'data-light': d.light ?? 'none' });
      new maplibregl.Marker({ element }).setLngLat([d.lon!, d.lat!]).addTo(map);
    });
  }

  function renderMedia(): void {
    const d = detail!;
    for (const url of blobUrls.splice(0)) URL.revokeObjectURL(url);
    if (!d.media.length) {
      clear(mediaCard, h('h2', {}, t('case.media')), h('p', { class: 'muted' }, t('case.noMedia')));
      return;
    }
    const grid = h('div', { class: 'thumbs', id: 'case-thumbs' });
    clear(mediaCard, h('h2', {}, t('case.media'), h('span', { class: 'muted small' }, ` (${d.media.length})`)), grid);
    for (const media of d.media) {
      const img = h('img', { alt: media.id, loading: 'lazy', 'data-media': media.id });
      const link = h('a', { href: '#', class: media.public ? 'thumb' : 'thumb evidence', title: media.public ? '' : t('field.evidence') }, img);
      grid.append(link);
      // Photos need the bearer token, which an <img> cannot send: fetch, then show the blob.
      const url = media.url ?? `/api/v1/cases/${d.id}/media/${media.id}`;
      void fetch(url, { headers: { authorization: `Bearer ${session()?.token ?? ''}` } })
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
        .then((blob) => {
          const objectUrl = URL.createObjectURL(blob);
          blobUrls.push(objectUrl);
          img.src = objectUrl;
          link.addEventListener('click', (event) => {
            event.preventDefault();
            const overlay = h('div', { class: 'lightbox', onclick: () => overlay.remove() }, h('img', { src: objectUrl, alt: media.id }));
            document.body.append(overlay);
          });
        })
        .catch(() => link.classList.add('broken'));
    }
  }

  // ---- live -------------------------------------------------------------------
  const unsubscribe = subscribe({
    case: (item) => {
      if (String(item.id) !== id || !detail || item.version <= detail.version) return;
      if (formDirty) {
        notice.show('changed', t('case.refreshed'), 'info');
        return;
      }
      void load();
    },
    resync: () => {
      if (!formDirty) void load();
    },
  });

  try {
    await load();
  } catch (error) {
    notice.show('error', `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
  }

  return () => {
    unsubscribe();
    header.dispose();
    window.clearInterval(clockTimer);
    window.clearTimeout(toastTimer);
    miniMap?.remove();
    for (const url of blobUrls) URL.revokeObjectURL(url);
  };
}
