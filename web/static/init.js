// InboxQL's demo chat: a plain browser client of the public API, no framework, no build step.
// Reads and mutations are JSON POSTs to /graphql with the bearer token; changes, typing and read
// receipts come over graphql-transport-ws (the `graphqlWs` global from graphql-ws's UMD build).
// All user content goes into the page as text (textContent), never as HTML.
//
// The entry module (index.html loads it as <script type="module">); the browser loads the rest
// from its imports, so there is still no build step: this module only wires the page's controls.
import { draftChanged, reply, resetCompose, send } from "./compose.js";
import { closeThread, loadOlder, setAfterDelete } from "./conversation.js";
import { loadConversations, markAllRead, messageDeleted, resetConversations } from "./conversations.js";
import { $ } from "./dom.js";
import { connectFeeds, disconnectFeeds, resetBadge } from "./feeds.js";
import { readSession, setSessionHooks, signIn, signOut, start } from "./session.js";
import { resetTyping } from "./typing.js";

function init() {
  setAfterDelete(messageDeleted);
  setSessionHooks({
    started(session) {
      resetBadge();
      connectFeeds(session); // it loads the lists too, in the order catching up needs
    },
    ended() {
      disconnectFeeds();
      resetConversations();
      closeThread();
      resetCompose();
      resetTyping();
    },
  });
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("signin-user").value.trim());
  });
  for (const button of document.querySelectorAll("[data-user]")) {
    button.addEventListener("click", () => signIn(button.dataset.user));
  }
  $("sign-out").addEventListener("click", () => signOut());
  $("mark-all-read").addEventListener("click", markAllRead);
  $("conversations-more").addEventListener("click", () => loadConversations(false));
  $("conversation-more").addEventListener("click", loadOlder);
  $("compose-form").addEventListener("submit", send);
  $("compose-form").addEventListener("input", () => draftChanged("compose"));
  $("reply-form").addEventListener("submit", reply);
  $("reply-form").addEventListener("input", () => draftChanged("reply"));
  $("reply-body").addEventListener("keydown", (event) => {
    // Enter sends, as in chat apps; Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
  $("app-error").addEventListener("click", () => {
    $("app-error").hidden = true;
  });
  const saved = readSession();
  if (saved) start(saved);
  else $("signin").hidden = false;
}

init();
