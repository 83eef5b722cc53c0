/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * Where the user writes: Enter sends, Shift+Enter starts a new line, `/command` runs a
 * command as in the terminal client; a file button sends a file to the open conversation.
 *
 * @module
 */

import { useRef, useState } from "preact/hooks";
import type { Transfer } from "../core/view/view_state.ts";

/** Props of {@linkcode Composer}. */
export interface ComposerProps {
  /** What the input is for (e.g. "Message bob"). */
  readonly label: string;
  readonly transfers: readonly Transfer[];
  readonly canSendFile: boolean;
  readonly onSubmit: (text: string) => void;
  readonly onFile: (file: File) => void;
}

/** The message input. */
export function Composer(props: ComposerProps) {
  const [text, setText] = useState("");
  const fileInput = useRef<HTMLInputElement>(null);
  const send = () => {
    if (text.trim() === "") return;
    props.onSubmit(text);
    setText("");
  };
  return (
    <div class="composer">
      {props.transfers.map((t) => (
        <div class="transfer" key={t.what}>
          <label>
            {t.what}
            <progress max={t.total} value={t.done}>{t.done}/{t.total}</progress>
          </label>
        </div>
      ))}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label for="composer-input" class="sr-only">{props.label}</label>
        <textarea
          id="composer-input"
          rows={1}
          placeholder={props.label}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <input
          ref={fileInput}
          id="file-input"
          type="file"
          class="sr-only"
          tabIndex={-1}
          onChange={(e) => {
            const input = e.target as HTMLInputElement;
            const file = input.files?.[0];
            if (file) props.onFile(file);
            input.value = "";
          }}
        />
        <button
          type="button"
          disabled={!props.canSendFile}
          onClick={() => fileInput.current?.click()}
          title="Send a file to this conversation"
        >
          File…
        </button>
        <button type="submit">Send</button>
      </form>
    </div>
  );
}
