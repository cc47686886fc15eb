// A client typed from the schema: every operation's variables and result types are generated from
// schema.graphql and ../operations/*.graphql by GraphQL Code Generator (codegen.yml), so a schema
// change that breaks one of these calls fails `npm run codegen` or `npm run typecheck`.
//   npm ci && npm run codegen && npm run typecheck
import {
  InboxDocument,
  MarkReadDocument,
  SendMessageDocument,
  UnreadCountDocument,
  type TypedDocumentString,
} from "./gql/graphql";

const endpoint = "http://127.0.0.1:8000/graphql";
const token = "<a JWT: uv run server.py token alice>";
// Every request has a deadline: a stalled connection fails instead of hanging the caller.
const timeoutMs = 10_000;

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

export async function execute<TResult, TVariables>(
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
    signal: AbortSignal.timeout(timeoutMs),
  });
  const payload = (await response.json()) as { data?: TResult | null; errors?: GraphQLError[] };
  if (payload.errors?.length || payload.data == null) {
    throw new GraphQLRequestError(response.status, payload.errors ?? []);
  }
  return payload.data;
}

// The annotations below are what a schema change would contradict: tsc then says where.
const { unreadCount }: { unreadCount: number } = await execute(UnreadCountDocument);

const sent = await execute(SendMessageDocument, {
  recipientId: "bob",
  body: "hello from the typed client",
  // A retry with the same id is the same message, delivered once.
  clientMessageId: crypto.randomUUID(),
});
const sentAt: string = sent.sendMessage.sentAt;

const firstPage = await execute(InboxDocument, { first: 20, unreadOnly: true });
const nextPage = firstPage.messages.pageInfo.hasNextPage
  ? await execute(InboxDocument, { first: 20, unreadOnly: true, after: firstPage.messages.pageInfo.endCursor })
  : null;
const unreadIds: string[] = [firstPage, nextPage].flatMap(
  (page) => page?.messages.edges.filter((edge) => !edge.node.isRead).map((edge) => edge.node.id) ?? [],
);

const { markRead } = await execute(MarkReadDocument, { ids: unreadIds });
const readAt: (string | null)[] = markRead.messages.map((message) => message.readAt);
console.log({ unreadCount, sentAt, marked: readAt.length, unreadNow: markRead.unreadCount });
