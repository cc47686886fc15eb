// Who is signed in: a dev token from /demo/token, kept in sessionStorage so that a reload stays
// signed in. The API and the feeds sign out when the server refuses the token, so they import
// this module; the views learn of signing in and out through the hooks init.js sets, so that
// this module imports none of them and no two modules import each other.
import { $ } from "./dom.js";

const SESSION_KEY = "inboxql.demo.session";

let current = null; // { user, token } of the signed-in user
let hooks = { started() {}, ended() {} };

export function setSessionHooks({ started, ended }) {
  hooks = { started, ended };
}

export function currentSession() {
  return current;
}

export function readSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    return typeof saved?.user === "string" && typeof saved?.token === "string" ? saved : null;
  } catch {
    return null;
  }
}

export async function signIn(user) {
  const error = $("signin-error");
  error.hidden = true;
  try {
    const response = await fetch("/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || typeof body.token !== "string") {
      throw new Error(body.error ?? `HTTP ${response.status}`);
    }
    const session = { user, token: body.token };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    start(session);
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

export function start(session) {
  current = session;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("current-user").textContent = session.user;
  hooks.started(session);
}

export function signOut(message) {
  if (!current) return;
  current = null;
  sessionStorage.removeItem(SESSION_KEY);
  hooks.ended();
  $("app-error").hidden = true;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message ?? "";
  $("signin-error").hidden = !message;
}
