// Reads and mutations: JSON POSTs to /graphql with the signed-in user's bearer token.
import { $ } from "./dom.js";
import { currentSession, signOut } from "./session.js";

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Runs one operation; throws ApiError with the first GraphQL error's message and code. */
export async function gql(query, variables = {}) {
  const session = currentSession();
  if (!session) throw new ApiError("signed out", "STALE");
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json;q=0.9",
        Authorization: `Bearer ${session.token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("The server can't be reached.", "NETWORK");
  }
  const body = await response.json().catch(() => null);
  // A response for a session that has since ended must not touch the next user's page.
  if (currentSession() !== session) throw new ApiError("signed out", "STALE");
  const first = body?.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? "ERROR";
    if (code === "UNAUTHENTICATED") signOut("Your session has expired: sign in again.");
    throw new ApiError(first.message, code);
  }
  if (!response.ok || !body?.data) throw new ApiError(`HTTP ${response.status}`, "HTTP");
  return body.data;
}

export function report(error) {
  if (error.code === "STALE" || !currentSession()) return;
  const banner = $("app-error");
  banner.textContent = `${error.message} (click to dismiss)`;
  banner.hidden = false;
}
