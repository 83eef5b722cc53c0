/** @jsxRuntime automatic */
/** @jsxImportSource preact */
/**
 * Inline SVG icons (no icon font or image request: the page makes no third-party request).
 * Decorative: each sits next to words that name it, so screen readers skip the drawing.
 *
 * @module
 */

/** The Status pane's icon: a bell, as it is where requests and notices ring. */
export function StatusIcon() {
  return (
    <span class="avatar icon" aria-hidden="true">
      <svg
        viewBox="0 0 24 24"
        width="18"
        height="18"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        stroke-linejoin="round"
        focusable="false"
      >
        <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
        <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      </svg>
    </span>
  );
}
