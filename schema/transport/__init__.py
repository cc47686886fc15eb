"""The GraphQL endpoint's transport: HTTP (GraphQL over HTTP, persisted queries, the response
cache, GraphiQL) and `graphql-transport-ws` on one path. `view.InboxGraphQL` ties them together;
everything below it runs operations through the schema and reaches the services only through
`resolvers/`."""
