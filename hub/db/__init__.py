"""Database access: the department pools and SQL registry, migrations, the embedded server, replicas."""
