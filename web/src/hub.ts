// Small pieces the data hub's screens share: the classification badge, the
// words for field names and kinds, percentages as the quality report gives
// them (0–100), and the standards (loaded once).

import { hub } from './api';
import { h } from './format';
import { label, tOr } from './i18n';
import type { StandardDto } from './types';

/** The four data classes, least to most protected. */
export const CLASSIFICATIONS = ['public', 'internal', 'personal', 'sensitive_personal'] as const;

/** A coloured badge: 公开 / 内部 / 个人 / 敏感个人. */
export function classificationBadge(classification: string): HTMLElement {
  const known = (CLASSIFICATIONS as readonly string[]).includes(classification) ? classification : 'unknown';
  return h('span', { class: `cls cls-${known}`, 'data-classification': classification }, label('cls', classification));
}

/** 姓名 for `name` of the population standard, 名称 elsewhere; the code itself when we have no word. */
export function fieldLabel(standard: string | null | undefined, name: string): string {
  return tOr(`hubfield.${standard}.${name}`, '') || tOr(`hubfield.${name}`, name);
}

export function kindLabel(kind: string): string {
  return label('kind', kind);
}

/** 95.0% from 95 (the quality report's percentages are 0–100 already). */
export function pct(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

/** A thin bar under a percentage. */
export function pctBar(value: number | null | undefined): HTMLElement {
  const width = Math.max(0, Math.min(100, value ?? 0));
  const level = width >= 99.95 ? 'good' : width >= 90 ? 'fair' : 'poor';
  return h('span', { class: `pct pct-${level}` }, h('span', { class: 'pct-text mono' }, pct(value)), h('span', { class: 'pct-bar' }, h('span', { style: `width:${width}%` })));
}

/** 2026-11-30: a day on Beijing's calendar (a grant's period). */
export function day(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

let standards: Promise<Map<string, StandardDto>> | null = null;

/** The city standards by id, once per session; empty when they cannot be read. */
export function loadStandards(): Promise<Map<string, StandardDto>> {
  standards ??= hub
    .standards()
    .then((list) => new Map(list.map((s) => [s.id, s])))
    .catch(() => {
      standards = null;
      return new Map<string, StandardDto>();
    });
  return standards;
}
