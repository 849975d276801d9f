"""The GraphQL API: schema assembly, the HTTP and websocket views, limits, loaders, specs and the compiled path."""
