// InboxQL's demo inbox: a plain browser client of the public API, no framework, no build step.
// Reads and mutations are JSON POSTs to /graphql with the bearer token; the unread badge and new
// messages come over graphql-transport-ws (the `graphqlWs` global from graphql-ws's UMD build).
// All user content goes into the page as text (textContent), never as HTML.
//
// The entry module (index.html loads it as <script type="module">); the browser loads the rest
// from its imports, so there is still no build step: this module only wires the page's controls.
import { draftChanged, resetCompose, send } from "./compose.js";
import { closeConversation, conversationPartner, loadConversation } from "./conversation.js";
import { $ } from "./dom.js";
import { connectFeeds, disconnectFeeds, resetBadge } from "./feeds.js";
import { loadInbox, markAllRead, resetInbox } from "./inbox.js";
import { readSession, setSessionHooks, signIn, signOut, start } from "./session.js";

function init() {
  setSessionHooks({
    started(session) {
      resetBadge();
      loadInbox(true);
      connectFeeds(session);
    },
    ended() {
      disconnectFeeds();
      resetInbox();
      closeConversation();
      resetCompose();
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
  $("inbox-more").addEventListener("click", () => loadInbox(false));
  $("conversation-more").addEventListener("click", () => loadConversation(null, false));
  $("reply").addEventListener("click", () => {
    $("compose-recipient").value = conversationPartner() ?? "";
    $("compose-body").focus();
  });
  $("compose-form").addEventListener("submit", send);
  $("compose-form").addEventListener("input", draftChanged);
  $("app-error").addEventListener("click", () => {
    $("app-error").hidden = true;
  });
  const saved = readSession();
  if (saved) start(saved);
  else $("signin").hidden = false;
}

init();
