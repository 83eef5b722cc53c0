/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The web client's top level: the sign-in form until a session runs, then the chat. One
 * tab per user (a Web Lock), since two tabs would each write the keystore image.
 *
 * @module
 */

import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { RequestError } from "../core/client/engine/errors.ts";
import { KeystoreError } from "../core/keystore/keystore_types.ts";
import type { SqlJsStatic } from "../core/keystore/sqljs_database.ts";
import { ChatView } from "./chat_view.tsx";
import { storedAccounts } from "./idb_keystore.ts";
import { LoginView } from "./login_view.tsx";
import { type Session, startSession } from "./session.ts";
import { busyText, errorText, signedOut, signInReducer } from "./sign_in.ts";

/** Props of {@linkcode App}. */
export interface AppProps {
  readonly idb: IDBDatabase;
  readonly sql: SqlJsStatic;
  readonly balancer: string;
}

/** The whole page. */
export function App({ idb, sql, balancer }: AppProps) {
  const [known, setKnown] = useState<string[] | null>(null);
  const [state, dispatch] = useReducer(signInReducer<Session>, signedOut<Session>());
  // The latest state, for the sign-out handler.
  const current = useRef(state);
  current.current = state;

  useEffect(() => {
    storedAccounts(idb).then(setKnown, () => setKnown([]));
  }, [idb]);

  const signIn = async (username: string, password: string) => {
    const isNew = !(known ?? []).includes(username);
    dispatch({ type: "start", busy: isNew ? "Generating your keys" : "Unlocking your keystore" });
    const unlock = await _lock(username);
    if (unlock === null) {
      dispatch({
        type: "failed",
        error: `${username} is signed in in another tab of this browser; use that one.`,
      });
      return;
    }
    // Let the page show the progress before key generation takes the thread.
    await new Promise((r) => setTimeout(r, 30));
    try {
      const s = await startSession({
        username,
        password,
        idb,
        sql,
        balancer,
        // Progress while signing in only: the reducer ignores it once the session runs
        // (a file's "Sending …" belongs to the chat's transfers, not to the form).
        onEvent: (e) => {
          if (e.event === "progress" && e.done < e.total) {
            dispatch({ type: "progress", busy: e.what });
          }
          if (e.event === "connecting") {
            // With the reason: "no live server" is worth knowing before the attempts run out.
            dispatch({ type: "progress", busy: `Connecting (attempt ${e.attempt}): ${e.reason}` });
          }
        },
      });
      dispatch({ type: "signed_in", session: s, release: unlock });
      setKnown(await storedAccounts(idb));
    } catch (err) {
      unlock();
      dispatch({ type: "failed", error: _explain(err, username, isNew) });
    }
  };

  const logout = async () => {
    const s = current.current;
    if (s.phase !== "in") return;
    await s.session.close();
    s.release();
    dispatch({ type: "signed_out" });
  };

  if (state.phase === "in") {
    return <ChatView session={state.session} onLogout={() => void logout()} />;
  }
  if (known === null) return <p class="loading">Loading…</p>;
  return (
    <LoginView
      known={known}
      busy={busyText(state)}
      error={errorText(state)}
      onSubmit={(u, p) => void signIn(u, p)}
    />
  );
}

function _explain(err: unknown, username: string, isNew: boolean): string {
  if (err instanceof KeystoreError && err.code === "wrong_password") {
    return `Wrong password for ${username}; try again.`;
  }
  if (err instanceof RequestError && err.code === "username_taken" && isNew) {
    return `The username "${username}" is taken. If it is yours, sign in on the device that ` +
      "has its keys (linking devices is not possible yet); otherwise choose another.";
  }
  return (err as Error).message;
}

/** Holds this browser's lock of `username` until the returned function is called. */
function _lock(username: string): Promise<(() => void) | null> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks === undefined) return Promise.resolve(() => {});
  return new Promise((resolve) => {
    void locks.request(`fastchat:${username}`, { ifAvailable: true }, (lock) => {
      if (lock === null) {
        resolve(null);
        return;
      }
      return new Promise<void>((done) => resolve(done));
    });
  });
}
