// The compose form. Each message carries a clientMessageId, so a retried send can't duplicate it.
import { gql } from "./api.js";
import { addToConversation, conversationPartner } from "./conversation.js";
import { $ } from "./dom.js";
import { SEND_MESSAGE } from "./operations.js";
import { currentSession } from "./session.js";

let composeKey = null; // clientMessageId of the message being composed

export async function send(event) {
  event.preventDefault();
  const error = $("compose-error");
  const status = $("compose-status");
  const button = $("compose-send");
  error.hidden = true;
  status.textContent = "Sending…";
  button.disabled = true;
  const recipientId = $("compose-recipient").value.trim();
  composeKey ??= newClientMessageId();
  try {
    const input = { recipientId, body: $("compose-body").value, clientMessageId: composeKey };
    const { sendMessage: sent } = await gql(SEND_MESSAGE, { input });
    composeKey = null;
    $("compose-body").value = "";
    status.textContent = `Sent to ${sent.recipientId}.`;
    if (conversationPartner() === sent.recipientId) addToConversation(sent);
  } catch (failure) {
    if (failure.code === "STALE" || !currentSession()) return;
    status.textContent = "";
    error.textContent = failure.code === "BAD_USER_INPUT" ? failure.message : `${failure.message} (${failure.code})`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

/** A different message gets a new idempotency key; a resend of the same one keeps it. */
export function draftChanged() {
  composeKey = null;
}

export function resetCompose() {
  $("compose-form").reset();
  $("compose-status").textContent = "";
  $("compose-error").hidden = true;
}

function newClientMessageId() {
  if (window.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
