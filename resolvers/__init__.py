"""GraphQL resolvers, one package per department (types, loaders, queries, mutations)."""
