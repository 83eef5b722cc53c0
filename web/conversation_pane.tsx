/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * The open conversation: its header with what can be done there (safety number and
 * verification, accepting changed keys, blocking; for a group its member panel and, for the
 * admin, deleting), and its messages under day separators, with avatars, times and delivery
 * states. The status pane also says who and where you are, and lists requests.
 *
 * @module
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatLine, Conversation } from "../core/view/view_state.ts";
import { Avatar } from "./avatar.tsx";
import { withDaySeparators } from "./day_separators.ts";
import { connText, fileLabel, stateLabel, webTime } from "./format.ts";
import { StatusIcon } from "./icons.tsx";
import { MEMBER_PANEL_ID, MemberPanel } from "./member_panel.tsx";
import { DevicesPanel } from "./devices_panel.tsx";
import { RequestsPanel } from "./requests_panel.tsx";
import type { WebController, WebSnapshot } from "./web_controller.ts";

/** The element ID of a group's Members button: focus goes back to it when its panel closes. */
const _MEMBERS_BUTTON = "members-button";

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
  const [members, setMembers] = useState(false);
  useEffect(() => setMembers(false), [conv.key]);
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [conv.key, conv.lines.length]);
  const group = conv.kind === "group" && conv.id !== null ? snap.groups.get(conv.id) : undefined;
  const { view } = snap;
  return (
    <section class="pane" aria-label={_title(conv)}>
      <header class="pane-header">
        <div class="pane-title">
          {conv.kind === "status"
            ? <StatusIcon />
            : <Avatar name={conv.name} group={conv.kind === "group"} />}
          <h2>{_title(conv)}</h2>
        </div>
        <_Actions
          conv={conv}
          snap={snap}
          controller={controller}
          members={members}
          onMembers={() => setMembers(!members)}
        />
      </header>
      {conv.kind === "status" && (
        <p class="status-summary">
          Logged in as <strong>{view.me}</strong> ·{" "}
          {connText(view.conn, view.server, view.attempts)}
        </p>
      )}
      {conv.kind === "status" && <RequestsPanel snap={snap} controller={controller} />}
      {conv.kind === "status" && <DevicesPanel snap={snap} controller={controller} />}
      <div class="pane-body">
        <ol class="messages" ref={list} aria-live="polite" aria-relevant="additions">
          {withDaySeparators(conv.lines, webTime, Date.now()).map((item) =>
            item.kind === "day"
              ? (
                <li key={item.key} class="day-separator">
                  <span>{item.label}</span>
                </li>
              )
              : (
                <_Line
                  key={item.key}
                  line={item.line}
                  file={_downloadPath(item.line, snap)}
                  onDownload={onDownload}
                  onResend={item.line.state === "failed" && item.line.clientMsgId !== null &&
                      conv.kind !== "status"
                    ? () =>
                      void controller.run({
                        name: "resend",
                        target: conv.kind === "group" ? String(conv.id) : conv.name,
                        index: null,
                        clientMsgId: item.line.clientMsgId!,
                      })
                    : undefined}
                />
              )
          )}
        </ol>
        {members && group !== undefined && (
          <MemberPanel
            group={group}
            myId={view.myId}
            controller={controller}
            onClose={() => {
              setMembers(false);
              document.getElementById(_MEMBERS_BUTTON)?.focus();
            }}
          />
        )}
      </div>
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
        {line.kind === "in" && <Avatar name={line.from} size="small" />}
        <span class="from">{line.kind === "out" ? "you" : line.from}</span>
        <time
          dateTime={new Date(line.at).toISOString()}
          title={`${webTime.day(line.at, Date.now())}, ${webTime.clock(line.at)}`}
        >
          {webTime.clock(line.at)}
        </time>
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
  { conv, snap, controller, members, onMembers }: {
    conv: Conversation;
    snap: WebSnapshot;
    controller: WebController;
    members: boolean;
    onMembers: () => void;
  },
) {
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
      <button
        type="button"
        id={_MEMBERS_BUTTON}
        aria-expanded={members}
        aria-controls={MEMBER_PANEL_ID}
        onClick={onMembers}
      >
        Members ({group.members.length})
      </button>
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
