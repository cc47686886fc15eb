// Sending: the "New message" form (any recipient) and the reply box of the open conversation.
// Each message carries a clientMessageId, so a retried send can't duplicate it.
import { gql } from "./api.js";
import { sentFromHere, threadPartner } from "./conversation.js";
import { messageArrived } from "./conversations.js";
import { $ } from "./dom.js";
import { SEND_MESSAGE } from "./operations.js";
import { currentSession } from "./session.js";
import { typed } from "./typing.js";

// The clientMessageId of each form's message being written: kept for a resend, new once changed.
const drafts = { compose: null, reply: null };

/** The "New message" form. */
export async function send(event) {
  event.preventDefault();
  const recipientId = $("compose-recipient").value.trim();
  const sent = await sendFrom("compose", recipientId);
  if (sent) $("compose-status").textContent = `Sent to ${sent.recipientId}.`;
}

/** The reply box: to whoever the open conversation is with. */
export async function reply(event) {
  event.preventDefault();
  const recipientId = threadPartner();
  if (recipientId) await sendFrom("reply", recipientId);
}

async function sendFrom(form, recipientId) {
  const error = $(`${form}-error`);
  const status = $(`${form}-status`);
  const button = $(`${form}-send`);
  const body = $(`${form}-body`);
  error.hidden = true;
  status.textContent = "Sending…";
  button.disabled = true;
  drafts[form] ??= newClientMessageId();
  try {
    const input = { recipientId, body: body.value, clientMessageId: drafts[form] };
    const { sendMessage: sent } = await gql(SEND_MESSAGE, { input });
    drafts[form] = null;
    body.value = "";
    status.textContent = "";
    messageArrived(sent, { unread: false });
    sentFromHere(sent);
    return sent;
  } catch (failure) {
    if (failure.code === "STALE" || !currentSession()) return null;
    status.textContent = "";
    error.textContent = failure.code === "BAD_USER_INPUT" ? failure.message : `${failure.message} (${failure.code})`;
    error.hidden = false;
    return null;
  } finally {
    button.disabled = false;
  }
}

/** A different message gets a new idempotency key; a resend of the same one keeps it. */
export function draftChanged(form) {
  drafts[form] = null;
  if (form === "reply") typed(threadPartner());
}

export function resetCompose() {
  $("compose-form").reset();
  $("reply-form").reset();
  drafts.compose = drafts.reply = null;
  for (const form of ["compose", "reply"]) {
    $(`${form}-status`).textContent = "";
    $(`${form}-error`).hidden = true;
  }
}

function newClientMessageId() {
  if (window.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
