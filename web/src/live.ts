// Live updates: one EventSource on /api/v1/events for the whole app (the
// token goes in the query because EventSource cannot send headers). `case`
// events carry a case as the list returns it, `alarm` events an alarm.
// EventSource reconnects by itself after a dropped connection; when the
// server refuses the stream (an older server without the endpoint, or a
// revoked token) the browser closes it for good, and we try again with a
// growing pause. After any reconnection the screens reload what they show,
// since events sent in between were missed.

import type { AlarmDto, CaseDto } from './types';

export type LiveState = 'off' | 'connecting' | 'connected' | 'offline';

type Listener = {
  case?: (item: CaseDto) => void;
  alarm?: (alarm: AlarmDto) => void;
  resync?: () => void;
  state?: (state: LiveState) => void;
};

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let token: string | null = null;
let state: LiveState = 'off';
let retryTimer: number | undefined;
let retryDelayMs = 5_000;
const RETRY_DELAY_MAX_MS = 60_000;
let everOpened = false;

function setState(next: LiveState): void {
  if (state === next) return;
  state = next;
  document.body.dataset.live = next;
  for (const listener of listeners) listener.state?.(next);
}

export function liveState(): LiveState {
  return state;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function parse<T>(event: MessageEvent): T | null {
  try {
    return JSON.parse(event.data as string) as T;
  } catch {
    return null;
  }
}

function open(): void {
  if (!token) return;
  setState('connecting');
  const stream = new EventSource(`/api/v1/events?token=${encodeURIComponent(token)}`);
  source = stream;
  stream.onopen = () => {
    retryDelayMs = 5_000;
    setState('connected');
    if (everOpened) for (const listener of listeners) listener.resync?.();
    everOpened = true;
  };
  stream.addEventListener('case', (event) => {
    const item = parse<CaseDto>(event as MessageEvent);
    if (item) for (const listener of listeners) listener.case?.(item);
  });
  stream.addEventListener('alarm', (event) => {
    const alarm = parse<AlarmDto>(event as MessageEvent);
    if (alarm) for (const listener of listeners) listener.alarm?.(alarm);
  });
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) {
      // Refused for good: the browser will not retry; we do, later.
      stream.close();
      source = null;
      setState('offline');
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(() => {
        retryTimer = undefined;
        open();
      }, retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, RETRY_DELAY_MAX_MS);
    } else {
      setState('connecting');
    }
  };
}

export function startLive(sessionToken: string): void {
  // Already connected, connecting, or waiting to retry for this session.
  if (token === sessionToken && (source || retryTimer !== undefined)) return;
  stopLive();
  token = sessionToken;
  everOpened = false;
  open();
}

export function stopLive(): void {
  window.clearTimeout(retryTimer);
  retryTimer = undefined;
  source?.close();
  source = null;
  token = null;
  setState('off');
}
