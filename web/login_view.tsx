/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * Sign in: a username and password. A name with no keystore in this browser creates a new
 * account (password asked twice, keys generated in the page); a known one logs in.
 *
 * @module
 */

import { useState } from "preact/hooks";
import { LIMITS } from "../core/protocol/mod.ts";

/** Props of {@linkcode LoginView}. */
export interface LoginViewProps {
  /** Usernames with a keystore in this browser. */
  readonly known: readonly string[];
  /** What is going on (e.g. "Generating your keys"), or null. */
  readonly busy: string | null;
  /** The last failure, or null. */
  readonly error: string | null;
  readonly onSubmit: (username: string, password: string) => void;
}

/** The sign-in form. */
export function LoginView(props: LoginViewProps) {
  const [username, setUsername] = useState(props.known[0] ?? "");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const isNew = username !== "" && !props.known.includes(username);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!/^[^\s]{1,32}$/u.test(username)) {
      setProblem("A username has 1 to 32 characters and no spaces.");
      return;
    }
    if (isNew && password.length < LIMITS.passwordMin) {
      setProblem(`A new account's password needs at least ${LIMITS.passwordMin} characters.`);
      return;
    }
    if (isNew && password !== again) {
      setProblem("The two passwords differ.");
      return;
    }
    setProblem(null);
    props.onSubmit(username, password);
  };

  const message = problem ?? props.error;
  return (
    <main class="login">
      <h1>FastChat</h1>
      <p class="tagline">Fast, end-to-end encrypted chat. Your keys stay in this browser.</p>
      <form onSubmit={submit} aria-describedby="login-status">
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          value={username}
          onInput={(e) => setUsername((e.target as HTMLInputElement).value.trim())}
          required
          autofocus
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete={isNew ? "new-password" : "current-password"}
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          required
        />
        {isNew && (
          <>
            <label for="password-again">Password again</label>
            <input
              id="password-again"
              name="password-again"
              type="password"
              autocomplete="new-password"
              value={again}
              onInput={(e) => setAgain((e.target as HTMLInputElement).value)}
              required
            />
          </>
        )}
        <p class="hint">
          {isNew
            ? `No keys for "${username}" in this browser: this creates a new account.`
            : username === ""
            ? "Pick a username to create an account, or enter yours."
            : `Log in as ${username} with the keys stored in this browser.`}
        </p>
        <button type="submit" disabled={props.busy !== null}>
          {isNew ? "Create account" : "Log in"}
        </button>
        <div id="login-status" role="status" aria-live="polite">
          {props.busy !== null && (
            <p class="busy">
              <span class="spinner" aria-hidden="true"></span>
              {props.busy}…
            </p>
          )}
          {message !== null && <p class="error" role="alert">{message}</p>}
        </div>
      </form>
    </main>
  );
}
