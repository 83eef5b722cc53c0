/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The open conversation: its header with what can be done there (safety number and
 * verification, accepting changed keys, blocking; for a group its members and, for the
 * admin, adding, removing, handing over and deleting), and its messages with times and
 * delivery states.
 *
 * @module
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatLine, Conversation } from "../core/view/view_state.ts";
import { fileLabel, formatTime, stateLabel } from "./format.ts";
import { RequestsPanel } from "./requests_panel.tsx";
import type { WebController, WebSnapshot } from "./web_controller.ts";

/** Props of {@linkcode ConversationPane}. */
export interface ConversationPaneProps {
  readonly snap: WebSnapshot;
  readonly controller: WebController;
  /** Downloads the received file saved at `path`. */
  readonly onDownload: (path: string) => void;
}

/** The open conversation. */
export function ConversationPane({ snap, controller, onDownload }: ConversationPaneProps) {
  const conv = snap.view.conversations.find((c) => c.key === snap.view.current)!;
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [conv.key, conv.lines.length]);
  return (
    <section class="pane" aria-label={_title(conv)}>
      <header class="pane-header">
        <h2>{_title(conv)}</h2>
        <_Actions conv={conv} snap={snap} controller={controller} />
      </header>
      {conv.kind === "status" && <RequestsPanel snap={snap} controller={controller} />}
      <ol class="messages" ref={list} aria-live="polite" aria-relevant="additions">
        {conv.lines.map((l) => (
          <_Line
            key={l.key}
            line={l}
            file={_downloadPath(l, snap)}
            onDownload={onDownload}
            onResend={l.state === "failed" && l.clientMsgId !== null && conv.kind !== "status"
              ? () =>
                void controller.run({
                  name: "resend",
                  target: conv.kind === "group" ? String(conv.id) : conv.name,
                  index: null,
                  clientMsgId: l.clientMsgId!,
                })
              : undefined}
          />
        ))}
      </ol>
    </section>
  );
}

/** Where a received file line's file is stored, for its Download button. */
function _downloadPath(line: ChatLine, snap: WebSnapshot): string | undefined {
  if (line.kind !== "in") return undefined;
  const saved = line.msgId !== null ? snap.files.get(line.msgId) : undefined;
  return saved ?? line.file?.path ?? undefined;
}

function _title(conv: Conversation): string {
  if (conv.kind === "status") return "Status";
  return conv.kind === "group" ? `# ${conv.name}` : conv.name;
}

function _Line(
  { line, file, onDownload, onResend }: {
    line: ChatLine;
    file: string | undefined;
    onDownload: (path: string) => void;
    /** For a message of yours that failed: sends it again. */
    onResend?: () => void;
  },
) {
  const state = line.state === null ? null : stateLabel(line.state);
  return (
    <li class={`line ${line.kind}`} data-state={line.state ?? undefined}>
      <span class="meta">
        <span class="from">{line.kind === "out" ? "you" : line.from}</span>
        <time dateTime={new Date(line.at).toISOString()}>{formatTime(line.at)}</time>
      </span>
      {line.file === undefined
        ? <span class="text">{line.text}</span>
        : <span class="text file">{fileLabel(line.file)}</span>}
      {file !== undefined && (
        <button
          type="button"
          class="link"
          aria-label={`Download ${line.file?.name ?? file.split("/").pop()}`}
          onClick={() => onDownload(file)}
        >
          Download
        </button>
      )}
      {state !== null && (
        <span
          class={`state ${line.state}`}
          title={line.deliveredTo.length > 0
            ? `${state.words} to ${line.deliveredTo.join(", ")}`
            : state.words}
        >
          <span aria-hidden="true">{state.mark}</span>
          <span class="sr-only">{state.words}</span>
        </span>
      )}
      {line.state === "failed" && line.reason !== undefined && (
        <span class="reason">{line.reason}</span>
      )}
      {onResend !== undefined && (
        <button type="button" class="link" onClick={onResend}>Resend</button>
      )}
    </li>
  );
}

function _Actions(
  { conv, snap, controller }: { conv: Conversation; snap: WebSnapshot; controller: WebController },
) {
  const [member, setMember] = useState("");
  if (conv.kind === "direct") {
    return (
      <div class="actions">
        {conv.keyWarning && (
          <button
            type="button"
            class="warn"
            onClick={() => void controller.run({ name: "accept_key", user: conv.name })}
          >
            Accept new keys
          </button>
        )}
        <button
          type="button"
          onClick={() => void controller.run({ name: "fingerprint", user: conv.name })}
        >
          Safety number
        </button>
        <button
          type="button"
          onClick={() => {
            if (confirm(`Block ${conv.name}? Nothing from them will reach you.`)) {
              void controller.run({ name: "block", user: conv.name });
            }
          }}
        >
          Block
        </button>
      </div>
    );
  }
  if (conv.kind !== "group" || conv.id === null) return null;
  const group = snap.groups.get(conv.id);
  if (group === undefined) return null;
  const admin = group.admin === snap.view.myId;
  const gid = String(group.id);
  return (
    <div class="actions group-actions">
      <details>
        <summary>Members ({group.members.length})</summary>
        <ul class="members">
          {group.members.map((m) => (
            <li key={m.id}>
              {m.name}
              {m.id === group.admin && <span class="badge">admin</span>}
              {admin && m.id !== snap.view.myId && (
                <>
                  <button
                    type="button"
                    class="small"
                    aria-label={`Remove ${m.name}`}
                    onClick={() =>
                      void controller.run({ name: "remove_member", group: gid, user: m.name })}
                  >
                    Remove
                  </button>
                  <button
                    type="button"
                    class="small"
                    aria-label={`Make ${m.name} the admin`}
                    onClick={() =>
                      void controller.run({ name: "transfer_group", group: gid, user: m.name })}
                  >
                    Make admin
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
        {admin && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              if (member.trim() === "") return;
              void controller.run({ name: "add_member", group: gid, user: member.trim() });
              setMember("");
            }}
          >
            <label for="add-member" class="sr-only">Add a member</label>
            <input
              id="add-member"
              placeholder="add a member"
              value={member}
              onInput={(e) => setMember((e.target as HTMLInputElement).value)}
            />
            <button type="submit">Add</button>
          </form>
        )}
      </details>
      <button
        type="button"
        onClick={() => {
          if (confirm(`Leave ${group.name}?`)) {
            void controller.run({ name: "leave_group", group: gid });
          }
        }}
      >
        Leave
      </button>
      {admin && (
        <button
          type="button"
          onClick={() => {
            if (confirm(`Delete ${group.name} for everyone?`)) {
              void controller.run({ name: "delete_group", group: gid });
            }
          }}
        >
          Delete
        </button>
      )}
    </div>
  );
}
