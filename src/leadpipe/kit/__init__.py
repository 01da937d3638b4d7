"""Domain-free helpers: ids, clock, network, coercion."""
