// Names for codes: categories, departments and areas, each loaded once per
// session and shared by every screen. A case's category code is a matter
// (管理事项) or local code; components (部件) share the number space, so a
// matter or local name wins over a component's.

import { api, ApiError } from './api';
import type { CategoryDto, DepartmentDto } from './types';

let categories: Promise<Map<string, CategoryDto>> | null = null;
let departments: Promise<Map<string, DepartmentDto>> | null = null;
const areaNames = new Map<string, string>();
const areaRequests = new Map<string, Promise<string>>();
let districts: Promise<void> | null = null;

export function loadCategories(): Promise<Map<string, CategoryDto>> {
  categories ??= api
    .categories()
    .then((page) => {
      const byCode = new Map<string, CategoryDto>();
      const rank = (kind: string) => (kind === 'matter' ? 3 : kind === 'local' ? 2 : 1);
      for (const item of page.items) {
        const known = byCode.get(item.code);
        if (!known || rank(item.kind) > rank(known.kind)) byCode.set(item.code, item);
      }
      return byCode;
    })
    .catch((error) => {
      categories = null;
      throw error;
    });
  return categories;
}

export function loadDepartments(): Promise<Map<string, DepartmentDto>> {
  departments ??= api
    .departments()
    .then((list) => new Map(list.map((d) => [d.id, d])))
    .catch((error: unknown) => {
      departments = null;
      // Roles that may not list departments see ids instead of names.
      if (error instanceof ApiError && error.status === 403) return new Map<string, DepartmentDto>();
      throw error;
    });
  return departments;
}

/** The districts' names, loaded together (16 rows) before any lookup. */
export function loadDistricts(): Promise<void> {
  districts ??= api
    .areas({ level: 'district', limit: 100 })
    .then((page) => {
      for (const area of page.items) areaNames.set(area.code, area.name);
    })
    .catch(() => {
      districts = null;
    });
  return districts;
}

/** An area's name; fetched once when not known yet. */
export function areaName(code: string): Promise<string> {
  const known = areaNames.get(code);
  if (known) return Promise.resolve(known);
  let pending = areaRequests.get(code);
  if (!pending) {
    pending = api
      .area(code)
      .then((area) => {
        areaNames.set(code, area.name);
        for (const step of area.path ?? []) areaNames.set(step.code, step.name);
        return area.name;
      })
      .catch(() => code);
    areaRequests.set(code, pending);
  }
  return pending;
}

/** An area's name if already known, else its code. */
export function areaNameNow(code: string): string {
  return areaNames.get(code) ?? code;
}

/** The deepest named area of a path, e.g. 普陀区 · 长寿路街道. */
export async function areaLabel(path: string[]): Promise<string> {
  const below = path.slice(1); // the city is implied
  if (below.length === 0) return path.length ? await areaName(path[0]) : '';
  const names = await Promise.all(below.slice(0, 2).map(areaName));
  return names.join(' · ');
}

export function areaLabelNow(path: string[]): string {
  const below = path.slice(1, 3);
  return below.length ? below.map(areaNameNow).join(' · ') : path.map(areaNameNow).join(' · ');
}

export async function categoryName(code: string): Promise<string> {
  try {
    return (await loadCategories()).get(code)?.name ?? code;
  } catch {
    return code;
  }
}

export async function departmentName(id: string | null | undefined): Promise<string> {
  if (!id) return '';
  try {
    return (await loadDepartments()).get(id)?.name ?? id;
  } catch {
    return id;
  }
}
