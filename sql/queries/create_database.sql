-- Create the product's database on a fresh embedded server (the name is a psycopg Identifier).
CREATE DATABASE {name}
