-- Single-user mode (server stopped): give the superuser its generated password. The role is an
-- Identifier and the password a Literal, composed by psycopg (single-user mode binds nothing).
ALTER ROLE {role} PASSWORD {password}
