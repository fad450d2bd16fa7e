// Small helpers for building the DOM and writing times. Every screen shows
// Beijing time (the city's clock), whatever the browser's zone.

import { lang, t, label } from './i18n';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('div', {class: 'x', onclick: f}, child…)`: an element; text is escaped by construction. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (value === true) {
      element.setAttribute(key, '');
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child === null || child === undefined || child === false) continue;
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element, ...children: (Child | Child[])[]): void {
  element.replaceChildren();
  append(element, children);
}

const zone = 'Asia/Shanghai';

function formatter(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(lang() === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: zone, hour12: false, ...options });
}

/** 11-30 14:05 */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter({ month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(date);
}

/** 2026-11-30 14:05:09 */
export function fullTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

export function clockTime(date: Date): string {
  return formatter({ year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

/** 2h 5m, 3d 4h: the two largest units of a duration. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const d = Math.floor(total / 86400);
  const hr = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (d) parts.push(t('dur.d', { n: d }));
  if (hr) parts.push(t('dur.h', { n: hr }));
  if (m && parts.length < 2) parts.push(t('dur.m', { n: m }));
  if (!parts.length) parts.push(t('dur.s', { n: s }));
  return parts.slice(0, 2).join(lang() === 'zh' ? '' : ' ');
}

export function age(iso: string): string {
  return duration(Date.now() - new Date(iso).getTime());
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

export const LIGHT_COLOURS: Record<string, string> = {
  green: '#22c55e',
  yellow: '#facc15',
  red: '#ef4444',
  none: '#64748b',
};

export function lightDot(light: string | null | undefined): HTMLElement {
  const key = light ?? 'none';
  return h('span', { class: `light light-${key}`, 'data-light': key, title: label('light', key), role: 'img', 'aria-label': label('light', key) });
}
