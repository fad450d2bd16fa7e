// The command dashboard (态势感知 / 指挥中心): a topic switcher, the
// situation map in the centre, indicator panels left and right, charts
// below, and a live ticker. What it shows is configured by the topic (专题)
// from /api/v1/dashboard/topics; the heavy numbers come aggregated from
// /api/v1/dashboard/summary so the screen stays fast with 100,000 cases.
//
// Built for a 1920×1080 wall and still usable on a 1366×768 laptop. It
// records `performance.mark('cityloop:first-paint')` when the districts and
// the first panels have drawn, and 'cityloop:summary' when the case layers
// have.

import { ApiError, get, query } from '../api';
import { clockTime, clear, duration, h, shortTime } from '../format';
import { localName, t, tOr, label } from '../i18n';
import { subscribe } from '../live';
import { areaName, areaNameNow, categoryName, loadCategories, loadDepartments, loadDistricts } from '../lookup';
import { navigate } from '../nav';
import { liveBadge, notices, userMenu } from '../shell';
import type { AlarmDto, CaseDto, DatastreamDto, Indicator, MetricsRow, Summary, Topic, TopicsResponse, VitalSigns } from '../types';
import type { EChartsCoreOption } from 'echarts/core';
import { DENSITY_STOPS, LAYER_IDS, SituationMap, TAG_COLOURS, webglAvailable, type LayerId } from '../dashboard/map';
import { LIGHT_COLOURS } from '../format';

/** Used only when the server has no topics endpoint: everything, unfiltered. */
const DEFAULT_TOPIC: Topic = {
  id: 'overview',
  name: { zh: '综合态势', en: 'Overview' },
  filters: {},
  layers: ['districts', 'cases', 'hexes', 'alarms', 'area_tags'],
  indicators: ['air_quality', 'sensors_online', 'alarms_critical', 'alarms_major', 'cases_open', 'cases_overdue'],
  charts: ['by_category', 'trend', 'by_status', 'rates_by_department', 'rates_by_street', 'overdue'],
};

/** Indicator ids a topic may use for the vital signs' names. */
const INDICATOR_ALIASES: Record<string, string> = { open_cases: 'cases_open', overdue_cases: 'cases_overdue' };

/** The rates shown as 三率 plus 按期结案率. */
const RATES = ['response_rate', 'resolution_rate', 'satisfaction_rate', 'on_time_closing_rate'];

const SUMMARY_REFRESH_MS = 60_000;
const SUMMARY_AFTER_EVENT_MS = 15_000;
const VITALS_REFRESH_MS = 60_000;
const METRICS_REFRESH_MS = 300_000;
const FALLBACK_POINTS_MAX = 1000;
const TICKER_ROWS_MAX = 60;

type Missing = 'topics' | 'summary' | 'area-tags';

