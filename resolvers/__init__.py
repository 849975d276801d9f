"""GraphQL resolvers: one package per department (``hub.departments``) and ``analytics``, each with fixed file
roles (types, loaders, queries, specs, mutations) and a ``register.py`` saying what it adds to the hub (its root
fields, the catalog datasets its types expose, routes, commands: ``hub.assembly``). Every field returning a type
that exposes a dataset (directly, as a list or as a connection) is guarded by the sharing rules
(``hub.governance.access.install_guards``), and a test checks each has a catalog entry.
"""
