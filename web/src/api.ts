// The server's API as the screens use it: one fetch wrapper that adds the
// bearer token, reads RFC 7807 problems, and tells a missing endpoint (a
// server without a newer feature) from any other 404.

import type {
  AreaDto, CaseDetail, CaseDto, CasePage, CategoryDto, DataAccessDto, DatasetDto, DepartmentDto, GrantDto, GrantRequestBody,
  QuarantineLine, RowsPage, StandardDto, UserDto,
} from './types';

const TOKEN_KEY = 'cityloop.token';
const USER_KEY = 'cityloop.user';

export interface Session {
  token: string;
  user: UserDto;
}

export function session(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  if (!token || !user) return null;
  try {
    return { token, user: JSON.parse(user) as UserDto };
  } catch {
    return null;
  }
}

export function saveSession(token: string, user: UserDto): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** An answer other than 2xx: the problem's fields, when the body was one. */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;
  readonly detail: string;
  readonly type: string;
  readonly path: string;

  constructor(status: number, path: string, body: Partial<{ detail: string; field: string | null; title: string; type: string }>) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.path = path;
    this.field = body.field ?? null;
    this.detail = body.detail || body.title || `HTTP ${status}`;
    this.type = body.type ?? '';
  }

  /** The server has no such endpoint (it is older than this screen). */
  get missingEndpoint(): boolean {
    return this.status === 404 && (this.type.endsWith(':not-found') || this.type === '') && /no such endpoint/i.test(this.detail);
  }
}

/** Called when the token is refused (401): the app goes back to log-in. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const current = session();
  if (current) headers.set('authorization', `Bearer ${current.token}`);
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers.set('content-type', 'application/json');
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { ...init, method, headers, body: payload });
  if (!response.ok) {
    let problem: Partial<{ detail: string; field: string | null; title: string; type: string }> = {};
    try {
      problem = await response.json();
    } catch {
      // Not a problem body; the status says enough.
    }
    const error = new ApiError(response.status, path, problem);
    if (response.status === 401 && current && !path.endsWith('/auth/login')) onUnauthorized();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string, init?: RequestInit) => request<T>('GET', path, undefined, init);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});

/** `?a=1&b=2` from the defined entries. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// ---------------------------------------------------------------------------
// Endpoints

export const api = {
  login: (username: string, password: string) =>
    request<{ token: string; expires_at: string; user: UserDto }>('POST', '/api/v1/auth/login', { username, password }),
  logout: (everywhere = false) => post<void>(`/api/v1/auth/logout${everywhere ? '?everywhere=true' : ''}`),
  me: () => get<UserDto>('/api/v1/me'),
  cases: (params: { status?: string; open?: boolean; category?: string; area?: string; limit?: number; offset?: number }) =>
    get<CasePage>(`/api/v1/cases${query(params)}`),
  case: (id: number | string) => get<CaseDetail>(`/api/v1/cases/${id}`),
  act: (id: number | string, action: string, body: unknown) => post<CaseDto>(`/api/v1/cases/${id}/actions/${action}`, body),
  uploadMedia: (id: number | string, files: File[]) => {
    const form = new FormData();
    for (const file of files) form.append('media', file, file.name);
    return request<{ id: string; reference: string }[]>('POST', `/api/v1/cases/${id}/media`, form);
  },
  categories: () => get<{ items: CategoryDto[]; total: number }>('/api/v1/categories?limit=1000'),
  departments: () => get<DepartmentDto[]>('/api/v1/departments'),
  areas: (params: { parent?: string; level?: string; limit?: number }) =>
    get<{ items: AreaDto[]; total: number }>(`/api/v1/areas${query(params)}`),
  area: (code: string) => get<AreaDto & { path?: { code: string; name: string; level: string }[] }>(`/api/v1/areas/${code}`),
  shapes: (level: string) => get<GeoJSON.FeatureCollection>(`/api/v1/areas/shapes${query({ level })}`),
};

/** The data hub (数据中台): catalogue, lineage, quarantine, rows under grants, the citizen's tracker. */
export const hub = {
  standards: () => get<StandardDto[]>('/api/v1/hub/standards'),
  datasets: (q?: string) => get<DatasetDto[]>(`/api/v1/hub/datasets${query({ q })}`),
  dataset: (id: string) => get<DatasetDto>(`/api/v1/hub/datasets/${encodeURIComponent(id)}`),
  quarantine: (importId: number, all = false) =>
    get<QuarantineLine[]>(`/api/v1/hub/imports/${importId}/quarantine${query({ all: all || undefined })}`),
  rows: (id: string, params: { limit?: number; after?: string }) =>
    get<RowsPage>(`/api/v1/hub/datasets/${encodeURIComponent(id)}/rows${query(params)}`),
  requestGrant: (id: string, body: GrantRequestBody) => post<GrantDto>(`/api/v1/hub/datasets/${encodeURIComponent(id)}/grants`, body),
  grants: (params: { dataset?: string; status?: string } = {}) => get<GrantDto[]>(`/api/v1/hub/grants${query(params)}`),
  decideGrant: (id: number, approve: boolean, note?: string) =>
    post<GrantDto>(`/api/v1/hub/grants/${id}/decision`, note ? { approve, note } : { approve }),
  revokeGrant: (id: number, note: string) => post<GrantDto>(`/api/v1/hub/grants/${id}/revocation`, { note }),
  myDataAccess: () => get<DataAccessDto[]>('/api/v1/me/data-access'),
};
