"""Did the programmes work? Effects on the young people served, with their uncertainty."""
