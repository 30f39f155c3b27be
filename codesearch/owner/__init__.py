"""One owner per index: the owner lock and socket, the requests and replies on it, the
owner's answers, and the index as another process sees it."""
