// A client typed from the schema: every operation's variables and result types are generated from
// schema.graphql and ../operations/*.graphql by GraphQL Code Generator (codegen.yml), so a schema
// change that breaks one of these calls fails `npm run codegen` or `npm run typecheck`.
import {
  InboxDocument,
  MarkReadDocument,
  SendMessageDocument,
  UnreadCountDocument,
  type InboxQuery,
  type TypedDocumentString,
} from "./gql/graphql.ts";

type GraphQLError = { message: string; extensions?: { code?: string } };

export class GraphQLRequestError extends Error {
  readonly status: number;
  readonly errors: readonly GraphQLError[];

  constructor(status: number, errors: readonly GraphQLError[]) {
    super(errors.map((error) => error.extensions?.code ?? error.message).join(", ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

// Operations without variables take none; the others must be given theirs, checked field by field.
type VariablesArgument<TVariables> =
  TVariables extends Record<string, never> ? [] : [variables: TVariables];

export type Execute = <TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: VariablesArgument<TVariables>
) => Promise<TResult>;

/** Runs typed documents over HTTP as the user whose JWT `token` is (`uv run server.py token alice`). */
export function inboxql(endpoint: string, token: string, timeoutMs = 10_000): Execute {
  return async function execute<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    ...[variables]: VariablesArgument<TVariables>
  ): Promise<TResult> {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
      // A deadline on every request: a stalled connection fails instead of hanging the caller.
      signal: AbortSignal.timeout(timeoutMs),
    });
    const payload = (await response.json()) as { data?: unknown; errors?: GraphQLError[] };
    if (payload.errors?.length || payload.data == null) {
      throw new GraphQLRequestError(response.status, payload.errors ?? []);
    }
    // The one unchecked step: the server answers the document it was sent, so its data has the
    // document's result type.
    return payload.data as TResult;
  };
}

export type Session = { unreadBefore: number; sentAt: string; marked: number; unreadAfter: number };

/** Send `peer` a message, then read every unread message of the inbox and mark them read. The
 * annotations are what a schema change would contradict: tsc then says where. */
export async function sendThenReadAll(execute: Execute, peer: string): Promise<Session> {
  const { unreadCount }: { unreadCount: number } = await execute(UnreadCountDocument);
  const sent = await execute(SendMessageDocument, {
    recipientId: peer,
    body: "hello from the typed client",
    // A retry with the same id is the same message, delivered once.
    clientMessageId: crypto.randomUUID(),
  });
  const sentAt: string = sent.sendMessage.sentAt;

  const unreadIds: string[] = [];
  let after: string | null = null;
  do {
    const page: InboxQuery = await execute(InboxDocument, { first: 20, unreadOnly: true, after });
    unreadIds.push(...page.messages.edges.map((edge) => edge.node.id));
    after = page.messages.pageInfo.hasNextPage ? page.messages.pageInfo.endCursor : null;
  } while (after !== null);

  const { markRead } = await execute(MarkReadDocument, { ids: unreadIds });
  const readAt: (string | null)[] = markRead.messages.map((message) => message.readAt);
  return { unreadBefore: unreadCount, sentAt, marked: readAt.length, unreadAfter: markRead.unreadCount };
}
