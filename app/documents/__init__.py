"""Chat with your documents: text extraction, passages, a local index with FTS5, and retrieval with citations.

Nothing here ever reaches the network: files are read from disk, indexed into a SQLite file in the data
folder, and the passages chosen for a question go into the prompt of a local model (a remote model is
marked as leaving the machine where the person chooses it, as everywhere else).

- passages.py: the shared records (Section, Passage, Citation) and DocumentError.
- extract.py: a file's text as Sections (page numbers for PDF, headings for Markdown, DOCX and HTML);
  markup.py streams text, Markdown and HTML into Sections, pdf_docx.py reads PDF and Word files.
- chunking.py: Sections cut into overlapping Passages.
- index.py: the collections, their documents and passages in SQLite; FTS5 search ranked by BM25
  (index_file.py opens the file and sets a damaged one aside, index_reads.py reads summaries,
  search_query.py turns a question into a safe FTS5 query).
- indexer.py: bringing a collection up to date with its folders (new, changed, removed files);
  folder_walk.py finds the files, once each, whatever links there are.
- embedding.py: a collection's optional GGUF embedding model, run in an engine host, and the pass that gives
  passages their vectors; vectors.py keeps them in the index and ranks them by cosine; index_search.py fuses
  that ranking with BM25's by reciprocal rank (fusion.py); collection_search.py searches collections by
  words, and by meaning where they have vectors.
- retrieval.py: what goes into a chat's prompt for a question: whole attachments when they fit,
  otherwise the most relevant passages (memory_rank.py ranks an attachment's), each marked with its source.
"""
