// Small building blocks every page uses: loading data, running an action
// with its progress and its error shown, switches with a third state, and
// empty states that say what to do.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { message, takeEarly } from "./api";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fetch()` now and whenever `deps` change or `reload` is called; keeps the last data while reloading.
 * With `early`, starts from the data `preload` already got under that key, if any, instead of loading it again.
 */
export function useLoad<T>(fetch: () => Promise<T>, deps: unknown[], early?: string): Loaded<T> {
  const [initial] = useState(() => (early === undefined ? undefined : takeEarly<T>(early)));
  const [data, setData] = useState<T | null>(initial ?? null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(initial === undefined);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const preloaded = useRef(initial !== undefined);
  useEffect(() => {
    if (preloaded.current) {
      preloaded.current = false;
      return;
    }
    let live = true;
    setLoading(true);
    fetch().then(
      (value) => live && (setData(value), setError(null), setLoading(false)),
      (why) => live && (setError(message(why)), setLoading(false)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload };
}

export interface ActionState {
  busy: string | null;
  error: string | null;
  done: string | null;
  run: <T>(what: string, f: () => Promise<T>, done?: string | ((result: T) => string)) => Promise<boolean>;
  clear: () => void;
}

/** One action at a time with its progress ("Starting the gateway…"), its failure, and what it did. */
export function useAction(): ActionState {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = useCallback(async <T,>(what: string, f: () => Promise<T>, doneText?: string | ((result: T) => string)) => {
    setBusy(what);
    setError(null);
    setDone(null);
    try {
      const result = await f();
      setDone(typeof doneText === "function" ? doneText(result) : (doneText ?? null));
      return true;
    } catch (why) {
      setError(message(why));
      return false;
    } finally {
      setBusy(null);
    }
  }, []);
  const clear = useCallback(() => (setError(null), setDone(null)), []);
  return { busy, error, done, run, clear };
}

/** Where an action's progress, error or result shows; errors are announced. */
export function ActionStatus({ state }: { state: ActionState }) {
  if (state.busy) return <p class="status busy" role="status"><Spinner /> {state.busy}</p>;
  if (state.error) return <p class="status error" role="alert">{state.error}</p>;
  if (state.done) return <p class="status done" role="status">{state.done}</p>;
  return null;
}

export function Spinner() {
  return <span class="spinner" aria-hidden="true" />;
}

/** Content of a loaded section: a spinner first, the error if it failed, else the children. */
export function Section<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.error && loaded.data === null) {
    return (
      <div class="status error" role="alert">
        {loaded.error} <button type="button" class="link" onClick={loaded.reload}>Try again</button>
      </div>
    );
  }
  if (loaded.data === null) return <p class="status busy" role="status"><Spinner /> Loading…</p>;
  return <>{children(loaded.data)}</>;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="empty-text">{children}</p>}
    </div>
  );
}

export type SwitchState = "on" | "off" | "paused";

/**
 * A switch with its state in words beside it. "paused" is its own third
 * state (a hollow, striped track), never drawn as on. It is a real
 * checkbox, so keyboards and WebDriver use it as one; `indeterminate` marks
 * the paused state for assistive technology.
 */
export function Switch(props: {
  state: SwitchState;
  label: string;
  detail?: string;
  action?: string;
  disabled?: boolean;
  busy?: boolean;
  onChange: (on: boolean) => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = props.state === "paused";
  });
  return (
    <label class={`switch ${props.state}${props.busy ? " busy" : ""}`}>
      <input
        ref={ref}
        type="checkbox"
        role="switch"
        checked={props.state === "on"}
        disabled={props.disabled || props.busy}
        data-action={props.action}
        onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked)}
      />
      <span class="switch-text">
        <span class="switch-label">{props.label}</span>
        {props.detail && <span class="switch-detail">{props.detail}</span>}
      </span>
    </label>
  );
}

/** A labelled figure: what people came for, big. */
export function Figure(props: { label: string; value: string; note?: string | null; big?: boolean; id?: string; children?: ComponentChildren }) {
  return (
    <div class={`figure${props.big ? " big" : ""}`} id={props.id}>
      <span class="figure-label">{props.label}</span>
      <span class="figure-value">{props.value}</span>
      {props.note && <span class="figure-note">{props.note}</span>}
      {props.children}
    </div>
  );
}

/** The core's words, with its `quoted` keys and commands set as code. */
export function Words({ text }: { text: string }) {
  return <>{text.split("`").map((part, i) => (i % 2 ? <code key={i} class="mono">{part}</code> : part))}</>;
}
