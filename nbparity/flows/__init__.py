"""The flows: each a straight read → run → judge → write over one request (compare, image, probes, matrix)."""
