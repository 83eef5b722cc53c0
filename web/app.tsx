/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The web client's top level: the sign-in form until a session runs, then the chat. One
 * tab per user (a Web Lock), since two tabs would each write the keystore image.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import { RequestError } from "../core/client/errors.ts";
import { KeystoreError } from "../core/client/keystore_types.ts";
import type { SqlJsStatic } from "../core/client/sqljs_database.ts";
import { ChatView } from "./chat_view.tsx";
import { storedAccounts } from "./idb_keystore.ts";
import { LoginView } from "./login_view.tsx";
import { type Session, startSession } from "./session.ts";

/** Props of {@linkcode App}. */
export interface AppProps {
  readonly idb: IDBDatabase;
  readonly sql: SqlJsStatic;
  readonly balancer: string;
}

/** The whole page. */
export function App({ idb, sql, balancer }: AppProps) {
  const [known, setKnown] = useState<string[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [release, setRelease] = useState<(() => void) | null>(null);

  useEffect(() => {
    storedAccounts(idb).then(setKnown, () => setKnown([]));
  }, [idb]);

  const signIn = async (username: string, password: string) => {
    setError(null);
    const isNew = !(known ?? []).includes(username);
    setBusy(isNew ? "Generating your keys" : "Unlocking your keystore");
    const unlock = await _lock(username);
    if (unlock === null) {
      setBusy(null);
      setError(`${username} is signed in in another tab of this browser; use that one.`);
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
        onEvent: (e) => {
          if (e.event === "progress" && e.done < e.total) setBusy(e.what);
          if (e.event === "connecting") setBusy(`Connecting (attempt ${e.attempt})`);
        },
      });
      setSession(s);
      setRelease(() => unlock);
      setKnown(await storedAccounts(idb));
    } catch (err) {
      unlock();
      setError(_explain(err, username, isNew));
    } finally {
      setBusy(null);
    }
  };

  const logout = async () => {
    if (session === null) return;
    await session.close();
    release?.();
    setSession(null);
    setRelease(null);
  };

  if (session !== null) return <ChatView session={session} onLogout={() => void logout()} />;
  if (known === null) return <p class="loading">Loading…</p>;
  return (
    <LoginView
      known={known}
      busy={busy}
      error={error}
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
