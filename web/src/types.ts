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

// --- the data hub (数据中台) ---------------------------------------------------

/** public < internal < personal < sensitive_personal */
export type Classification = 'public' | 'internal' | 'personal' | 'sensitive_personal';

export interface StandardField {
  name: string;
  kind: string;
  required: boolean;
  classification: Classification;
  code_table?: string | null;
  unit?: string | null;
  min?: number | null;
  max?: number | null;
  description?: string | null;
}

export interface StandardDto {
  id: string;
  version: string;
  name: string;
  title_en: string;
  fields: StandardField[];
  key: string[];
  derived: StandardField[];
}

export interface DatasetField {
  name: string;
  kind: string;
  required: boolean;
  classification: Classification;
  code_table?: string | null;
  unit?: string | null;
  description?: string | null;
}

export interface FieldQuality {
  field: string;
  total: number;
  present: number;
  valid: number;
  invalid: number;
  /** 0–100 */
  completeness_pct: number;
  /** 0–100 */
  validity_pct: number;
}

export interface ImportQuality {
  standard: string;
  rows: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  fields: FieldQuality[];
}

export interface ImportDto {
  id: number;
  dataset?: string;
  mapping: string;
  mapping_version: string;
  file_name: string;
  file_sha256: string;
  status: string;
  accepted: number;
  rejected: number;
  next_line: number;
  started_at: string;
  finished_at?: string | null;
  /** The import whose quarantine this one fixes. */
  fixes?: number | null;
  quality?: ImportQuality | null;
}

export interface DatasetDto {
  id: string;
  title: string;
  description: string;
  owner: string;
  owner_name: string;
  standard: string;
  standard_version: string;
  update_frequency: string;
  fields: DatasetField[];
  rows: number;
  updated_at: string;
  /** Lineage, newest first (the single dataset only). */
  imports?: ImportDto[];
}

export interface QuarantineLine {
  id: number;
  line: number;
  raw: string;
  reasons: string[];
  fixed_by?: number | null;
}

export interface RowsPage {
  dataset: string;
  fields: string[];
  masked: boolean;
  grant?: number | null;
  rows: Record<string, unknown>[];
  next_after?: string | null;
}

export type GrantStatus = 'requested' | 'approved' | 'refused' | 'revoked';

export interface GrantDto {
  id: number;
  dataset: string;
  department: string;
  fields: string[];
  purpose: string;
  valid_from: string;
  valid_until: string;
  status: GrantStatus | string;
  in_force: boolean;
  requested_at: string;
  decided_at?: string | null;
  note: string;
}

export interface GrantRequestBody {
  fields: string[];
  purpose: string;
  valid_until: string;
  valid_from?: string;
}

export interface DataAccessDto {
  at: string;
  dataset: string;
  dataset_title: string;
  department?: string | null;
  department_name?: string | null;
  purpose: string;
  fields: string[];
}
