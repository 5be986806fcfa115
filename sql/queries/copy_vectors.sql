-- Stream the new embeddings into the transaction's `_vectors` table.
COPY _vectors (sku, embedding, text_hash) FROM STDIN
