"""Reports and pictures of surfsight results (the edge of the data flow: files out)."""
