"""Search: both retrievers' candidates fused, the ranking layer, hits and files."""
