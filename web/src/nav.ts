// Where each role starts, which screens a role may use, and moving between
// screens by the URL's hash.

import type { UserDto } from './types';

/** Where a role starts after log-in: handlers at their queue, citizens at their data tracker, everyone else at the dashboard. */
export function homeFor(role: string): string {
  if (role === 'handler') return '#/queue';
  if (role === 'citizen') return '#/my-data';
  return '#/dashboard';
}

/** Staff (every role but the citizen) read the data catalogue. */
export function mayBrowseData(role: string): boolean {
  return role !== 'citizen';
}

/** A department's handler or lead: reads its own datasets, requests grants for it. */
export function isDepartmentStaff(user: Pick<UserDto, 'role' | 'department'>): boolean {
  return (user.role === 'handler' || user.role === 'dept_lead') && Boolean(user.department);
}

/** Who may list data grants: a department's staff (theirs), administrators, supervisors and auditors (all). */
export function mayReadGrants(user: Pick<UserDto, 'role' | 'department'>): boolean {
  return isDepartmentStaff(user) || user.role === 'admin' || user.role === 'supervisor' || user.role === 'auditor';
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export type Cleanup = () => void;
export type Page = (root: HTMLElement, params: Record<string, string>) => Cleanup | void | Promise<Cleanup | void>;
