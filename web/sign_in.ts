/**
 * The page's sign-in state as one value: signed out (the form, perhaps with the last
 * failure), signing in (the form with a progress line), or signed in (a session, which owns
 * everything per user: conversations, transfers, notices, requests). Signing out returns a
 * fresh signed-out state, so nothing of a session outlives it; engine events that reach the
 * page after sign-in (a file's "Sending …" progress) cannot touch the form.
 *
 * @module
 */

/** See the module documentation; `S` is the session (generic for tests). */
export type SignInState<S> =
  | { readonly phase: "out"; readonly error: string | null }
  | { readonly phase: "signing"; readonly busy: string }
  | {
    readonly phase: "in";
    readonly session: S;
    /** Frees the browser's lock of the user; called on sign-out. */
    readonly release: () => void;
  };

/** What happens to the sign-in state. */
export type SignInAction<S> =
  | { readonly type: "start"; readonly busy: string }
  | { readonly type: "progress"; readonly busy: string }
  | { readonly type: "signed_in"; readonly session: S; readonly release: () => void }
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "signed_out" };

/** The state of a page just loaded. */
export function signedOut<S>(): SignInState<S> {
  return { phase: "out", error: null };
}

/** The next state (a reducer for `useReducer`). */
export function signInReducer<S>(s: SignInState<S>, a: SignInAction<S>): SignInState<S> {
  switch (a.type) {
    case "start":
      return s.phase === "in" ? s : { phase: "signing", busy: a.busy };
    case "progress":
      // Only while signing in: a running session's progress belongs to its own view.
      return s.phase === "signing" ? { phase: "signing", busy: a.busy } : s;
    case "signed_in":
      return { phase: "in", session: a.session, release: a.release };
    case "failed":
      return s.phase === "in" ? s : { phase: "out", error: a.error };
    case "signed_out":
      return signedOut();
  }
}

/** The form's progress line, or null. */
export function busyText<S>(s: SignInState<S>): string | null {
  return s.phase === "signing" ? s.busy : null;
}

/** The form's failure line, or null. */
export function errorText<S>(s: SignInState<S>): string | null {
  return s.phase === "out" ? s.error : null;
}
