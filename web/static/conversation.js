// The conversation with the other party of the opened message: both directions, newest first.
import { gql, report } from "./api.js";
import { $, el, formatTime, insertByIdDescending } from "./dom.js";
import { CONVERSATION_QUERY } from "./operations.js";
import { currentSession } from "./session.js";

const conversation = { withUser: null, ids: new Set(), cursor: null, generation: 0 };

export function otherParty(message) {
  return message.senderId === currentSession()?.user ? message.recipientId : message.senderId;
}

/** The user the open conversation is with; null when none is open. */
export function conversationPartner() {
  return conversation.withUser;
}

export function closeConversation() {
  conversation.generation += 1;
  conversation.withUser = null;
  conversation.ids.clear();
  conversation.cursor = null;
  $("conversation-list").replaceChildren();
  $("conversation").hidden = true;
}

export async function loadConversation(withUser, reset) {
  if (reset) {
    closeConversation();
    conversation.withUser = withUser;
    $("conversation-with").textContent = withUser;
    $("conversation").hidden = false;
  }
  const generation = conversation.generation;
  const more = $("conversation-more");
  more.disabled = true;
  try {
    const variables = { with: conversation.withUser, after: conversation.cursor };
    const { conversation: page } = await gql(CONVERSATION_QUERY, variables);
    if (generation !== conversation.generation) return;
    for (const { node } of page.edges) addToConversation(node);
    conversation.cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
  } catch (error) {
    report(error);
  } finally {
    if (generation === conversation.generation) more.disabled = false;
  }
}

export function addToConversation(message) {
  const ids = conversation.ids;
  if (ids.has(message.id)) return;
  ids.add(message.id);
  const mine = message.senderId === currentSession()?.user;
  const item = el(
    "li",
    { className: mine ? "mine" : "theirs", dataset: { testid: "conversation-item", id: message.id } },
    el("span", { className: "from", textContent: mine ? "me" : message.senderId }),
    el("time", { className: "when", textContent: formatTime(message.sentAt), dateTime: message.sentAt }),
    el("p", { className: "body", textContent: message.body }),
  );
  insertByIdDescending($("conversation-list"), item);
}
