"""Thin resolvers: GraphQL arguments in, one service call, GraphQL types out."""