export async function renderDashboard(root: HTMLElement, params: Record<string, string>): Promise<() => void> {
  performance.clearMarks('cityloop:first-paint');
  performance.clearMarks('cityloop:summary');
  performance.clearMarks('cityloop:case-layers-idle');
  performance.mark('cityloop:dashboard-start');
  // The first requests go out before anything is built: the map's WebGL
  // set-up is the slowest step and runs while they travel. index.html may
  // have sent the public ones already.
  const early = (window as { cityloopEarly?: { shapes?: Promise<GeoJSON.FeatureCollection>; vitals?: Promise<VitalSigns> } }).cityloopEarly;
  delete (window as { cityloopEarly?: unknown }).cityloopEarly;
  const shapesLoad = early?.shapes ?? get<GeoJSON.FeatureCollection>('/api/v1/areas/shapes?level=district');
  const vitalsLoad = early?.vitals ?? get<VitalSigns>('/api/v1/vital-signs');
  document.body.className = 'theme-dark page-dashboard';
  const days = Math.min(365, Math.max(1, Number(params.days) || 30));
  const disposers: (() => void)[] = [];
  const timers: number[] = [];
  const missing = new Set<Missing>();

  // ---- loading -----------------------------------------------------------
  const whenMissing = async <T>(what: Missing, load: () => Promise<T>): Promise<T | null> => {
    try {
      const value = await load();
      missing.delete(what);
      return value;
    } catch (error) {
      if (error instanceof ApiError && error.missingEndpoint) {
        missing.add(what);
        return null;
      }
      throw error;
    }
  };

  const topicsLoad = whenMissing('topics', () => get<TopicsResponse>('/api/v1/dashboard/topics'));
  void loadCategories().catch(() => undefined);
  void loadDepartments().catch(() => undefined);
  void loadDistricts();


  // ---- layout ------------------------------------------------------------
  /** The statistics period; changing it re-draws the screen for the new period. */
  function periodSelect(): HTMLElement {
    const select = h('select', { class: 'period-select', id: 'period', 'aria-label': t('dash.period', { days }) },
      [7, 30, 90, 365].map((n) => h('option', { value: n, selected: n === days }, t('dash.period', { days: n }))));
    if (![7, 30, 90, 365].includes(days)) select.prepend(h('option', { value: days, selected: true }, t('dash.period', { days })));
    select.addEventListener('change', () => {
      navigate(`#/dashboard${query({ topic: document.body.dataset.topic, days: select.value })}`);
    });
    return select;
  }

  const topicTabs = h('nav', { class: 'topic-tabs', id: 'topics', 'aria-label': t('dash.topic') });
  const clock = h('div', { class: 'dash-clock', id: 'dash-clock' }, clockTime(new Date()));
  const live = liveBadge();
  disposers.push(live.dispose);
  const notice = notices();
  /** Missing server endpoints, said in one line so the screen keeps its room. */
  const missingEndpoints = new Map<string, string>();
  const showMissing = (path: string, what: string | null) => {
    if (what === null) missingEndpoints.delete(path);
    else missingEndpoints.set(path, what);
    if (!missingEndpoints.size) notice.hide('missing');
    else notice.show('missing', t('notice.missingMany', { list: [...missingEndpoints].map(([p, w]) => `${p}（${w}）`).join(' · ') }));
  };
  const header = h(
    'header',
    { class: 'dash-header' },
    h('div', { class: 'dash-brand' }, h('span', { class: 'brand-mark' }, 'CL'), h('div', {}, h('h1', {}, `${t('app.title')} · ${t('app.dashboard')}`), h('p', {}, periodSelect()))),
    topicTabs,
    h('div', { class: 'dash-tools' }, clock, live.element, h('a', { class: 'btn btn-ghost', href: '#/queue', id: 'nav-queue' }, t('app.workbench')), h('a', { class: 'btn btn-ghost', href: '#/data', id: 'nav-data' }, t('app.data')), userMenu(() => navigate(location.hash))),
  );
  const panel = (id: string, title: string, extra: HTMLElement | null = null) => {
    const body = h('div', { class: 'panel-body', id });
    const titleEl = h('h2', {}, title);
    const element = h('section', { class: 'panel', 'data-panel': id }, h('div', { class: 'panel-head' }, titleEl, extra), body);
    return { element, body, titleEl };
  };
  const vitals = panel('vitals', t('dash.vitals'));
  const ratesDept = panel('rates-department', t('dash.ratesDept'));
  const streetToggle = h('div', { class: 'seg', role: 'group' },
    h('button', { type: 'button', 'data-group': 'street', class: 'active' }, t('dash.byStreet')),
    h('button', { type: 'button', 'data-group': 'district' }, t('dash.byDistrict')));
  const ratesStreet = panel('rates-street', t('dash.ratesStreet'), streetToggle);
  const overdue = panel('overdue', t('dash.overdue'));
  const ticker = panel('ticker', t('dash.ticker'));
  const byCategory = panel('chart-category', t('dash.byCategory'));
  const trend = panel('chart-trend', t('dash.trend', { days }));
  const byStatus = panel('chart-status', t('dash.byStatus'));
  const sensorSeries = panel('chart-sensors', 'PM2.5');
  const tickerList = h('ol', { class: 'ticker', id: 'ticker-list' });
  ticker.body.append(tickerList);

  const mapBox = h('div', { class: 'map', id: 'map', 'data-districts': '0', 'data-points': '0' });
  const layerBox = h('div', { class: 'map-layers', id: 'layers' });
  const legendBox = h('div', { class: 'map-legend', id: 'legend' });
  const mapStat = h('div', { class: 'map-stat', id: 'map-stat' });
  const hoverBox = h('div', { class: 'map-hover', hidden: true });
  const mapSection = h('section', { class: 'dash-map' }, mapBox, layerBox, legendBox, mapStat, hoverBox);
  const left = h('aside', { class: 'dash-left' }, vitals.element, ratesDept.element);
  const right = h('aside', { class: 'dash-right' }, ratesStreet.element, overdue.element, ticker.element);
  const bottom = h('section', { class: 'dash-bottom' }, byCategory.element, trend.element, byStatus.element, sensorSeries.element);
  root.append(h('div', { class: 'dash' }, header, notice.element, left, mapSection, bottom, right));
  timers.push(window.setInterval(() => (clock.textContent = clockTime(new Date())), 1000));

  const placeholder = (body: HTMLElement, text: string) => clear(body, h('div', { class: 'placeholder' }, text));
  for (const p of [vitals, ratesDept, ratesStreet, overdue, byCategory, trend, byStatus, sensorSeries]) placeholder(p.body, t('common.loading'));

  // ---- state -------------------------------------------------------------
  let topics: TopicsResponse = { topics: [DEFAULT_TOPIC] };
  let topic: Topic = DEFAULT_TOPIC;
  let vitalSigns: VitalSigns | null = null;
  let summary: Summary | null = null;
  const points = new Map<number, GeoJSON.Feature>();
  let datastreams = new Map<number, DatastreamDto>();
  let alarms = new Map<number, AlarmDto>();
  let streetShapes: GeoJSON.FeatureCollection | null = null;
  let areaTags: GeoJSON.FeatureCollection | null = null;
  const visible = new Map<LayerId, boolean>();
  // ECharts is loaded after the first paint's code: the charts draw once it is there.
  let releaseCharts: () => void = () => {};
  const chartsModule = new Promise<void>((resolve) => (releaseCharts = resolve)).then(() => import('../dashboard/charts'));
  const charts: LazyChart[] = [];
  const chart = (element: HTMLElement) => {
    const made = new LazyChart(element, chartsModule);
    charts.push(made);
    return made;
  };

  // ---- the map -----------------------------------------------------------
  let situation: SituationMap | null = null;
  if (webglAvailable()) {
    situation = new SituationMap({
      container: mapBox,
      onCaseClick: (id) => navigate(`#/cases/${id}`),
      onDistrictHover: (code, name, point) => showDistrict(code, name, point),
    });
  } else {
    notice.show('webgl', t('notice.webgl'), 'error');
  }

  function showDistrict(code: string | null, name: string | null, point: { x: number; y: number } | null): void {
    if (!code || !point) {
      hoverBox.hidden = true;
      return;
    }
    const signs = vitalSigns?.areas.find((a) => a.code === code);
    clear(hoverBox,
      h('strong', {}, name ?? code),
      ...(signs?.indicators ?? []).filter((i) => ['cases_open', 'cases_overdue', 'air_quality'].includes(i.name)).map((i) =>
        h('div', { class: 'hover-row' }, h('span', {}, indicatorLabel(i)), h('b', { class: `status-${i.status}` }, indicatorValue(i)))));
    hoverBox.hidden = false;
    hoverBox.style.left = `${point.x + 14}px`;
    hoverBox.style.top = `${point.y + 14}px`;
  }

  // First paint: districts on the map and the vital signs panel.
  const firstPaint = (async () => {
    const [shapes, signs] = await Promise.all([
      shapesLoad.then((x) => (performance.mark('cityloop:shapes-loaded'), x)),
      vitalsLoad.catch(() => null),
      situation?.ready.then(() => performance.mark('cityloop:map-ready')),
    ]);
    vitalSigns = signs;
    renderVitals();
    if (situation) {
      situation.setDistricts(shapes);
      performance.mark('cityloop:districts-set');
      await new Promise<void>((resolve) => situation!.map.once('idle', () => resolve()));
      performance.mark('cityloop:map-idle');
      mapBox.dataset.districts = String(situation.renderedDistricts());
    } else {
      mapBox.dataset.districts = String(new Set(shapes.features.map((f: GeoJSON.Feature) => f.properties?.code)).size);
    }
    await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
    performance.mark('cityloop:first-paint');
    const measure = performance.measure('cityloop:first-paint-since-start', 'cityloop:dashboard-start', 'cityloop:first-paint');
    document.body.dataset.firstPaintMs = String(Math.round(performance.getEntriesByName('cityloop:first-paint')[0].startTime));
    document.body.dataset.firstPaintSinceStartMs = String(Math.round(measure.duration));
  })();
  firstPaint.catch((error) => notice.show('shapes', `${t('common.error')}: ${String(error)}`, 'error')).finally(() => releaseCharts());

  const topicsAnswer = await topicsLoad.catch(() => null);
  if (topicsAnswer && topicsAnswer.topics?.length) {
    topics = topicsAnswer;
  } else if (missing.has('topics')) {
    showMissing('/api/v1/dashboard/topics', t('notice.missing.topics'));
  }
  situation?.ready.then(() => situation!.setBasemap(topics.basemap));
  topic = topics.topics.find((x) => x.id === params.topic) ?? topics.topics[0];

  function renderTopicTabs(): void {
    clear(topicTabs, topics.topics.map((x) =>
      h('button', {
        type: 'button',
        class: x.id === topic.id ? 'topic active' : 'topic',
        'data-topic': x.id,
        'aria-pressed': String(x.id === topic.id),
        onclick: () => {
          if (x.id === topic.id) return;
          // The topic is in the URL so a wall screen can be pointed at one.
          history.replaceState(null, '', `#/dashboard${query({ topic: x.id, days: params.days })}`);
          topic = x;
          void applyTopic();
        },
      }, localName(x.name))));
  }

  // ---- indicators ----------------------------------------------------------
  function indicatorLabel(indicator: Indicator): string {
    return tOr(`ind.${indicator.name}`, indicator.label);
  }

  function indicatorValue(indicator: Indicator): string {
    if (indicator.value === null || indicator.value === undefined) return '—';
    const value = Number.isInteger(indicator.value) ? String(indicator.value) : indicator.value.toFixed(1);
    if (indicator.unit === '%') return `${value}%`;
    const unit = t(`unit.${indicator.unit}`);
    return unit === `unit.${indicator.unit}` ? `${value} ${indicator.unit}` : `${value}${unit ? ` ${unit}` : ''}`;
  }

  function renderVitals(): void {
    const city = vitalSigns?.areas[0];
    if (!city) {
      placeholder(vitals.body, t('common.error'));
      return;
    }
    const wanted = topic.indicators.length ? topic.indicators : city.indicators.map((i) => i.name);
    const cards = wanted.map((id) => {
      const indicator = city.indicators.find((i) => i.name === (INDICATOR_ALIASES[id] ?? id));
      if (!indicator) {
        return h('div', { class: 'indicator status-grey', 'data-indicator': id }, h('div', { class: 'ind-label' }, id), h('div', { class: 'ind-value' }, '—'), h('div', { class: 'ind-note' }, t('ind.unknown')));
      }
      return h('div', { class: `indicator status-${indicator.status}`, 'data-indicator': id, title: indicator.thresholds },
        h('div', { class: 'ind-label' }, indicatorLabel(indicator)),
        h('div', { class: 'ind-value' }, indicatorValue(indicator)),
        h('div', { class: 'ind-note' }, indicator.note ?? ''));
    });
    clear(vitals.body, h('div', { class: 'indicators' }, cards), h('div', { class: 'panel-foot' }, t('common.updated', { t: shortTime(vitalSigns!.at) })));
  }

  // ---- rates -----------------------------------------------------------------
  const periodTo = () => new Date();
  const periodFrom = () => new Date(Date.now() - days * 86_400_000);
  let metricsCache = new Map<string, MetricsRow[] | 'forbidden'>();
  let streetGroup: 'street' | 'district' = 'street';
  const deptChart = chart(h('div', { class: 'chart' }));
  ratesDept.body.replaceChildren(deptChart.element);
  const streetChart = chart(h('div', { class: 'chart' }));

  async function metrics(groupBy: string): Promise<MetricsRow[] | 'forbidden'> {
    const cached = metricsCache.get(groupBy);
    if (cached) return cached;
    try {
      const rows = await get<MetricsRow[]>(`/api/v1/metrics/cases${query({ group_by: groupBy, from: periodFrom().toISOString(), to: periodTo().toISOString() })}`);
      metricsCache.set(groupBy, rows);
      return rows;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        metricsCache.set(groupBy, 'forbidden');
        return 'forbidden';
      }
      throw error;
    }
  }

  async function groupName(groupBy: string, group: string): Promise<string> {
    if (groupBy === 'department') return (await loadDepartments().catch(() => new Map())).get(group)?.name?.replace(/（演示）$/, '') ?? group;
    return areaNameNow(group);
  }

  async function drawRates(target: LazyChart, body: HTMLElement, groupBy: string): Promise<void> {
    const rows = await metrics(groupBy);
    if (rows === 'forbidden') {
      placeholder(body, t('notice.forbidden.metrics'));
      return;
    }
    if (!body.contains(target.element)) body.replaceChildren(target.element);
    // The groups with the most cases, at most ten; the buckets without a
    // group (e.g. "(no street)") are left out of a ranking.
    const ranked = rows.filter((r) => !r.group.startsWith('(') && r.group !== 'unrouted').sort((a, b) => b.cases - a.cases).slice(0, 10);
    if (!ranked.length) {
      placeholder(body, t('common.none'));
      return;
    }
    if (groupBy !== 'department') await Promise.all(ranked.map((r) => areaName(r.group)));
    const names = await Promise.all(ranked.map((r) => groupName(groupBy, r.group)));
    await target.set((m) => m.ratesOption(names, RATES.map((key) => ({ name: t(`rate.${key}`), values: ranked.map((r) => r.rates[key]?.value ?? null) }))));
  }

  async function drawStreetRates(): Promise<void> {
    if (streetGroup === 'street') {
      const rows = await metrics('street');
      if (rows !== 'forbidden' && rows.length && rows.every((r) => r.group.startsWith('('))) {
        // No case is located to a street yet: say so and rank districts.
        streetGroup = 'district';
        notice.show('no-street', t('dash.noStreet'), 'info');
      }
    }
    for (const button of streetToggle.querySelectorAll('button')) button.classList.toggle('active', button.dataset.group === streetGroup);
    ratesStreet.titleEl.textContent = streetGroup === 'street' ? t('dash.ratesStreet') : t('dash.ratesDistrict');
    await drawRates(streetChart, ratesStreet.body, streetGroup);
  }
  streetToggle.addEventListener('click', (event) => {
    const group = (event.target as HTMLElement).closest('button')?.dataset.group;
    if (group === 'street' || group === 'district') {
      streetGroup = group;
      notice.hide('no-street');
      void drawStreetRates().catch(reportError);
    }
  });

  function reportError(error: unknown): void {
    notice.show('error', `${t('common.error')}: ${error instanceof ApiError ? error.detail : String(error)}`, 'error');
  }

  // ---- summary: points, density, charts, overdue ---------------------------
  const categoryChart = chart(h('div', { class: 'chart' }));
  const trendChart = chart(h('div', { class: 'chart' }));
  const statusChart = chart(h('div', { class: 'chart' }));
  const sensorChart = chart(h('div', { class: 'chart' }));

  function matchesTopic(item: { category: string; channel?: string }): boolean {
    const categories = topic.filters?.categories ?? [];
    const channels = topic.filters?.channels ?? [];
    if (categories.length && !categories.includes(item.category)) return false;
    if (channels.length && item.channel && !channels.includes(item.channel)) return false;
    return true;
  }

  function pointFeature(p: { id: number; lon?: number | null; lat?: number | null; light?: string | null; status: string; category: string }): GeoJSON.Feature | null {
    if (typeof p.lon !== 'number' || typeof p.lat !== 'number') return null;
    return { type: 'Feature', id: p.id, geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { id: p.id, light: p.light ?? null, status: p.status, category: p.category } };
  }

  let pointsTimer: number | undefined;
  function drawPoints(): void {
    window.clearTimeout(pointsTimer);
    pointsTimer = undefined;
    situation?.setCases({ type: 'FeatureCollection', features: [...points.values()] });
    mapBox.dataset.points = String(points.size);
    const counts = { green: 0, yellow: 0, red: 0 } as Record<string, number>;
    for (const feature of points.values()) {
      const light = feature.properties?.light as string | null;
      if (light) counts[light] = (counts[light] ?? 0) + 1;
    }
    clear(mapStat,
      h('span', {}, t('dash.points', { n: points.size.toLocaleString() })),
      ...(['red', 'yellow', 'green'] as const).map((light) => h('span', { class: 'stat-light' }, h('i', { style: `background:${LIGHT_COLOURS[light]}` }), String(counts[light] ?? 0))));
  }
  function schedulePoints(): void {
    pointsTimer ??= window.setTimeout(drawPoints, 400);
  }

  async function loadSummary(): Promise<void> {
    const forTopic = topic.id;
    const answer = await whenMissing('summary', () => get<Summary>(`/api/v1/dashboard/summary${query({ topic: topic.id === DEFAULT_TOPIC.id && missing.has('topics') ? undefined : topic.id, days })}`));
    if (forTopic !== topic.id) return;
    await situation?.ready;
    points.clear();
    if (answer) {
      summary = answer;
      showMissing('/api/v1/dashboard/summary', null);
      for (const p of answer.points) {
        const feature = pointFeature(p);
        if (feature) points.set(p.id, feature);
      }
      situation?.setHexes(answer.hexes ?? { type: 'FeatureCollection', features: [] });
      await renderSummaryCharts();
    } else {
      // An older server: the newest open cases from the case list, bounded,
      // and said so; the aggregates wait for the endpoint.
      summary = null;
      showMissing('/api/v1/dashboard/summary', t('notice.missing.summary', { n: FALLBACK_POINTS_MAX }));
      const categories = topic.filters?.categories ?? [];
      const page = await get<{ items: CaseDto[] }>(`/api/v1/cases${query({ open: true, limit: FALLBACK_POINTS_MAX, category: categories.length ? categories.join(',') : undefined })}`);
      for (const item of page.items) {
        if (!matchesTopic(item)) continue;
        const feature = pointFeature(item);
        if (feature) points.set(item.id, feature);
      }
      for (const p of [byCategory, trend, byStatus, overdue]) placeholder(p.body, `${t('dash.awaiting')} (/api/v1/dashboard/summary)`);
    }
    drawPoints();
    // 'cityloop:case-layers-idle': the map has drawn the case layers (its
    // workers have tiled the points and it went idle).
    if (situation && !performance.getEntriesByName('cityloop:case-layers-idle').length) {
      situation.map.once('idle', () => {
        if (!performance.getEntriesByName('cityloop:case-layers-idle').length) performance.mark('cityloop:case-layers-idle');
      });
    }
    // Which topic's summary is on screen (a late answer for a topic left
    // behind was dropped above).
    document.body.dataset.summaryTopic = forTopic;
    if (!performance.getEntriesByName('cityloop:summary').length) performance.mark('cityloop:summary');
  }

  async function renderSummaryCharts(): Promise<void> {
    if (!summary) return;
    const s = summary;
    const top = [...s.by_category].sort((a, b) => b.count - a.count).slice(0, 10);
    const names = await Promise.all(top.map(async (c) => c.name || (await categoryName(c.category))));
    if (top.length) {
      byCategory.body.replaceChildren(categoryChart.element);
      void categoryChart.set((m) => m.barOption(names, top.map((c) => c.count)));
    } else placeholder(byCategory.body, t('common.none'));

    if (s.trend.length) {
      trend.body.replaceChildren(trendChart.element);
      void trendChart.set((m) => m.trendOption(s.trend.map((d) => d.day.slice(5)), [
        { name: t('dash.created'), values: s.trend.map((d) => d.created), colour: '#38bdf8' },
        { name: t('dash.closed'), values: s.trend.map((d) => d.closed), colour: '#34d399' },
      ]));
    } else placeholder(trend.body, t('common.none'));

    if (s.by_status.length) {
      byStatus.body.replaceChildren(statusChart.element);
      void statusChart.set((m) => m.donutOption([...s.by_status].sort((a, b) => b.count - a.count).map((x) => ({ name: label('status', x.status), value: x.count }))));
    } else placeholder(byStatus.body, t('common.none'));

    renderOverdue();
  }

  async function renderOverdue(): Promise<void> {
    if (!summary) return;
    if (!summary.overdue.length) {
      placeholder(overdue.body, t('common.none'));
      return;
    }
    const departments = await loadDepartments().catch(() => new Map());
    const categories = await loadCategories().catch(() => new Map());
    const now = Date.now();
    clear(overdue.body, h('table', { class: 'overdue-table', id: 'overdue-list' },
      h('tbody', {}, summary.overdue.map((o) =>
        h('tr', { 'data-case-id': o.id, onclick: () => navigate(`#/cases/${o.id}`) },
          h('td', { class: 'mono' }, `#${o.id}`),
          h('td', {}, categories.get(o.category)?.name ?? o.category),
          h('td', { class: 'muted' }, (o.department && departments.get(o.department)?.name?.replace(/（演示）$/, '')) || o.department || '—'),
          h('td', { class: 'overdue-by' }, duration(now - new Date(o.due_at).getTime())))))));
  }

  // ---- sensors and alarms ----------------------------------------------------
  async function loadSensors(): Promise<void> {
    const [streams, active] = await Promise.all([
      get<DatastreamDto[]>('/api/v1/sensors/datastreams').catch(() => [] as DatastreamDto[]),
      get<AlarmDto[]>('/api/v1/sensors/alarms?active=true&limit=500').catch(() => [] as AlarmDto[]),
    ]);
    datastreams = new Map(streams.map((d) => [d.id, d]));
    alarms = new Map(active.filter((a) => a.state !== 'cleared').map((a) => [a.id, a]));
    drawSensors();
  }

  function drawSensors(): void {
    const sensors: GeoJSON.FeatureCollection = {
      type: 'FeatureCollection',
      features: [...datastreams.values()].map((d) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { id: d.id, name: d.name } })),
    };
    const alarmFeatures: GeoJSON.Feature[] = [];
    for (const alarm of alarms.values()) {
      const stream = datastreams.get(alarm.datastream);
      if (!stream) continue;
      alarmFeatures.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [stream.lon, stream.lat] }, properties: { id: alarm.id, severity: alarm.severity, reason: alarm.reason, name: stream.name, case_id: alarm.case_id ?? null } });
    }
    situation?.setSensors(sensors, { type: 'FeatureCollection', features: alarmFeatures });
  }

  async function drawSensorSeries(): Promise<void> {
    const streams = [...datastreams.values()].filter((d) => d.property === 'pm25' || d.unit.includes('µg'));
    if (!streams.length) {
      placeholder(sensorSeries.body, t('common.none'));
      return;
    }
    // The replayed series may lie in the past: chart the week up to the latest observation.
    const latest = Math.max(...streams.map((d) => (d.last_at ? new Date(d.last_at).getTime() : 0)));
    const to = new Date(latest > 0 ? latest + 3_600_000 : Date.now());
    const from = new Date(to.getTime() - 7 * 86_400_000);
    const series = await Promise.all(streams.slice(0, 6).map((d) =>
      get<{ start: string; mean: number }[]>(`/api/v1/sensors/datastreams/${d.id}/series${query({ from: from.toISOString(), to: to.toISOString(), bucket_minutes: 180 })}`)
        .then((buckets) => ({ d, buckets }))
        .catch(() => ({ d, buckets: [] as { start: string; mean: number }[] }))));
    const starts = [...new Set(series.flatMap((s) => s.buckets.map((b) => b.start)))].sort();
    if (!starts.length) {
      placeholder(sensorSeries.body, t('common.none'));
      return;
    }
    sensorSeries.body.replaceChildren(sensorChart.element);
    await sensorChart.set((m) => m.trendOption(starts.map((s) => shortTime(s)), series.map((s, i) => {
      const byStart = new Map(s.buckets.map((b) => [b.start, Math.round(b.mean)]));
      return { name: s.d.name.replace(/（演示）$/, '').replace(/^PM2\.5\s*/, ''), values: starts.map((x) => byStart.get(x) ?? (null as unknown as number)), colour: m.PALETTE[i % m.PALETTE.length] };
    })));
  }

  // ---- status areas ----------------------------------------------------------
  async function loadAreaTags(): Promise<void> {
    if (areaTags) return;
    const answer = await whenMissing('area-tags', () => get<GeoJSON.FeatureCollection>('/api/v1/dashboard/area-tags'));
    if (answer) {
      areaTags = answer;
      await situation?.ready;
      situation?.setAreaTags(answer);
      mapBox.dataset.areaTags = String(answer.features.length);
      showMissing('/api/v1/dashboard/area-tags', null);
    } else {
      showMissing('/api/v1/dashboard/area-tags', t('notice.missing.areaTags'));
    }
    renderLayers();
  }

  async function loadStreets(): Promise<void> {
    if (streetShapes) return;
    streetShapes = await get<GeoJSON.FeatureCollection>('/api/v1/areas/shapes?level=street').catch(() => ({ type: 'FeatureCollection', features: [] }) as GeoJSON.FeatureCollection);
    await situation?.ready;
    situation?.setStreets(streetShapes);
    renderLayers();
  }

  // ---- layers and legend -----------------------------------------------------
  function available(layer: LayerId): boolean {
    if (layer === 'area_tags') return !missing.has('area-tags');
    if (layer === 'hexes') return !missing.has('summary');
    if (layer === 'streets') return Boolean(streetShapes?.features.length);
    return true;
  }

  function renderLayers(): void {
    const listed = LAYER_IDS.filter((id) => id === 'districts' || topic.layers.includes(id));
    for (const id of LAYER_IDS) {
      const on = listed.includes(id) && available(id) && (visible.get(id) ?? true);
      situation?.setVisible(id, on);
    }
    clear(layerBox, h('div', { class: 'map-box-title' }, t('dash.layers')), listed.map((id) => {
      const ok = available(id);
      const input = h('input', { type: 'checkbox', 'data-layer': id, checked: ok && (visible.get(id) ?? true), disabled: !ok });
      input.addEventListener('change', () => {
        visible.set(id, input.checked);
        situation?.setVisible(id, input.checked);
      });
      return h('label', { class: ok ? 'layer' : 'layer disabled', title: ok ? '' : t('layer.unavailable') }, input, t(`layer.${id}`), ok ? null : h('small', {}, ` (${t('layer.unavailable')})`));
    }));
    const tags = new Set((areaTags?.features ?? []).map((f: GeoJSON.Feature) => String(f.properties?.tag ?? '')));
    clear(legendBox,
      h('div', { class: 'map-box-title' }, t('dash.legend')),
      topic.layers.includes('cases') ? (['green', 'yellow', 'red', 'none'] as const).map((light) => h('div', { class: 'legend-row' }, h('i', { class: 'dot', style: `background:${LIGHT_COLOURS[light]}` }), t(`legend.light.${light}`))) : null,
      topic.layers.includes('hexes') && available('hexes') ? h('div', { class: 'legend-row' }, h('span', { class: 'ramp', style: `background:linear-gradient(90deg, ${DENSITY_STOPS.map(([, c]) => c).join(',')})` }), t('legend.density')) : null,
      topic.layers.includes('alarms') ? h('div', { class: 'legend-row' }, h('i', { class: 'dot ring' }), t('legend.alarm')) : null,
      topic.layers.includes('area_tags') ? [...tags].filter(Boolean).map((tag) => h('div', { class: 'legend-row' }, h('i', { class: 'swatch', style: `background:${TAG_COLOURS[tag] ?? TAG_COLOURS['*']}` }), tag)) : null);
  }

  // ---- applying a topic --------------------------------------------------------
  async function applyTopic(): Promise<void> {
    document.body.dataset.topic = topic.id;
    renderTopicTabs();
    renderVitals();
    const has = (chartId: string) => topic.charts.includes(chartId);
    byCategory.element.hidden = !has('by_category');
    trend.element.hidden = !has('trend');
    byStatus.element.hidden = !has('by_status');
    sensorSeries.element.hidden = !has('sensor_series');
    ratesDept.element.hidden = !has('rates_by_department');
    // Alone in its column, the vital signs take the column's height.
    vitals.element.classList.toggle('grow', ratesDept.element.hidden);
    ratesStreet.element.hidden = !has('rates_by_street');
    overdue.element.hidden = !has('overdue');
    bottom.dataset.count = String([byCategory, trend, byStatus, sensorSeries].filter((p) => !p.element.hidden).length);
    renderLayers();
    const work: Promise<unknown>[] = [loadSummary()];
    if (topic.layers.includes('area_tags')) work.push(loadAreaTags());
    if (topic.layers.includes('streets')) work.push(loadStreets());
    if (has('rates_by_department')) work.push(drawRates(deptChart, ratesDept.body, 'department'));
    if (has('rates_by_street')) work.push(drawStreetRates());
    if (has('sensor_series')) work.push(sensorsLoaded.then(drawSensorSeries));
    const results = await Promise.allSettled(work);
    for (const result of results) if (result.status === 'rejected') reportError(result.reason);
    renderLayers();
  }

  // Sensors and alarms come after the first paint: their sources would
  // otherwise be tiled and drawn on its path.
  const sensorsLoaded = firstPaint.catch(() => undefined).then(loadSensors);
  await firstPaint.catch(() => undefined);
  await applyTopic();

  // ---- live ------------------------------------------------------------------
  function tick(kind: 'case' | 'alarm', item: HTMLElement, attrs: Record<string, string>, at = new Date().toISOString(), live = true): void {
    const row = h('li', { class: `tick tick-${kind}${live ? ' tick-live' : ''}`, 'data-live': live ? '1' : null, ...attrs }, h('time', {}, shortTime(at)), item);
    if (live) tickerList.prepend(row);
    else tickerList.append(row);
    while (tickerList.children.length > TICKER_ROWS_MAX) tickerList.lastElementChild?.remove();
  }

  function caseTick(item: CaseDto, live: boolean): void {
    const isNew = item.version <= 1 || item.created_at === item.updated_at;
    const link = h('a', { href: `#/cases/${item.id}` },
      h('span', { class: 'light-inline', style: `background:${LIGHT_COLOURS[item.light ?? 'none']}` }),
      h('b', {}, isNew ? t('live.newCase') : t('live.caseChanged')),
      ` #${item.id} `,
      h('span', { class: 'tick-cat', 'data-category': item.category }, item.category),
      ` · ${label('status', item.status)} · ${areaNameNow(item.area_path[item.area_path.length - 1] ?? '')}`);
    tick('case', link, { 'data-case-id': String(item.id), 'data-status': item.status, 'data-light': item.light ?? 'none' }, live ? undefined : item.updated_at, live);
    void categoryName(item.category).then((name) => {
      for (const cat of tickerList.querySelectorAll(`[data-case-id="${item.id}"] .tick-cat`)) cat.textContent = name;
    });
  }

  // The ticker starts with the latest changes, so a wall screen is never blank.
  void get<{ items: CaseDto[] }>('/api/v1/cases?limit=12')
    .then((page) => {
      if (!tickerList.children.length) for (const item of page.items) caseTick(item, false);
    })
    .catch(() => undefined);

  let summaryTimer: number | undefined;
  const refreshSummarySoon = () => {
    if (summaryTimer !== undefined || missing.has('summary')) return;
    summaryTimer = window.setTimeout(() => {
      summaryTimer = undefined;
      void loadSummary().catch(reportError);
    }, SUMMARY_AFTER_EVENT_MS);
  };

  disposers.push(subscribe({
    case: (item) => {
      if (matchesTopic(item)) {
        const feature = item.open ? pointFeature(item) : null;
        if (feature) points.set(item.id, feature);
        else points.delete(item.id);
        schedulePoints();
      }
      caseTick(item, true);
      refreshSummarySoon();
    },
    alarm: (alarm) => {
      if (alarm.state === 'cleared') alarms.delete(alarm.id);
      else alarms.set(alarm.id, alarm);
      drawSensors();
      const stream = datastreams.get(alarm.datastream);
      tick('alarm', h('span', {}, h('b', { class: `sev-${alarm.severity}` }, `${t('live.alarm')} · ${label('severity', alarm.severity)}`), ` ${stream?.name ?? `#${alarm.datastream}`} · ${alarm.reason}`), { 'data-alarm-id': String(alarm.id) });
    },
    resync: () => {
      void loadSummary().catch(reportError);
      void loadSensors();
    },
    state: (state) => {
      if (state === 'offline') showMissing('/api/v1/events', t('notice.missing.events'));
      else if (state === 'connected') showMissing('/api/v1/events', null);
    },
  }));
  if (document.body.dataset.live === 'offline') showMissing('/api/v1/events', t('notice.missing.events'));

  // ---- periodic refresh --------------------------------------------------------
  timers.push(window.setInterval(async () => {
    try {
      vitalSigns = await get<VitalSigns>('/api/v1/vital-signs');
      renderVitals();
    } catch {
      // The next round tries again.
    }
  }, VITALS_REFRESH_MS));
  timers.push(window.setInterval(() => void loadSummary().catch(() => undefined), SUMMARY_REFRESH_MS));
  timers.push(window.setInterval(() => {
    metricsCache = new Map();
    if (topic.charts.includes('rates_by_department')) void drawRates(deptChart, ratesDept.body, 'department').catch(() => undefined);
    if (topic.charts.includes('rates_by_street')) void drawRates(streetChart, ratesStreet.body, streetGroup).catch(() => undefined);
    void loadSensors();
  }, METRICS_REFRESH_MS));

  return () => {
    for (const timer of timers) window.clearInterval(timer);
    window.clearTimeout(summaryTimer);
    window.clearTimeout(pointsTimer);
    for (const dispose of disposers) dispose();
    for (const c of charts) c.dispose();
    situation?.remove();
  };
}

type ChartsModule = typeof import('../dashboard/charts');

/** A chart whose library arrives later: options are built once it has. */
class LazyChart {
  private readonly chart: Promise<InstanceType<ChartsModule['Chart']>>;
  private disposed = false;

  constructor(readonly element: HTMLElement, private readonly module: Promise<ChartsModule>) {
    this.chart = module.then((m) => new m.Chart(element));
  }

  async set(build: (m: ChartsModule) => EChartsCoreOption): Promise<void> {
    const [m, chart] = await Promise.all([this.module, this.chart]);
    if (!this.disposed) chart.set(build(m));
  }

  dispose(): void {
    this.disposed = true;
    void this.chart.then((chart) => chart.dispose());
  }
}
