"""bigdata (the hub's own schema): the resource catalog, grants and access requests, audit."""
