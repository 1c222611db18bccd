"""Per-message work Rasa 3.6 repeats that this product does once (see `install`)."""
