// Typing, both ways: `setTyping` while the user types a reply (throttled here, so that a burst of
// keystrokes costs one call, well under the server's rate limit), and "… is typing" for a few
// seconds after each `typing` push for the open conversation. The server pushes at most once
// every 3 s while someone types, so the indicator outlives that gap.
import { gql, report } from "./api.js";
import { $ } from "./dom.js";
import { SET_TYPING } from "./operations.js";

const SEND_EVERY_MS = 2_000;
const SHOW_FOR_MS = 4_000;

let lastSent = { withUser: null, at: 0 };
let hideTimer = null;

/** The user typed in the reply box of the conversation with `withUser`. */
export function typed(withUser) {
  const now = Date.now();
  if (!withUser || (lastSent.withUser === withUser && now - lastSent.at < SEND_EVERY_MS)) return;
  lastSent = { withUser, at: now };
  gql(SET_TYPING, { with: withUser }).catch((error) => {
    // A throttled indicator is not worth a banner; anything else is.
    if (error.code !== "RATE_LIMITED") report(error);
  });
}

/** A `typing` push: shown only when it is about the conversation on screen. */
export function someoneTyping({ fromUserId }, openWith) {
  if (fromUserId !== openWith) return;
  const indicator = $("typing-indicator");
  indicator.textContent = `${fromUserId} is typing…`;
  indicator.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hideTyping, SHOW_FOR_MS);
}

/** Their message arrived, or another conversation opened: the indicator is stale. */
export function hideTyping() {
  clearTimeout(hideTimer);
  hideTimer = null;
  $("typing-indicator").hidden = true;
}

export function resetTyping() {
  hideTyping();
  lastSent = { withUser: null, at: 0 };
}
