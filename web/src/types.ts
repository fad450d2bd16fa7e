// The API's shapes as the screens read them (see /api/openapi.json); the
// dashboard's NEW endpoints are typed as agreed with the server side.

export type Light = 'green' | 'yellow' | 'red';

export interface UserDto {
  id: number;
  username: string;
  display_name: string;
  role: string;
  department?: string | null;
  areas: string[];
  phone?: string | null;
}

export interface CaseDto {
  id: number;
  status: string;
  open: boolean;
  channel: string;
  category: string;
  urgency: string;
  area_path: string[];
  lon?: number | null;
  lat?: number | null;
  address?: string | null;
  description: string;
  reporter_contact?: string | null;
  lead_department?: string | null;
  units: string[];
  routed_department?: string | null;
  near_boundary: boolean;
  parent?: number | null;
  created_at: string;
  updated_at: string;
  version: number;
  due_at?: string | null;
  light?: Light | null;
}

export interface CasePage {
  items: CaseDto[];
  total: number;
}

export interface ClockDto {
  stage: string;
  started_at: string;
  warn_at: string;
  due_at: string;
  paused: boolean;
  light: Light;
  elapsed_fraction?: number | null;
}

export interface HistoryEntry {
  seq: number;
  at: string;
  kind: string;
  actor_user?: number | null;
  actor_role?: string | null;
  actor_department?: string | null;
  data: Record<string, unknown>;
}

export interface MediaDto {
  id: string;
  content_type: string;
  size: number;
  sha256: string;
  url?: string | null;
  public: boolean;
}

export interface CaseDetail extends CaseDto {
  clocks: ClockDto[];
  allowed_actions: string[];
  history: HistoryEntry[];
  attributes?: Record<string, unknown> | null;
  report_client?: string | null;
  media: MediaDto[];
}

export interface CategoryDto {
  kind: string;
  code: string;
  class_code: string;
  class_name: string;
  name: string;
  standard: string;
}

export interface DepartmentDto {
  id: string;
  name: string;
  kind: string;
  areas: string[];
  phone?: string | null;
}

export interface AreaDto {
  code: string;
  name: string;
  level: string;
  parent_code?: string | null;
  has_shape: boolean;
  children: number;
}

export interface Indicator {
  name: string;
  label: string;
  unit: string;
  status: string;
  thresholds: string;
  value?: number | null;
  note?: string | null;
}

export interface VitalSigns {
  at: string;
  areas: { code: string; name: string; indicators: Indicator[] }[];
}

export interface Rate {
  numerator: number;
  denominator: number;
  value?: number | null;
}

export interface MetricsRow {
  group: string;
  cases: number;
  rates: Record<string, Rate>;
}

export interface AlarmDto {
  id: number;
  rule: string;
  datastream: number;
  severity: string;
  reason: string;
  state: string;
  raised_at: string;
  acknowledged_at?: string | null;
  cleared_at?: string | null;
  clear_reason?: string | null;
  case_id?: number | null;
}

export interface DatastreamDto {
  id: number;
  name: string;
  thing: string;
  property: string;
  unit: string;
  period_minutes: number;
  lon: number;
  lat: number;
  area_path: string[];
  created_at: string;
  last_at?: string | null;
}

// --- NEW endpoints (dashboard) ---------------------------------------------

export interface Topic {
  id: string;
  name: { zh?: string; en?: string } | string;
  filters: { categories?: string[]; channels?: string[] };
  layers: string[];
  indicators: string[];
  charts: string[];
}

export interface TopicsResponse {
  basemap?: { tiles?: string | null; attribution?: string | null } | null;
  topics: Topic[];
}

export interface SummaryPoint {
  id: number;
  lon: number;
  lat: number;
  light?: Light | null;
  status: string;
  category: string;
}

export interface Summary {
  generated_at: string;
  points: SummaryPoint[];
  hexes: GeoJSON.FeatureCollection;
  by_category: { category: string; name?: string; count: number }[];
  by_status: { status: string; count: number }[];
  trend: { day: string; created: number; closed: number }[];
  overdue: { id: number; category: string; status: string; department?: string | null; due_at: string }[];
}
