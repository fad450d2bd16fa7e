// MapLibre GL, set up once: its worker is bundled by Vite (MapLibre's own
// lookup of the worker beside its module does not survive bundling), and
// its stylesheet is part of our CSS. Everything else imports MapLibre from here.

import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';

maplibregl.setWorkerUrl(workerUrl);
// Start the workers now, while the page builds, rather than with the first map.
maplibregl.prewarm();

export { maplibregl };
export type { ExpressionSpecification, StyleSpecification } from '@maplibre/maplibre-gl-style-spec';
