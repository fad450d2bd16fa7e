// The closed loop's actions as forms. The fields mirror the server's
// command bodies (cityloop-cases' codec: required and optional fields, their
// types and enums) and the workflow's own checks (a required reason, the
// 4,000-character limit, a lead among the units, 1–100,000 extension
// minutes), so most mistakes are caught before the request; what only the
// server knows comes back as an RFC 7807 problem naming the field, shown
// next to it.

import { t } from './i18n';

export const TEXT_CHARS_MAX = 4000;
export const UNITS_MAX = 20;
export const EXTENSION_MINUTES_MAX = 100_000;
export const PHOTOS_MAX = 3;
export const PHOTO_BYTES_MAX = 5 * 1024 * 1024;

export type Field =
  | { name: string; kind: 'text'; required: boolean | ((values: Values) => boolean) }
  | { name: string; kind: 'bool'; labels?: [string, string] }
  | { name: string; kind: 'check' }
  | { name: string; kind: 'enum'; options: string[]; labelPrefix: string }
  | { name: string; kind: 'department'; optional?: false }
  | { name: string; kind: 'departments' }
  | { name: string; kind: 'int'; min: number; max: number }
  | { name: string; kind: 'optionalBool' }
  | { name: string; kind: 'photos' };

export type Values = Record<string, unknown>;

const note = (required: boolean | ((values: Values) => boolean) = false): Field => ({ name: 'note', kind: 'text', required });
const reason: Field = { name: 'reason', kind: 'text', required: true };

/** Each action's fields, in the order they are shown. */
export const ACTION_FIELDS: Record<string, Field[]> = {
  verify: [note()],
  accept: [],
  decline: [reason],
  register: [{ name: 'criteria_met', kind: 'check' }],
  void: [reason],
  self_handle: [note(true)],
  dispatch: [{ name: 'units', kind: 'departments' }, { name: 'lead', kind: 'department' }],
  sub_dispatch: [{ name: 'to', kind: 'department' }],
  sign: [],
  return: [
    { name: 'reason_code', kind: 'enum', options: ['not_our_responsibility', 'wrong_location', 'insufficient_information', 'duplicate', 'other'], labelPrefix: 'return' },
    note((values) => values.reason_code === 'other'),
  ],
  arbitrate: [{ name: 'responsible', kind: 'department' }, note()],
  request_extension: [{ name: 'minutes', kind: 'int', min: 1, max: EXTENSION_MINUTES_MAX }, reason],
  decide_extension: [{ name: 'approve', kind: 'bool' }, note()],
  hang: [reason],
  resume: [],
  note: [{ name: 'text', kind: 'text', required: true }],
  reply: [note(true), { name: 'evidence', kind: 'photos' }],
  review: [{ name: 'approve', kind: 'bool' }, note()],
  check: [{ name: 'passed', kind: 'bool' }, note()],
  rate: [
    { name: 'level', kind: 'enum', options: ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'], labelPrefix: 'rating' },
    { name: 'reasonable', kind: 'optionalBool' },
    { name: 'comment', kind: 'text', required: false },
  ],
  judge: [{ name: 'reasonable', kind: 'bool' }, note(true)],
  comment: [{ name: 'text', kind: 'text', required: true }],
  close: [{ name: 'closing', kind: 'enum', options: ['normal', 'overdue', 'special'], labelPrefix: 'closing' }, note((values) => values.closing === 'special')],
  urge: [note()],
  supervise: [note()],
  merge: [{ name: 'parent', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER }],
};

/** Actions that are side notes rather than the next step of the loop. */
export const SECONDARY_ACTIONS = new Set(['note', 'urge', 'supervise', 'comment', 'merge', 'hang', 'request_extension', 'close', 'void', 'decline', 'return', 'self_handle']);

/** Actions whose outcome needs a second look before sending. */
export const DANGEROUS_ACTIONS = new Set(['decline', 'void', 'close', 'merge', 'return']);

function isRequired(field: Field, values: Values): boolean {
  if (field.kind !== 'text') return false;
  return typeof field.required === 'function' ? field.required(values) : field.required;
}

/**
 * The field errors of `values` for `action` (empty when it may be sent).
 * `isCitizen` switches the rating rule: staff judge a dissatisfied rating,
 * the reporter does not.
 */
export function validate(action: string, values: Values, isCitizen = false): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const field of ACTION_FIELDS[action] ?? []) {
    const value = values[field.name];
    switch (field.kind) {
      case 'text': {
        const text = typeof value === 'string' ? value.trim() : '';
        if (isRequired(field, values) && !text) errors[field.name] = t('form.required');
        else if ([...text].length > TEXT_CHARS_MAX) errors[field.name] = t('form.tooLong', { n: TEXT_CHARS_MAX });
        break;
      }
      case 'bool':
      case 'enum':
      case 'department':
        if (value === undefined || value === null || value === '') errors[field.name] = t('form.pickOne');
        break;
      case 'departments': {
        const list = Array.isArray(value) ? value : [];
        if (!list.length) errors[field.name] = t('form.pickOne');
        else if (list.length > UNITS_MAX) errors[field.name] = t('form.unitsMax', { n: UNITS_MAX });
        break;
      }
      case 'int': {
        const n = typeof value === 'number' ? value : Number.NaN;
        if (!Number.isInteger(n) || n < field.min || n > field.max) errors[field.name] = t('form.int', { min: field.min, max: field.max === Number.MAX_SAFE_INTEGER ? '…' : field.max });
        break;
      }
      case 'photos': {
        const files = Array.isArray(value) ? (value as File[]) : [];
        if (files.length > PHOTOS_MAX) errors[field.name] = t('form.photoTooMany');
        else if (files.some((f) => f.size > PHOTO_BYTES_MAX)) errors[field.name] = t('form.photoTooBig');
        else if (files.some((f) => !['image/jpeg', 'image/png', 'image/webp'].includes(f.type))) errors[field.name] = t('form.photoType');
        break;
      }
      case 'check':
      case 'optionalBool':
        break;
    }
  }
  if (action === 'dispatch' && !errors.lead && !errors.units) {
    const units = values.units as string[];
    if (!units.includes(values.lead as string)) errors.lead = t('form.leadInUnits');
  }
  if (action === 'rate' && !errors.level) {
    const dissatisfied = values.level === 'dissatisfied' || values.level === 'very_dissatisfied';
    const judged = values.reasonable === true || values.reasonable === false;
    if (dissatisfied && !judged && !isCitizen) errors.reasonable = t('form.reasonableNeeded');
    if (!dissatisfied && judged) errors.reasonable = t('form.reasonableNotAllowed');
  }
  return errors;
}

/** The JSON body of `action` from the form's values (photos are sent apart). */
export function body(action: string, values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of ACTION_FIELDS[action] ?? []) {
    const value = values[field.name];
    switch (field.kind) {
      case 'text':
        out[field.name] = typeof value === 'string' ? value.trim() : '';
        break;
      case 'check':
        out[field.name] = value === true;
        break;
      case 'optionalBool':
        if (value === true || value === false) out[field.name] = value;
        break;
      case 'photos':
        break;
      default:
        out[field.name] = value;
    }
  }
  return out;
}
